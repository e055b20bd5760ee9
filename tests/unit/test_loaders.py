from pathlib import Path

import pytest

from indexer.chunking import chunk_blocks
from indexer.errors import LoaderError
from indexer.loaders import load


def test_markdown_front_matter_headings_and_law_sections():
    text = ("---\nTitle: Sozialgesetzbuch Erstes Buch\njurabk: SGB 1\n---\n\n# SGB I\n\n## Dritter Abschnitt\n\n"
            "### § 66 Folgen fehlender Mitwirkung\n\n(1) Kommt derjenige ...\n\n(2) Kommt ...\n")
    doc = load("sgb_1.md", text.encode())
    assert doc.title == "Sozialgesetzbuch Erstes Buch"
    assert doc.meta["jurabk"] == "SGB 1"
    assert doc.blocks[0].headings == ("Dritter Abschnitt", "§ 66 Folgen fehlender Mitwirkung")
    assert [b.text[:3] for b in doc.blocks] == ["(1)", "(2)"]


def test_html_skips_navigation_and_keeps_tables():
    html = """<html><head><title>FAQ Wohngeld</title><meta name="department" content="S-III"></head><body>
    <nav>Startseite | Impressum</nav><h1>FAQ Wohngeld</h1><h2>Welche Unterlagen?</h2>
    <p>Mietvertrag und Einkommensnachweise.</p><table><tr><th>Unterlage</th><th>Pflicht</th></tr>
    <tr><td>Mietbescheinigung</td><td>ja</td></tr></table><footer>© Landeshauptstadt</footer></body></html>"""
    doc = load("faq.html", html.encode())
    assert doc.title == "FAQ Wohngeld" and doc.meta["department"] == "S-III"
    texts = " ".join(b.text for b in doc.blocks)
    assert "Impressum" not in texts and "Landeshauptstadt" not in texts
    assert "Mietbescheinigung | ja" in texts
    assert all(b.headings == ("Welche Unterlagen?",) for b in doc.blocks)


def test_docx_headings_numbered_lists_and_tables(tmp_path):
    import docx

    d = docx.Document()
    d.core_properties.title = "Checkliste Wohngeld"
    d.add_heading("Checkliste Wohngeld", level=1)
    d.add_heading("Unterlagen", level=2)
    d.add_paragraph("Personalausweis", style="List Number")
    d.add_paragraph("Mietvertrag", style="List Number")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "Nachweis", "Frist"
    t.cell(1, 0).text, t.cell(1, 1).text = "Lohnabrechnung", "2 Wochen"
    path = tmp_path / "c.docx"
    d.save(path)
    doc = load("c.docx", path.read_bytes())
    assert doc.title == "Checkliste Wohngeld"
    assert [b.text for b in doc.blocks] == ["1. Personalausweis", "2. Mietvertrag",
                                            "Nachweis | Frist\nLohnabrechnung | 2 Wochen"]
    assert all(b.headings == ("Unterlagen",) for b in doc.blocks)


def _pdf(path: Path, pages: list[list[str]], password: str | None = None) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Arbeitsanweisung Fristen")
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    pdf.set_font("helvetica", size=11)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.output(str(path))
    return path


def test_pdf_keeps_page_numbers_and_numbered_headings(tmp_path):
    p = _pdf(tmp_path / "a.pdf", [["1 Zweck", "Diese Anweisung regelt die Fristen."],
                                   ["2 Widerspruchsfrist", "Die Frist beträgt einen Monat nach Bekanntgabe."]])
    doc = load("a.pdf", p.read_bytes())
    assert doc.title == "Arbeitsanweisung Fristen"
    pages = {b.headings[-1]: b.page for b in doc.blocks}
    assert pages == {"1 Zweck": 1, "2 Widerspruchsfrist": 2}


def test_password_protected_pdf_is_reported(tmp_path):
    p = _pdf(tmp_path / "s.pdf", [["1 Geheim", "Text"]], password="geheim")
    with pytest.raises(LoaderError, match="passwortgeschützt"):
        load("s.pdf", p.read_bytes())


@pytest.mark.parametrize("name,data,message", [
    ("leer.md", b"", "leer"),
    ("leer.pdf", b"   \n", "leer"),
    ("kaputt.docx", b"PK\x03\x04 this is not a zip", "beschädigt"),
    ("kaputt.pdf", b"%PDF-1.4\n garbage without objects", "PDF"),
    ("falsch.pdf", b"<html>not a pdf</html>", "kein gültiges PDF"),
    ("bild.xyz", b"data", "nicht unterstützt"),
])
def test_broken_files_give_clear_german_reasons(name, data, message):
    with pytest.raises(LoaderError) as err:
        load(name, data)
    assert message in err.value.reason


def test_plain_text_encoding_is_detected():
    text = "Hinweise zur Antragstellung\n\nDer Antrag auf Zuschuß muß schriftlich gestellt werden. " * 3
    doc = load("hinweis.txt", text.encode("cp1252"))
    assert "Zuschuß" in doc.blocks[0].text and "muß" in doc.blocks[0].text


def test_chunks_follow_paragraphs_and_never_cut_sentences():
    from indexer.loaders.base import Block

    absatz = "(1) " + " ".join(f"Satz Nummer {i} regelt etwas Wichtiges." for i in range(30))
    blocks = [Block(("§ 60 Angabe von Tatsachen",), absatz), Block(("§ 60 Angabe von Tatsachen",), "(2) Kurz.")]
    chunks = chunk_blocks(blocks, source="x.md", title="T", department="S-I", doc_type="gesetz", max_chars=400)
    assert len(chunks) >= 3
    assert all(c.section == "§ 60 Angabe von Tatsachen" for c in chunks)
    assert all(c.text.rstrip().endswith(".") for c in chunks)
    assert all(len(c.text) <= 400 for c in chunks)
    assert chunks[-1].text.endswith("(2) Kurz.")
    assert len({c.chunk_id for c in chunks}) == len(chunks)
