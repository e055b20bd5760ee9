"""Bounded loading: zip bombs, huge PDFs, endless lines and too much text are refused per file with a
German reason, quickly and without the memory they would cost; the files after them are indexed."""

from __future__ import annotations

import io
import os
import resource
import time
import zipfile
from pathlib import Path

import pytest

from indexer.errors import LoaderError
from indexer.loaders import LoadLimits, load

MB = 1024 * 1024


def _docx_bytes(text: str = "Ein ganz normaler Absatz.") -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("Merkblatt", 1)
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _zip_bomb_docx(unpacked_mb: int) -> bytes:
    """A real DOCX whose word/document.xml is replaced by ``unpacked_mb`` MB of zeros (compresses
    about 1:1000)."""
    src = zipfile.ZipFile(io.BytesIO(_docx_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            if info.filename == "word/document.xml":
                member = zipfile.ZipInfo("word/document.xml")
                member.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(member, "w", force_zip64=True) as fh:
                    block = b"0" * MB
                    for _ in range(unpacked_mb):
                        fh.write(block)
            else:
                zf.writestr(info, src.read(info.filename))
    return out.getvalue()


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def test_zip_bomb_docx_is_refused_before_anything_is_unpacked():
    bomb = _zip_bomb_docx(256)  # the finding's 1 GiB takes 15 s to build; refused the same way
    assert len(bomb) < MB
    before = _maxrss_mb()
    t0 = time.perf_counter()
    with pytest.raises(LoaderError) as err:
        load("bombe.docx", bomb)
    assert time.perf_counter() - t0 < 2
    assert "Zip-Bombe" in err.value.reason and "entpackt zu groß" in err.value.reason, err.value.reason
    assert _maxrss_mb() - before < 50  # was 2.8 GB


def test_highly_compressed_docx_part_is_refused_by_its_ratio():
    bomb = _zip_bomb_docx(20)  # 20 MB: under the size limits, but compressed about 1:1000
    with pytest.raises(LoaderError) as err:
        load("verdaechtig.docx", bomb)
    assert "ungewöhnlich stark komprimiert" in err.value.reason and "word/document.xml" in err.value.reason


def test_docx_limits_can_be_lowered_and_normal_documents_pass():
    data = _docx_bytes("Die Mitwirkungspflicht ergibt sich aus § 60 SGB I.")
    assert load("normal.docx", data).blocks[0].text.startswith("Die Mitwirkungspflicht")
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            zf.writestr(info, src.read(info.filename))
        zf.writestr("word/media/bild.bin", os.urandom(2 * MB))  # incompressible, like a photo
    with pytest.raises(LoaderError) as err:
        load("gross.docx", out.getvalue(), LoadLimits(max_unpacked_mb=1))
    assert "entpackt zu groß" in err.value.reason
    with pytest.raises(LoaderError) as err:
        load("gross.docx", out.getvalue(), LoadLimits(max_xml_part_mb=0.001))
    assert "zu großen Textteil" in err.value.reason


def _blank_pdf(pages: int, count: int | None = None) -> bytes:
    """A valid PDF of empty pages, written directly (pypdf needs 8 s for 20,000 pages)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
            + b"] /Count %d >>" % (pages if count is None else count)]
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_pdf_with_too_many_pages_is_refused_without_extracting_text():
    data = _blank_pdf(20_000)
    t0 = time.perf_counter()
    with pytest.raises(LoaderError) as err:
        load("riesig.pdf", data)
    assert time.perf_counter() - t0 < 5
    assert "zu viele Seiten (20.000, erlaubt sind 3.000)" in err.value.reason, err.value.reason
    # a page tree whose /Count lies is still bounded while the pages are read
    with pytest.raises(LoaderError) as err:
        load("luegt.pdf", _blank_pdf(40, count=3), LoadLimits(max_pdf_pages=10))
    assert "zu viele Seiten (über 10)" in err.value.reason, err.value.reason


def test_pdf_text_is_bounded_while_extracting():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for i in range(6):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"Seite {i} mit Text. " * 60)
    data = bytes(pdf.output())
    assert load("ok.pdf", data).blocks
    with pytest.raises(LoaderError) as err:
        load("viel.pdf", data, LoadLimits(max_chars=2000))
    assert "zu viel Text" in err.value.reason


def test_single_line_markdown_of_10_mb_is_refused_at_once():
    data = b"# Titel\n\n" + b"x" * (10 * MB)
    t0 = time.perf_counter()
    with pytest.raises(LoaderError) as err:
        load("eine-zeile.md", data)
    assert time.perf_counter() - t0 < 2
    assert "übermäßig lange Zeile (10.485.760 Zeichen" in err.value.reason, err.value.reason


def test_too_much_text_and_long_lines_in_every_format():
    many_lines = ("Ein Satz über die Mitwirkung.\n" * 200).encode()
    for name in ("viel.md", "viel.txt"):
        with pytest.raises(LoaderError) as err:
            load(name, many_lines, LoadLimits(max_chars=1000))
        assert "zu viel Text (6.000 Zeichen, erlaubt sind 1.000)" in err.value.reason
    html = ("<html><body><h1>T</h1><p>" + "wort " * 2000 + "</p></body></html>").encode()
    with pytest.raises(LoaderError) as err:
        load("lang.html", html, LoadLimits(max_line_chars=5000))
    assert "übermäßig lange Zeile" in err.value.reason
    docx_data = _docx_bytes("wort " * 2000)
    with pytest.raises(LoaderError) as err:
        load("lang.docx", docx_data, LoadLimits(max_line_chars=5000))
    assert "übermäßig lange Zeile" in err.value.reason
    assert load("lang.docx", docx_data).blocks  # within the default limits


def test_refused_files_are_reported_and_the_files_after_them_are_indexed(tmp_path: Path, make_kb):
    root = tmp_path / "ordner"
    root.mkdir()
    (root / "a-bombe.docx").write_bytes(_zip_bomb_docx(20))
    (root / "b-riesig.pdf").write_bytes(_blank_pdf(3_500))
    (root / "c-eine-zeile.md").write_bytes(b"x" * (10 * MB))
    (root / "d-normal.md").write_text("# Reisekosten\n\nDienstreisen werden vorher beantragt.\n", encoding="utf-8")
    kb = make_kb()
    t0 = time.perf_counter()
    report = kb.index(root, progress=False)
    assert time.perf_counter() - t0 < 120
    reasons = {e.source: e.reason for e in report.errors}
    assert set(reasons) == {"a-bombe.docx", "b-riesig.pdf", "c-eine-zeile.md"}, reasons
    assert "Zip-Bombe" in reasons["a-bombe.docx"]
    assert "zu viele Seiten" in reasons["b-riesig.pdf"]
    assert "übermäßig lange Zeile" in reasons["c-eine-zeile.md"]
    assert report.added == 1
    assert [h.source for h in kb.search("Dienstreisen beantragt", k=1)] == ["d-normal.md"]
    assert {e["source"] for e in kb.stats()["errors"]} == set(reasons)


# -- running headers and footers of PDFs -------------------------------------------------------------

def _pdf_with_running_header(pages: int = 4, footer: str = "Stand: 01.03.2025 | Seite {page}/{pages}") -> bytes:
    from fpdf import FPDF

    class Doc(FPDF):
        def header(self):
            self.set_font("Helvetica", size=9)
            self.cell(0, 8, "Merkblatt Mitwirkung im Sozialreferat", new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", size=9)
            self.cell(0, 8, footer.format(page=self.page_no(), pages=pages))

    topics = ["Mitwirkung", "Unterlagen", "Fristen", "Versagung", "Anhoerung", "Nachholung"]
    pdf = Doc()
    pdf.set_font("Helvetica", size=11)
    for i in range(1, pages + 1):
        topic = topics[i - 1]
        pdf.add_page()
        pdf.multi_cell(0, 6, f"{i}. {topic} im Verfahren", new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 6, f"Die Regel zu {topic} gilt fuer alle Antraege.", new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 6, f"Siehe auch Seite {i + 1} dieses Merkblatts.", new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 6, f"Ausnahmen zu {topic} sind zu begruenden.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_pdf_running_headers_footers_and_page_numbers_are_not_indexed():
    doc = load("merkblatt.pdf", _pdf_with_running_header())
    text = "\n".join(b.text for b in doc.blocks)
    assert doc.title == "Merkblatt Mitwirkung im Sozialreferat"
    assert "Merkblatt Mitwirkung" not in text and "Stand:" not in text and "Seite 1/4" not in text, text
    topics = ["Mitwirkung", "Unterlagen", "Fristen", "Versagung"]
    for i, topic in enumerate(topics, start=1):  # the body of every page is kept, with its page number
        assert any(f"Die Regel zu {topic} gilt" in b.text and b.page == i for b in doc.blocks), text
        assert any(f"Ausnahmen zu {topic}" in b.text and b.page == i for b in doc.blocks), text
        assert any(b.headings[-1:] == (f"{i}. {topic} im Verfahren",) for b in doc.blocks), doc.blocks
    assert "Siehe auch Seite 3 dieses" in text  # "Seite" inside the text is not a page number

    plain = load("nummern.pdf", _pdf_with_running_header(3, footer="- {page} -"))
    assert not any(b.text.strip("- ").isdigit() or "- 2 -" in b.text for b in plain.blocks), plain.blocks


def test_pdf_lines_that_do_not_repeat_at_the_page_edges_are_kept():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for topic in ("Mietkosten", "Heizkosten", "Stromkosten"):
        pdf.add_page()
        for line in (f"Erster Satz ueber {topic}.", f"Zweiter Satz ueber {topic}.",
                     "Bitte beachten Sie die Hinweise.",  # on every page, but in the middle
                     f"Vorletzter Satz ueber {topic}.", f"Letzter Satz ueber {topic}."):
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    doc = load("eigen.pdf", bytes(pdf.output()))
    text = "\n".join(b.text for b in doc.blocks)
    for topic in ("Heizkosten", "Stromkosten"):
        for which in ("Erster", "Zweiter", "Vorletzter", "Letzter"):
            assert f"{which} Satz ueber {topic}." in text, text
    assert text.count("Bitte beachten Sie die Hinweise.") == 3, text
