"""The primary document files of the XDOMEA fixtures (:mod:`.xdomea_fixtures`): a minimal PDF/A
for incoming documents, a DOCX for outgoing ones, written without third-party libraries."""

from __future__ import annotations

import hashlib
import io
import textwrap
import unicodedata
from datetime import datetime

_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:CreatorTool>Lotse-Testdaten</xmp:CreatorTool>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>Lotse-Testdaten</pdf:Producer>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
_LINES_PER_PAGE = 48


_LATIN = {"ı": "i", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h"}


def _winansi(text: str) -> bytes:
    """Text in the WinAnsi encoding of the standard font: letters outside it lose their accents
    (``ș`` -> ``s``, ``ı`` -> ``i``), anything else becomes ``?``."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
            continue
        except UnicodeEncodeError:
            pass
        base = _LATIN.get(ch) or "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out += base.encode("cp1252", errors="replace") if base else b"?"
    return bytes(out)


def _pdf_string(text: str) -> bytes:
    raw = _winansi(text)
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pdfa_bytes(title: str, text: str, created: datetime) -> bytes:
    """A small, deterministic PDF with a text layer (Helvetica, WinAnsi) that identifies itself as
    PDF/A-2b: XMP metadata with ``pdfaid:part``/``pdfaid:conformance``, a binary header comment and
    a file ID, as archival exports carry. Not a validated PDF/A: the font is not embedded and there is
    no OutputIntent (ICC profile), which a PDF/A validator would flag."""
    lines: list[str] = [title, ""]
    for para in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(para, 90) or [""])
    pages = [lines[i:i + _LINES_PER_PAGE] for i in range(0, len(lines), _LINES_PER_PAGE)] or [[]]
    date = created.isoformat(timespec="seconds")
    xmp = _XMP.format(title=_xml_escape(title), date=date).encode("utf-8")
    n_pages = len(pages)
    # objects: 1 catalog, 2 pages, 3 font, 4 metadata, 5 info, then per page: page, content
    objs: dict[int, bytes] = {}
    kids = [6 + 2 * i for i in range(n_pages)]
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R /Lang (de-DE) >>"
    objs[2] = (b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % n_pages)
    objs[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    objs[4] = b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp) + xmp + b"\nendstream"
    pdf_date = created.strftime("D:%Y%m%d%H%M%S")
    objs[5] = (b"<< /Title " + _pdf_string(title) + b" /Producer (Lotse-Testdaten) /CreationDate ("
               + pdf_date.encode() + b") >>")
    for i, page_lines in enumerate(pages):
        ops = [b"BT /F1 10 Tf 56 790 Td 13 TL"]
        ops += [_pdf_string(line) + b" Tj T*" for line in page_lines]
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objs[kids[i]] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> "
                         b">> /Contents %d 0 R >>" % (kids[i] + 1))
        objs[kids[i] + 1] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objs):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    xref = len(out)
    size = max(objs) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    file_id = hashlib.md5(xmp + bytes(out[:64])).hexdigest().encode()
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R /ID [<" % size + file_id + b"> <" + file_id
            + b">] >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return bytes(out)


def is_pdfa(data: bytes) -> bool:
    """The PDF declares PDF/A conformance in its XMP metadata (``pdfaid:part``)."""
    return data.startswith(b"%PDF") and b"<pdfaid:part>" in data


def docx_bytes(title: str, text: str, created: datetime) -> bytes:
    """A Word document (python-docx) with the letter's title as heading and its text as paragraphs."""
    from docx import Document

    doc = Document()
    props = doc.core_properties
    props.title, props.author, props.created = title, "Lotse-Testdaten", created
    props.modified, props.last_modified_by = created, "Lotse-Testdaten"
    doc.add_heading(title, level=1)
    for para in text.split("\n"):
        doc.add_paragraph(para)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def office_file(name: str, content: bytes, *, outgoing: bool, title: str, created: datetime) -> tuple[str, bytes]:
    """A text file (``.txt``) as a document system keeps it: an outgoing letter as DOCX, any other
    document (scanned incoming mail, notes) as PDF/A; other files (``antrag.json``) stay as they are."""
    stem, dot, ext = name.rpartition(".")
    if not dot or ext.lower() != "txt":
        return name, content
    text = content.decode("utf-8")
    if outgoing:
        return f"{stem}.docx", docx_bytes(title, text, created)
    return f"{stem}.pdf", pdfa_bytes(title, text, created)
