"""PDF via pypdf: text per page (page numbers kept), numbered headings detected."""

from __future__ import annotations

import io
import logging
import re

from ..errors import LoaderError
from .base import Block, HeadingTracker, ParsedDocument
from .limits import DEFAULT_LIMITS, LoadLimits, _n, check_sizes

log = logging.getLogger(__name__)
_HEADING_RE = re.compile(r"^(\d+(?:\.\d+){0,3})\.?\s+([A-ZÄÖÜ][^\n]{1,90})$")
_LAW_HEADING_RE = re.compile(r"^(§\s*\d+[a-z]?\s+[A-ZÄÖÜ][^\n]{1,90})$")


def _page_count(reader) -> int:
    """The page tree's /Count: read at once, where counting the pages (pypdf flattens the whole tree)
    takes about 0.5 ms a page."""
    try:
        return int(reader.trailer["/Root"]["/Pages"]["/Count"])
    except (KeyError, TypeError, ValueError):
        return len(reader.pages)


def parse_pdf(data: bytes, source: str, limits: LoadLimits = DEFAULT_LIMITS) -> ParsedDocument:
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
        n_pages = _page_count(reader)
        if n_pages > limits.max_pdf_pages:
            raise LoaderError(source, f"Das PDF hat zu viele Seiten ({_n(n_pages)}, erlaubt sind "
                                      f"{_n(limits.max_pdf_pages)}). Bitte in kleinere Dokumente aufteilen.")
        pages: list[str] = []
        chars = 0
        for page in reader.pages:  # flattening the page tree also bounds a /Count that lies
            if len(pages) >= limits.max_pdf_pages:
                raise LoaderError(source, f"Das PDF hat zu viele Seiten (über {_n(limits.max_pdf_pages)}). "
                                          "Bitte in kleinere Dokumente aufteilen.")
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            if chars > limits.max_chars:  # stop extracting at once, not after the last page
                check_sizes(source, limits, chars=chars, longest=0)
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
