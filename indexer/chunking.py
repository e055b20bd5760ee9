"""Structure-following chunking.

Blocks under the same heading path (and page) form a section; a section becomes
one chunk when it fits, otherwise it is cut between paragraphs/Absätze, and only
a single over-long paragraph is cut between sentences. A rule is never cut
mid-sentence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .loaders.base import Block
from .text import split_sentences


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    source: str
    title: str
    section: str  # the most specific heading, e.g. "§ 66 Folgen fehlender Mitwirkung"
    heading_path: tuple[str, ...]
    page: int | None
    text: str
    ordinal: int
    department: str
    doc_type: str
    content_hash: str


def _pieces(text: str, max_chars: int) -> list[str]:
    if len(text) <= max_chars:
        return [text]
    out: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        while len(sentence) > max_chars:  # pathological: no sentence boundary at all
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            if current:
                out.append(current)
                current = ""
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if current and len(current) + 1 + len(sentence) > max_chars:
            out.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        out.append(current)
    return out


def chunk_blocks(
    blocks: list[Block],
    *,
    source: str,
    title: str,
    department: str,
    doc_type: str,
    max_chars: int = 1500,
) -> list[Chunk]:
    groups: list[tuple[tuple[str, ...], int | None, list[str]]] = []
    for block in blocks:
        if groups and groups[-1][0] == block.headings and groups[-1][1] == block.page:
            groups[-1][2].append(block.text)
        else:
            groups.append((block.headings, block.page, [block.text]))

    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for headings, page, texts in groups:
        parts: list[str] = []
        current = ""
        for text in texts:
            for piece in _pieces(text, max_chars):
                if current and len(current) + 2 + len(piece) > max_chars:
                    parts.append(current)
                    current = piece
                else:
                    current = f"{current}\n\n{piece}" if current else piece
        if current:
            parts.append(current)
        section = headings[-1] if headings else title
        for part in parts:
            ordinal = len(chunks)
            digest = hashlib.sha256(
                "\x1f".join((title, " > ".join(headings), str(page), part)).encode()
            ).hexdigest()
            # id from content, not position: an edit elsewhere in the file keeps this chunk's id
            # (and its stored vector); identical chunks in one file are told apart by a counter
            dup = seen.get(digest, 0)
            seen[digest] = dup + 1
            chunk_id = hashlib.sha1(f"{source}\x1f{digest}\x1f{dup}".encode()).hexdigest()
            chunks.append(
                Chunk(chunk_id, source, title, section, headings, page, part, ordinal,
                      department, doc_type, digest)
            )
    return chunks
