"""Plain text with encoding detection; paragraphs separated by blank lines."""

from __future__ import annotations

import re

from ..errors import LoaderError
from .base import Block, HeadingTracker, ParsedDocument

_NUMBERED = re.compile(r"^(\d+(?:\.\d+){0,3})\.?\s+[A-ZÄÖÜ].{1,80}$")


def decode_bytes(data: bytes, source: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoaderError(source, "Die Zeichenkodierung der Textdatei ist nicht erkennbar (Binärdatei?).")
    return str(best)


def parse_text(text: str, source: str) -> ParsedDocument:
    if "\x00" in text:
        raise LoaderError(source, "Die Datei enthält Binärdaten und ist keine Textdatei.")
    tracker = HeadingTracker()
    blocks: list[Block] = []
    title = ""
    for para in re.split(r"\n\s*\n", text):
        lines = [ln.rstrip() for ln in para.strip().splitlines()]
        if not lines or not lines[0]:
            continue
        if len(lines) >= 2 and set(lines[1]) <= set("=-") and len(lines[1]) >= 3:
            heading = lines[0].strip()
            if not title and lines[1][0] == "=":
                title = heading
            else:
                tracker.enter(2 if lines[1][0] == "=" else 3, heading)
            lines = lines[2:]
        elif len(lines) >= 1 and _NUMBERED.match(lines[0]) and not lines[0].endswith("."):
            m = _NUMBERED.match(lines[0])
            tracker.enter(m.group(1).count(".") + 2, lines[0].strip())
            lines = lines[1:]
        elif not title and not blocks and len(lines) == 1 and len(lines[0]) < 100:
            title = lines[0].strip()
            continue
        body = "\n".join(lines).strip()
        if body:
            blocks.append(Block(tracker.path, body))
    if not blocks:
        raise LoaderError(source, "Die Textdatei ist leer.")
    return ParsedDocument(title=title or source, blocks=blocks)
