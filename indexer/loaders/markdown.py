"""Markdown with optional YAML front matter (the law corpus and the demo corpus)."""

from __future__ import annotations

import re

import yaml

from ..errors import LoaderError
from .base import Block, HeadingTracker, ParsedDocument

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FRONT_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def split_front_matter(text: str) -> tuple[dict, str]:
    m = _FRONT_RE.match(text)
    if not m:
        return {}, text
    try:
        data = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return data, text[m.end():]


def parse_markdown(text: str, source: str) -> ParsedDocument:
    front, body = split_front_matter(text)
    meta = {str(k).lower(): str(v) for k, v in front.items() if v is not None}
    title = meta.get("title", "").strip()
    tracker = HeadingTracker()
    blocks: list[Block] = []
    para: list[str] = []
    title_level: int | None = None

    def flush() -> None:
        joined = "\n".join(para).strip()
        if joined:
            blocks.append(Block(tracker.path, joined))
        para.clear()

    for line in body.splitlines():
        m = _HEADING_RE.match(line)
        if m:
            flush()
            level, heading = len(m.group(1)), m.group(2).strip()
            if title_level is None and level == 1:
                title_level = 1
                if not title:
                    title = heading
                continue  # the H1 is the document title, not part of the path
            tracker.enter(level, heading)
        elif not line.strip():
            flush()
        else:
            para.append(line.rstrip())
    flush()
    if not blocks:
        raise LoaderError(source, "Das Dokument enthält keinen Text.")
    return ParsedDocument(title=title or source, blocks=blocks, meta=meta)
