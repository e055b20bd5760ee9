"""HTML pages: headings h1-h6, paragraphs, lists, tables; navigation and footers skipped."""

from __future__ import annotations

from bs4 import BeautifulSoup

from ..errors import LoaderError
from .base import Block, HeadingTracker, ParsedDocument

_SKIP = ["script", "style", "nav", "footer", "header", "noscript", "template", "form"]


def parse_html(text: str, source: str) -> ParsedDocument:
    soup = BeautifulSoup(text, "html.parser")
    meta = {}
    for tag in soup.find_all("meta"):
        name, content = tag.get("name"), tag.get("content")
        if name and content:
            meta[name.lower()] = content
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_SKIP):
        tag.decompose()
    root = soup.body or soup
    tracker = HeadingTracker()
    blocks: list[Block] = []
    seen_h1 = False
    for el in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "table", "dt", "dd", "pre"]):
        if el.name in ("p", "li") and el.find_parent(["table", "li"]) is not None and el.name != "li":
            continue
        if el.name == "li" and el.find_parent("table") is not None:
            continue
        if el.name.startswith("h") and len(el.name) == 2:
            heading = el.get_text(" ", strip=True)
            if el.name == "h1" and not seen_h1:
                seen_h1 = True
                title = title or heading
                continue
            tracker.enter(int(el.name[1]), heading)
            continue
        if el.name == "table":
            rows = []
            for tr in el.find_all("tr"):
                cells = [c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])]
                if any(cells):
                    rows.append(" | ".join(cells))
            if rows:
                blocks.append(Block(tracker.path, "\n".join(rows)))
            continue
        txt = el.get_text(" ", strip=True)
        if el.name == "li":
            txt = "- " + txt
        if txt:
            blocks.append(Block(tracker.path, txt))
    if not blocks:
        raise LoaderError(source, "Die HTML-Seite enthält keinen Text.")
    return ParsedDocument(title=title or source, blocks=blocks, meta=meta)
