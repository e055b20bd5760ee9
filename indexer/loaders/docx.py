"""Word documents via python-docx: headings, numbered lists and tables in body order."""

from __future__ import annotations

import io
import re
import zipfile

from ..errors import LoaderError
from .base import Block, HeadingTracker, ParsedDocument
from .limits import DEFAULT_LIMITS, LoadLimits, check_zip

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift)\s*(\d)$", re.I)


def parse_docx(data: bytes, source: str, limits: LoadLimits = DEFAULT_LIMITS) -> ParsedDocument:
    import docx  # python-docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise LoaderError(source, "Das Word-Dokument ist verschlüsselt (passwortgeschützt) oder im alten .doc-Format.")
    check_zip(data, source, limits)  # zip bombs are refused before python-docx unpacks anything
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoaderError(source, "Die Word-Datei ist beschädigt oder kein gültiges DOCX-Dokument.") from exc
    except Exception as exc:  # python-docx raises a variety of lxml/opc errors on damaged files
        raise LoaderError(source, f"Die Word-Datei konnte nicht gelesen werden ({type(exc).__name__}).") from exc

    title = (document.core_properties.title or "").strip()
    tracker = HeadingTracker()
    blocks: list[Block] = []
    list_counter = 0
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            p = Paragraph(child, document)
            text = p.text.strip()
            style = (p.style.name if p.style is not None else "") or ""
            if not text:
                continue
            if style == "Title":
                title = title or text
                continue
            m = _HEADING_STYLE.match(style)
            if m:
                level = int(m.group(1))
                if level == 1 and (not title or text == title):
                    title = title or text
                    continue
                tracker.enter(level, text)
                list_counter = 0
                continue
            if "List Number" in style or "Listennummer" in style:
                list_counter += 1
                text = f"{list_counter}. {text}"
            elif "List" in style or "Liste" in style:
                text = "- " + text
            else:
                list_counter = 0
            blocks.append(Block(tracker.path, text))
        elif tag == "tbl":
            table = Table(child, document)
            rows = []
            for row in table.rows:
                cells: list[str] = []
                for cell in row.cells:
                    t = cell.text.strip()
                    if not cells or cells[-1] != t:  # merged cells repeat
                        cells.append(t)
                if any(cells):
                    rows.append(" | ".join(cells))
            if rows:
                blocks.append(Block(tracker.path, "\n".join(rows)))
    if not blocks:
        raise LoaderError(source, "Das Word-Dokument enthält keinen Text.")
    return ParsedDocument(title=title or source, blocks=blocks)
