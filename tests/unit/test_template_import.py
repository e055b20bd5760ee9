"""Importing an office's own Word letters as templates (issue 15, item 3) and the import report (item 4).

The test letters are written here with python-docx, one per placeholder style, each with a
letterhead placeholder in the header, one in a table, one in the footer and one in the body
split over runs with different formatting (as Word writes it after edits). The converted
template must render a letter whose text differs from the original only in the filled fields,
paragraph by paragraph, and leave every other part of the Word package untouched.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml
from docx import Document
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from lxml import etree

from assistant.import_report import ImportReport, sync_report
from assistant.letters import TemplateRegistry
from assistant.letters.errors import TemplateImportError
from assistant.letters.template_import import (ImportOptions, analyze, convert, import_template, install,
                                               mapping_template, render_docx)

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
PARTS = re.compile(r"^word/(document|header\d*|footer\d*)\.xml$")


# -- writing test letters ----------------------------------------------------------------------------------

def _field_runs(par, instr: str, result: str) -> None:
    """A complex field (fldChar begin/instrText/separate/result/end), as Word writes MERGEFIELDs."""
    def run(kind=None, code=None, text=None):
        r = par.add_run()
        if kind:
            fc = OxmlElement("w:fldChar")
            fc.set(qn("w:fldCharType"), kind)
            r._r.append(fc)
        if code:
            it = OxmlElement("w:instrText")
            it.set(qn("xml:space"), "preserve")
            it.text = code
            r._r.append(it)
        if text:
            r.text = text
        r.bold = True  # the whole field formatted (Word shows the result's, LibreOffice the code's look)
        return r
    run("begin")
    run(code=instr[: len(instr) // 2])  # Word splits field codes over runs, too
    run(code=instr[len(instr) // 2:])
    run("separate")
    run(text=result)
    run("end")


def _simple_field(par, name: str) -> None:
    fs = OxmlElement("w:fldSimple")
    fs.set(qn("w:instr"), f" MERGEFIELD {name} \\* MERGEFORMAT ")
    r = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    rpr.append(OxmlElement("w:b"))
    r.append(rpr)
    t = OxmlElement("w:t")
    t.text = f"«{name}»"
    r.append(t)
    fs.append(r)
    par._p.append(fs)


def _placeholder(par, style: str, name: str, split: bool = False, uniform: bool = False) -> str:
    """Write placeholder ``name`` in ``style`` into the paragraph; returns the text it shows. ``split``:
    in several runs, the first bold 12 pt, the others italic (``uniform``: all bold 12 pt, as Word
    splits after spell checks and revisions without a visible change)."""
    if style in ("mergefield", "mergefield_simple"):
        if style == "mergefield":
            _field_runs(par, f" MERGEFIELD {name} \\* MERGEFORMAT ", f"«{name}»")
        else:
            _simple_field(par, name)
        return f"«{name}»"
    if style == "highlight":
        label = name.replace("_", " ")
        parts = [label[:3], label[3:]] if split else [label]
        for i, piece in enumerate(parts):
            r = par.add_run(piece)
            r.font.highlight_color = WD_COLOR_INDEX.YELLOW
            r.bold = i == 0
        return label
    raw = {"jinja": "{{ %s }}" % name, "phpword": "${%s}" % name, "bracket": "[%s]" % name}[style]
    if split:  # cut mid-placeholder, different formatting per piece (first piece bold, 12 pt)
        cuts = [raw[:2], raw[2:5], raw[5:]] if len(raw) > 5 else [raw[:1], raw[1:]]
        for i, piece in enumerate(cuts):
            r = par.add_run(piece)
            if i == 0 or uniform:
                r.bold, r.font.size = True, Pt(12)
            else:
                r.italic = True
    else:
        par.add_run(raw)
    return raw


STYLES = ["jinja", "phpword", "mergefield", "mergefield_simple", "bracket", "highlight"]


def make_letter(style: str, uniform: bool = False) -> tuple[bytes, dict[str, str]]:
    """A letter with a header, a table, a footer and body text; returns (docx, shown text -> key)."""
    d = Document()
    shown: dict[str, str] = {}
    sec = d.sections[0]
    hp = sec.header.paragraphs[0]
    hp.add_run("Landeshauptstadt München · Sozialreferat · Az. ").font.size = Pt(8)
    shown[_placeholder(hp, style, "Aktenzeichen")] = "Aktenzeichen"
    fp = sec.footer.paragraphs[0]
    fp.add_run("Ihre Ansprechperson: ")
    shown[_placeholder(fp, style, "Sachbearbeiter")] = "Sachbearbeiter"
    fp.add_run(" – Seite ")
    _field_runs(fp, " PAGE ", "1")
    tbl = d.add_table(rows=2, cols=2)
    tbl.cell(0, 0).text = "Empfänger"
    shown[_placeholder(tbl.cell(0, 1).paragraphs[0], style, "Name")] = "Name"
    tbl.cell(1, 0).text = "Stand vom"
    shown[_placeholder(tbl.cell(1, 1).paragraphs[0], style, "Datum")] = "Datum"
    d.add_paragraph("Ihr Antrag auf Wohngeld", style="Heading 1")
    p = d.add_paragraph("Sehr geehrte Damen und Herren, wir haben Ihren Antrag vom ")
    shown[_placeholder(p, style, "Antragsdatum", split=True, uniform=uniform)] = "Antragsdatum"
    p.add_run(" erhalten. Bitte reichen Sie bis zum ")
    shown[_placeholder(p, style, "Frist", split=True, uniform=uniform)] = "Frist"
    p.add_run(" die folgenden Unterlagen ein: ")
    shown[_placeholder(p, style, "Unterlagen_Liste")] = "Unterlagen_Liste"
    p.add_run(".")
    d.add_paragraph("Mit freundlichen Grüßen")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue(), shown


MAPPING = {"Aktenzeichen": "akte.aktenzeichen", "Sachbearbeiter": "sachbearbeitung.name", "Name": "empfaenger.name",
           "Datum": "today", "Antragsdatum": "akte.antragsdatum", "Frist": {"kind": "computed", "target": "workdays:14"},
           "Unterlagen_Liste": {"kind": "user", "hint": "Welche Unterlagen fehlen?"}}
VALUES = {"akte": {"aktenzeichen": "S-III-WG/2026/001234", "antragsdatum": "03.02.2026"},
          "sachbearbeitung": {"name": "Petra Huber"}, "empfaenger": {"name": "Maria Muster"},
          "datum": "01.03.2026", "frist": "17.03.2026", "unterlagen_liste": "Mietvertrag & Lohnabrechnung"}
FILLED = {"Aktenzeichen": "S-III-WG/2026/001234", "Sachbearbeiter": "Petra Huber", "Name": "Maria Muster",
          "Datum": "01.03.2026", "Antragsdatum": "03.02.2026", "Frist": "17.03.2026",
          "Unterlagen_Liste": "Mietvertrag & Lohnabrechnung"}


def _label_key(style: str, key: str) -> str:
    return key.replace("_", " ") if style == "highlight" else key


def paragraph_texts(docx: bytes) -> list[tuple[str, str]]:
    """(part, text) of every paragraph of body, tables, headers and footers, in order."""
    out = []
    with zipfile.ZipFile(io.BytesIO(docx)) as zf:
        for name in sorted(n for n in zf.namelist() if PARTS.match(n)):
            root = etree.fromstring(zf.read(name))
            for p in root.iter(f"{{{W}}}p"):
                text = "".join(t.text or "" if t.tag == f"{{{W}}}t" else "\t"
                               for t in p.iter(f"{{{W}}}t", f"{{{W}}}tab"))
                out.append((name, text))
    return out


def members(docx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(docx)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def convert_style(style: str, uniform: bool = False):
    data, shown = make_letter(style, uniform)
    mapping = {_label_key(style, k): v for k, v in MAPPING.items()}
    result = convert(data, f"brief_{style}.docx", ImportOptions(f"brief_{style}", f"Brief {style}"), mapping)
    return data, shown, result


# -- conversion ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", STYLES)
def test_each_style_is_detected_in_body_tables_headers_and_footers(style):
    data, shown = make_letter(style)
    a = analyze(data, "brief.docx")
    assert a.problems == []
    found = {p.label: p for p in a.placeholders}
    assert set(found) == {_label_key(style, k) for k in shown.values()}
    where = {p.label: set(o.where for o in p.occurrences) for p in a.placeholders}
    assert where[_label_key(style, "Aktenzeichen")] == {"Kopfzeile"}
    assert where[_label_key(style, "Sachbearbeiter")] == {"Fußzeile"}
    assert where[_label_key(style, "Name")] == {"Tabelle im Brieftext"}
    # suggestions: known names are mapped to the case, unknown ones to a user input to check
    assert found[_label_key(style, "Aktenzeichen")].suggestion.target == "akte.aktenzeichen"
    assert found[_label_key(style, "Aktenzeichen")].confident
    assert found[_label_key(style, "Unterlagen_Liste")].suggestion.kind == "user"
    assert not found[_label_key(style, "Unterlagen_Liste")].confident


@pytest.mark.parametrize("style", STYLES)
def test_converted_letter_differs_from_the_original_only_in_the_filled_fields(style):
    data, shown, result = convert_style(style)
    letter = render_docx(result.docx, VALUES)
    original, rendered = paragraph_texts(data), paragraph_texts(letter)
    assert [p for p, _ in original] == [p for p, _ in rendered]  # same parts, same number of paragraphs
    for (part, before), (_, after) in zip(original, rendered):
        expected = before
        for raw, key in sorted(shown.items(), key=lambda kv: -len(kv[0])):
            expected = expected.replace(raw, FILLED[key])
        assert after == expected, part
    # the page number field of the footer is still a field
    footer = etree.fromstring(next(v for k, v in members(letter).items() if k.startswith("word/footer")))
    assert "".join(t.text for t in footer.iter(f"{{{W}}}instrText")).strip() == "PAGE"


@pytest.mark.parametrize("style", STYLES)
def test_layout_stays_every_other_part_byte_for_byte_and_paragraph_properties_unchanged(style):
    data, _, result = convert_style(style)
    before, after = members(data), members(result.docx)
    assert list(before) == list(after)
    changed = {n for n in before if before[n] != after[n]}
    assert changed and all(PARTS.match(n) for n in changed), changed
    for name in changed:
        a, b = etree.fromstring(before[name]), etree.fromstring(after[name])
        pa, pb = list(a.iter(f"{{{W}}}p")), list(b.iter(f"{{{W}}}p"))
        assert len(pa) == len(pb)
        for x, y in zip(pa, pb):
            ppr = [etree.tostring(p.find(f"{{{W}}}pPr")) if p.find(f"{{{W}}}pPr") is not None else b""
                   for p in (x, y)]
            assert ppr[0] == ppr[1]
        assert len(list(a.iter(f"{{{W}}}tbl"))) == len(list(b.iter(f"{{{W}}}tbl")))
        assert len(list(a.iter(f"{{{W}}}sectPr"))) == len(list(b.iter(f"{{{W}}}sectPr")))


@pytest.mark.parametrize("style", ["jinja", "phpword", "bracket", "highlight"])
def test_runs_split_mid_placeholder_are_merged_into_the_first_run_with_its_formatting(style):
    _, _, result = convert_style(style)
    root = etree.fromstring(members(result.docx)["word/document.xml"])
    runs = [r for r in root.iter(f"{{{W}}}r") if "".join(t.text or "" for t in r.iter(f"{{{W}}}t"))
            == "{{ akte.antragsdatum }}"]
    assert len(runs) == 1  # one run holds the whole tag
    rpr = runs[0].find(f"{{{W}}}rPr")
    assert rpr is not None and rpr.find(f"{{{W}}}b") is not None  # the first piece was bold
    assert rpr.find(f"{{{W}}}highlight") is None  # a highlight marked the placeholder only
    if style != "highlight":
        assert rpr.find(f"{{{W}}}sz").get(f"{{{W}}}val") == "24"  # 12 pt of the first piece


def test_sidecar_declares_the_mapped_fields_and_the_template_loads(tmp_path):
    _, _, result = convert_style("phpword")
    side = yaml.safe_load(result.sidecar)
    fields = {f["name"]: f for f in side["fields"]}
    assert set(fields) == {"akte", "sachbearbeitung", "empfaenger", "datum", "frist", "unterlagen_liste"}
    assert fields["datum"] == {"name": "datum", "type": "date", "source": "computed", "required": True,
                               "rule": "today", "hint": "„Datum“ aus der Vorlage"}
    assert fields["frist"]["rule"] == "workdays:14" and fields["unterlagen_liste"]["source"] == "user"
    path = install(result, tmp_path)
    reg = TemplateRegistry(tmp_path)
    assert reg.names() == ["brief_phpword"] and not reg.broken()
    assert reg.get("brief_phpword").docx_path == path
    with pytest.raises(TemplateImportError, match="gibt es bereits"):
        install(result, tmp_path)
    install(result, tmp_path, replace=True)


def test_generated_block_and_keep_mapping():
    data, shown = make_letter("bracket")
    result = convert(data, "b.docx", ImportOptions("b_brief", "B"),
                     {**MAPPING, "Unterlagen_Liste": {"kind": "generated", "target": "fehlende Unterlagen Wohngeld"},
                      "Frist": "keep"})
    fields = {f["name"]: f for f in yaml.safe_load(result.sidecar)["fields"]}
    assert fields["unterlagen_liste"]["source"] == "generated"
    assert fields["unterlagen_liste"]["query"] == "fehlende Unterlagen Wohngeld"
    assert "frist" not in fields
    text = "\n".join(t for _, t in paragraph_texts(render_docx(result.docx, {**VALUES, "unterlagen_liste": "A\nB"})))
    assert "bis zum [Frist] die" in text  # kept as written
    assert any("[Frist]" in s and "bleibt stehen" in s for s in result.report.skipped)


def _broken_letter() -> bytes:
    d = Document()
    p = d.add_paragraph("Offen: ")
    p.add_run("{{ na")
    p.add_run("me und leer: ${}, Kommentar {# und ein Rest }} sowie ")
    p.add_run("${/block}")
    d.add_paragraph("Gut: {{ akte.aktenzeichen }} und [Name].")
    par = d.add_paragraph("Bedingt: ")
    _field_runs(par, ' IF { MERGEFIELD Anrede } = "Frau" "Sehr geehrte Frau" ', "Sehr geehrte Frau")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_broken_placeholders_are_reported_and_stay_visible_never_dropped():
    data = _broken_letter()
    a = analyze(data, "kaputt.docx")
    texts = {f.text for f in a.problems}
    assert {"{{", "${}", "{#", "}}", "${/block}"} <= texts
    assert {p.label for p in a.placeholders} == {"akte.aktenzeichen", "Name"}
    result = convert(data, "kaputt.docx", ImportOptions("kaputt", "Kaputt"))
    letter = render_docx(result.docx, {"akte": {"aktenzeichen": "AZ-1"}, "empfaenger": {"name": "M. M."}})
    out = [t for _, t in paragraph_texts(letter)]
    assert out[0] == "Offen: {{ name und leer: ${}, Kommentar {# und ein Rest }} sowie ${/block}"
    assert out[1] == "Gut: AZ-1 und M. M.."
    report = result.report
    assert len(report.skipped) >= 5 and any("{#" in d for d in report.decisions)
    # a MERGEFIELD nested in an IF field: not converted, reported (the field keeps working in Word)
    nested = [f for f in a.problems if "MERGEFIELD" in f.text]
    assert nested and "WENN/IF" in nested[0].message


def test_bracket_text_that_is_no_placeholder_is_left_alone():
    d = Document()
    d.add_paragraph("Siehe Fußnote [1] und die Auslassung […].")
    buf = io.BytesIO()
    d.save(buf)
    assert analyze(buf.getvalue()).placeholders == []


def test_mapping_errors_are_german_and_name_the_placeholder():
    data, _ = make_letter("jinja")
    with pytest.raises(TemplateImportError, match="Aktenzeichen.*unbekanntes Aktenfeld"):
        convert(data, "x.docx", ImportOptions("x_brief", "X"), {"Aktenzeichen": {"kind": "case", "target": "akte.x"}})
    with pytest.raises(TemplateImportError, match="kommt in der Vorlage nicht"):
        convert(data, "x.docx", ImportOptions("x_brief", "X"), {"Gibtsnicht": "eingabe"})
    with pytest.raises(TemplateImportError, match="Vorlagenname"):
        convert(data, "x.docx", ImportOptions("X Brief", "X"))
    with pytest.raises(TemplateImportError, match="kein lesbares Word-Dokument"):
        analyze(b"%PDF-1.4 nope", "x.docx")


def test_without_mapping_suggestions_are_used_and_guesses_are_listed_to_decide(tmp_path):
    data, _ = make_letter("phpword")
    result = import_template(data, "amt.docx", tmp_path, ImportOptions("amt_brief", "Amt"))
    decide = "\n".join(result.report.decisions)
    assert "${Unterlagen_Liste}" in decide and "${Frist}" in decide
    assert "${Aktenzeichen}" not in decide
    text = result.report.text()
    assert text.startswith("Importbericht: Vorlage „amt.docx“ als „amt_brief“")
    assert "Übernommen (" in text and "Zu entscheiden (" in text
    assert (tmp_path / "amt_brief.yaml").exists()
    # the mapping file to edit round-trips into the same result
    m = yaml.safe_load(mapping_template(analyze(data, "amt.docx"), ImportOptions("amt_brief", "Amt")))
    again = convert(data, "amt.docx", ImportOptions("amt_brief", "Amt"), m["fields"])
    assert again.docx == result.docx and again.report.decisions == []


# -- import report after a case sync ---------------------------------------------------------------------------

def test_sync_report_sorts_what_was_taken_skipped_and_what_needs_a_decision():
    from indexer.cases import SyncReport

    r = SyncReport(cases_found=7, added=3, updated=1, unchanged=2, removed=1, vanished=1, chunks_written=4,
                   truncated=["Wohngeld"], complete=True, seconds=1.5, warnings=[
                       "XDOMEA-Paket „b.zip“: Akte X ist auch im früheren Paket a.zip enthalten und wurde "
                       "zusammengeführt (Metadaten aus der späteren Nachricht): 2 Dokumente.",
                       "XDOMEA-Paket „c.zip“: Die Datei ist keine gültige ZIP-Datei oder ist beschädigt. Das Paket "
                       "wurde nicht eingelesen.",
                       "Die Suche nach Akten im Aktenplaneintrag Wohngeld hat die Obergrenze der E-Akte (500 Treffer) "
                       "erreicht; weitere Akten wurden nicht gefunden.",
                       "XDOMEA-Paket „d.zip“: Schemaprüfung: Element X unerwartet."])
    rep = sync_report(r)
    assert isinstance(rep, ImportReport)
    assert rep.headline.startswith("7 Akten gefunden: 3 neu, 1 geändert, 2 unverändert, 1 entfernt")
    assert any("zusammengeführt" in t for t in rep.taken) and any("4 Akten in den Index" in t for t in rep.taken)
    assert any("c.zip" in s for s in rep.skipped) and any("1 Akten waren beim Lesen" in s for s in rep.skipped)
    assert any("Obergrenze" in d for d in rep.decisions) and any("Schemaprüfung" in d for d in rep.decisions)
    assert any("c.zip" in d and "erneut bereitstellen" in d for d in rep.decisions)
    text = rep.text()
    assert "Übernommen (" in text and "Übersprungen (" in text and "Zu entscheiden (" in text


# -- page images (LibreOffice) ---------------------------------------------------------------------------------

def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _pages(docx: bytes, tmp: Path, name: str) -> list[bytes]:
    src = tmp / f"{name}.docx"
    src.write_bytes(docx)
    subprocess.run([_soffice(), "--headless", "--norestore", f"-env:UserInstallation=file://{tmp}/lo-profile",
                    "--convert-to", "pdf", "--outdir", str(tmp), str(src)], check=True, timeout=180,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["pdftoppm", "-r", "60", "-gray", str(tmp / f"{name}.pdf"), str(tmp / name)], check=True,
                   timeout=120)
    return [p.read_bytes() for p in sorted(tmp.glob(f"{name}-*.pgm"))]


@pytest.mark.slow
@pytest.mark.skipif(_soffice() is None or shutil.which("pdftoppm") is None,
                    reason="LibreOffice (soffice) und pdftoppm (poppler-utils) fehlen")
@pytest.mark.parametrize("style", ["jinja", "phpword", "mergefield", "mergefield_simple", "bracket"])
def test_page_images_of_the_converted_template_match_the_original(style, tmp_path):
    """Rendered with each field's value set to the text the original shows there, the converted
    template prints pixel-identical pages: letterhead, fonts, table, header and footer stayed.
    (Split runs with the same look here: with different looks the merged run takes the first one's.)"""
    data, shown, result = convert_style(style, uniform=True)
    by_key = {key: raw for raw, key in shown.items()}
    values = {"akte": {"aktenzeichen": by_key["Aktenzeichen"], "antragsdatum": by_key["Antragsdatum"]},
              "sachbearbeitung": {"name": by_key["Sachbearbeiter"]}, "empfaenger": {"name": by_key["Name"]},
              "datum": by_key["Datum"], "frist": by_key["Frist"], "unterlagen_liste": by_key["Unterlagen_Liste"]}
    letter = render_docx(result.docx, values)
    before, after = _pages(data, tmp_path, "original"), _pages(letter, tmp_path, "brief")
    assert before and len(before) == len(after)
    for a, b in zip(before, after):
        assert a == b
