"""PDF via pypdf: text per page (page numbers kept), numbered headings detected."""

from __future__ import annotations

import io
import logging
import re

from ..errors import LoaderError
from .base import Block, HeadingTracker, ParsedDocument

log = logging.getLogger(__name__)
_HEADING_RE = re.compile(r"^(\d+(?:\.\d+){0,3})\.?\s+([A-ZÄÖÜ][^\n]{1,90})$")
_LAW_HEADING_RE = re.compile(r"^(§\s*\d+[a-z]?\s+[A-ZÄÖÜ][^\n]{1,90})$")


def parse_pdf(data: bytes, source: str) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:  # noqa: BLE001 - unsupported algorithm etc.
                ok = 0
            if not ok:
                raise LoaderError(source, "Das PDF ist passwortgeschützt und kann nicht gelesen werden.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoaderError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LoaderError(source, "Das PDF ist beschädigt und kann nicht gelesen werden.") from exc
    except Exception as exc:  # pypdf raises many low-level errors on broken files
        raise LoaderError(source, f"Das PDF konnte nicht gelesen werden ({type(exc).__name__}).") from exc

    title = ""
    try:
        title = (reader.metadata.title or "") if reader.metadata else ""
    except Exception:  # noqa: BLE001 - broken info dictionary
        title = ""
    tracker = HeadingTracker()
    blocks: list[Block] = []
    for page_no, text in enumerate(pages, start=1):
        para: list[str] = []

        def flush() -> None:
            joined = " ".join(para).strip()
            if joined:
                blocks.append(Block(tracker.path, joined, page_no))
            para.clear()

        for raw in text.splitlines():
            line = raw.strip()
            if not line:
                flush()
                continue
            m = _HEADING_RE.match(line)
            if m and not line.endswith((".", ",", ";")):
                flush()
                tracker.enter(m.group(1).count(".") + 2, line)
                continue
            if _LAW_HEADING_RE.match(line):
                flush()
                tracker.enter(2, line)
                continue
            if not title and not blocks and not para and page_no == 1:
                title = line
                continue
            para.append(line)
            # pypdf loses blank lines; a line ending a sentence followed by a list/paragraph start
            if line.endswith((".", ":")) and len(line) < 60:
                flush()
        flush()
    if not blocks:
        raise LoaderError(source, "Das PDF enthält keinen extrahierbaren Text (gescannt ohne Texterkennung?).")
    return ParsedDocument(title=title or source, blocks=blocks)
