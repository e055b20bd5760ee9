"""The rendered letter for the reviewer: HTML made from the DOCX itself (not from the field values),
so the reviewer reads what is printed and filed; and the changes between two versions as paragraphs
of the rendered letter.

The HTML keeps what a reviewer checks: letterhead, address and information block side by side, the
Betreff, paragraphs with bold runs, centred lines, bullet lists, tab-aligned label/value lines and
the footer. Every text is escaped; no style or markup of the Word file is passed through.
"""

from __future__ import annotations

import difflib
import html
import io
import re
from typing import Any

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _runs_html(p) -> str:
    out = []
    for r in p.runs:
        text = r.text
        if not text:
            continue
        parts = text.split("\t")
        esc = '<span class="tab"></span>'.join(html.escape(x) for x in parts)
        out.append(f"<strong>{esc}</strong>" if r.bold else esc)
    return "".join(out)


def _para_html(p, in_list: list[bool]) -> str:
    text = p.text
    style = (p.style.name if p.style is not None else "") or ""
    pre = ""
    if style.startswith("List") and text.strip():
        if not in_list[0]:
            pre, in_list[0] = "<ul>", True
        return pre + f"<li>{_runs_html(p)}</li>"
    if in_list[0]:
        pre, in_list[0] = "</ul>", False
    if not text.strip():
        return pre + '<p class="leer"></p>'
    if "\t" in text and p.paragraph_format.first_line_indent is not None and \
            p.paragraph_format.first_line_indent < 0:  # "label<TAB>value" (information block, numbering)
        label, _, value = text.partition("\t")
        bold = any(r.bold for r in p.runs if r.text.strip() and r.text in value)
        value_html = html.escape(value)
        return (pre + f'<div class="zeile"><span class="marke">{html.escape(label)}</span>'
                f'<span class="wert">{"<strong>" + value_html + "</strong>" if bold else value_html}</span></div>')
    align = p.paragraph_format.alignment
    cls = ' class="mitte"' if align is not None and int(align) == 1 else ""
    size = next((r.font.size.pt for r in p.runs if r.text.strip() and r.font.size is not None), None)
    style = f' style="font-size:{size:g}pt"' if size else ""  # a number we computed, not markup of the file
    return pre + f"<p{cls}{style}>{_runs_html(p)}</p>"


def _block_html(container) -> str:
    """Paragraphs and tables of a body or a table cell, in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out, in_list = [], [False]
    for child in container._element.iterchildren():
        if child.tag == W + "p":
            out.append(_para_html(Paragraph(child, container), in_list))
        elif child.tag == W + "tbl":
            if in_list[0]:
                out.append("</ul>")
                in_list[0] = False
            table = Table(child, container)
            rows = []
            for row in table.rows:
                cells = "".join(f"<td>{_block_html(c)}</td>" for c in row.cells)
                rows.append(f"<tr>{cells}</tr>")
            out.append('<table class="anschrift-info">' + "".join(rows) + "</table>")
    if in_list[0]:
        out.append("</ul>")
    return "".join(out)


def docx_to_html(data: bytes) -> str:
    """An HTML page body (``<article class="brief-seite">``) of the rendered letter."""
    import docx

    d = docx.Document(io.BytesIO(data))
    sec = d.sections[0]
    head = _block_html(sec.first_page_header) if sec.different_first_page_header_footer else _block_html(sec.header)
    foot = " ".join(p.text for p in (sec.first_page_footer or sec.footer).paragraphs if p.text.strip())
    foot = re.sub(r"\s*·\s*Seite\s+von\s*$", "", foot)  # page fields are not computed in the view
    return ('<article class="brief-seite" lang="de">'
            f'<header class="briefkopf-druck">{head}</header>'
            f"{_block_html(d._body)}"
            f'<footer class="brieffuss">{html.escape(foot)}</footer></article>')


def paragraphs(data: bytes) -> list[str]:
    """The visible paragraphs of a rendered letter (information block first), for comparing versions."""
    import docx

    d = docx.Document(io.BytesIO(data))
    out: list[str] = []
    for t in d.tables:
        for row in t.rows:
            for cell in row.cells:
                out.extend(p.text.replace("\t", " ") for p in cell.paragraphs)
    out.extend(p.text for p in d.paragraphs)
    return [x.strip() for x in out if x.strip()]


def compare(before: list[str], after: list[str]) -> list[dict[str, Any]]:
    """Changed paragraphs between two renderings: ``{"art": "geändert"|"neu"|"entfernt", "vorher", "nachher"}``
    with the changed words marked (``woerter``: list of [op, text], op in ``=``, ``-``, ``+``)."""
    out: list[dict[str, Any]] = []
    sm = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        old, new = before[i1:i2], after[j1:j2]
        if op == "replace":
            for k in range(max(len(old), len(new))):
                a = old[k] if k < len(old) else ""
                b = new[k] if k < len(new) else ""
                kind = "geändert" if a and b else ("neu" if b else "entfernt")
                out.append({"art": kind, "vorher": a, "nachher": b, "woerter": _words(a, b)})
        elif op == "insert":
            out.extend({"art": "neu", "vorher": "", "nachher": b, "woerter": [["+", b]]} for b in new)
        else:
            out.extend({"art": "entfernt", "vorher": a, "nachher": "", "woerter": [["-", a]]} for a in old)
    return out


def _words(a: str, b: str) -> list[list[str]]:
    wa, wb = a.split(" "), b.split(" ")
    out: list[list[str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(["=", " ".join(wa[i1:i2])])
            continue
        if i2 > i1:
            out.append(["-", " ".join(wa[i1:i2])])
        if j2 > j1:
            out.append(["+", " ".join(wb[j1:j2])])
    return out
