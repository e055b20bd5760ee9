"""PDF via pypdf: text per page (page numbers kept), numbered headings detected, running headers and
footers (page numbers, the title or "Stand: ..." repeated on every page) left out."""

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
# a page number alone on a line: "3", "- 3 -", "Seite 3", "Seite 3/7", "Seite 3 von 7", "S. 3", "Page 3 of 7"
_PAGE_NO_RE = re.compile(
    r"^(?:(?:seite|s\.|page|blatt)\s*)?[-–—]?\s*\d{1,4}\s*(?:(?:/|von|of|aus)\s*\d{1,4})?\s*[-–—]?$", re.I)
_STAND_RE = re.compile(r"^(?:stand|version|gültig ab)\b", re.I)
_EDGE_LINES = 2  # header/footer zone: this many non-empty lines at the top and at the bottom of a page
_MAX_FURNITURE_CHARS = 150  # running headers and footers are short lines
_NUMBER_RE = re.compile(r"\d+")


def _furniture_key(line: str) -> str:
    """Lines that differ only in numbers (page numbers) may be the same header/footer."""
    return _NUMBER_RE.sub("#", re.sub(r"\s+", " ", line.strip().lower()))


def _varies_like_page_numbers(variants: list[tuple[int, str]]) -> bool:
    """Same line on every page, or its numbers that differ grow with the page (printed page numbers
    may be offset from the physical ones, e.g. after an unnumbered cover)."""
    numbers = [(page, [int(n) for n in _NUMBER_RE.findall(line)]) for page, line in variants]
    if len({tuple(n) for _, n in numbers}) == 1:
        return True
    for pos in range(len(numbers[0][1])):
        values = {n[pos] for _, n in numbers}
        if len(values) > 1 and len({n[pos] - page for page, n in numbers}) != 1:
            return False
    return True


def strip_page_furniture(pages: list[str]) -> tuple[list[str], str]:
    """Remove running headers and footers: page numbers ("Seite 2/3", "- 2 -") at the top or bottom
    of a page, and short lines that repeat at the top or bottom of most pages (the document title,
    "Stand: ...", the office's name, "Seite 2 von 5" with text around it). Returns the pages' text
    without them and the first removed header of page 1, which may serve as the document's title."""
    edges: list[list[int]] = []  # per page: indexes of the lines in the header/footer zone
    split = [text.splitlines() for text in pages]
    for lines in split:
        filled = [i for i, ln in enumerate(lines) if ln.strip()]
        edges.append(sorted(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:])))
    with_text = sum(1 for e in edges if e)
    seen: dict[str, dict[int, str]] = {}  # key -> page -> the raw line
    for page_no, (lines, idx) in enumerate(zip(split, edges), start=1):
        for i in idx:
            line = lines[i].strip()
            if len(line) <= _MAX_FURNITURE_CHARS:
                seen.setdefault(_furniture_key(line), {}).setdefault(page_no, line)
    need = max(2, -(-with_text * 3 // 5))  # on at least 60 % of the pages with text
    repeated = {k for k, on in seen.items()
                if with_text >= 2 and len(on) >= need and _varies_like_page_numbers(sorted(on.items()))}
    title = ""
    out: list[str] = []
    for page_no, (lines, idx) in enumerate(zip(split, edges), start=1):
        drop: set[int] = set()
        for i in idx:
            line = lines[i].strip()
            if _PAGE_NO_RE.match(line):
                drop.add(i)
            elif _furniture_key(line) in repeated:
                drop.add(i)
                if page_no == 1 and not title and i in idx[:_EDGE_LINES] and not _STAND_RE.match(line):
                    title = line  # a running header at the top of page 1: the title (or the office)
        out.append("\n".join(ln for i, ln in enumerate(lines) if i not in drop))
    return out, title


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
    pages, running_title = strip_page_furniture(pages)
    title = title or running_title
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
