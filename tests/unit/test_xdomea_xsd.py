"""XDOMEA messages against the official XSDs (connectors/efile/xdomea_schema.py, issue 15).

(a) the vendored schemas are the recorded, unmodified files (SHA-256 in connectors/efile/xsd/README.md)
    and ship with the package;
(b) every fixture the generator writes (0501/0503/0401, XDOMEA 2.3.0, 2.4.0, 3.0.0, 3.1.0, Vorgang
    without Akte, foreign Aktenplan, several versions, PDF/A and DOCX documents) is valid;
(c) a deliberately broken but readable message is still imported, and its deviations are reported
    in German with line and element, never with the element's (personal) value;
(d) the PDF/A and DOCX documents are what a caseworker can open: the text is readable and the PDF
    declares PDF/A.
"""

from __future__ import annotations

import hashlib
import io
import re
import tomllib
import zipfile
from pathlib import Path

import pytest

from connectors.efile.double.generator import generate_cases
from connectors.efile.xdomea import Limits, XdomeaConnector, read_package
from connectors.efile.xdomea_fixture_files import is_pdfa
from connectors.efile.xdomea_fixtures import build_message, write_packages, write_real_style, write_zip
from connectors.efile.xdomea_schema import SCHEMA_VERSIONS, XSD_DIR, check_message

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "Mustermann-Quellenberg"  # a name where a date belongs: must never appear in a report


def _message(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(".xml") and "/" not in n))


# -- (a) the schemas ------------------------------------------------------------------------------


def test_vendored_schemas_are_the_recorded_files():
    readme = (XSD_DIR / "README.md").read_text(encoding="utf-8")
    recorded = dict(re.findall(r"^\| `([\w./-]+\.xsd)` \| `[^`]+` \| `([0-9a-f]{64})` \|$", readme, re.M))
    present = {p.relative_to(XSD_DIR).as_posix() for p in XSD_DIR.rglob("*.xsd")}
    assert present == set(recorded)  # nothing unlisted, nothing missing
    for rel, sha in recorded.items():
        assert hashlib.sha256((XSD_DIR / rel).read_bytes()).hexdigest() == sha, rel
    assert {p.parent.name for p in XSD_DIR.glob("*/xdomea-Baukasten.xsd")} == set(SCHEMA_VERSIONS)
    assert "da433d44c39dfbbc8676e31d100792806eb3451d" in readme  # source commit


def test_schemas_ship_with_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert any(d.startswith("xmlschema") for d in project["project"]["dependencies"])
    data = project["tool"]["setuptools"]["package-data"]["connectors.efile"]
    shipped = {p for pattern in data for p in (ROOT / "connectors/efile").glob(pattern)}
    assert set(XSD_DIR.rglob("*.xsd")) <= shipped and XSD_DIR / "README.md" in shipped


# -- (b) every generated fixture is valid ---------------------------------------------------------


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    base = tmp_path_factory.mktemp("xdomea-xsd")
    real = write_real_style(base / "real")
    plain = write_packages(base / "plain", 8, 7, per_package=2)  # 3.0.0/3.1.0, 0503/0401 alternating
    cases = [c for c in generate_cases(3, 11)[0] if c.get("state") != "Storniert"]
    extra = []
    for version in ("2.3.0", "2.4.0", "3.0.0"):
        for message in ("0501", "0503", "0401"):
            name, xml, files, _ = build_message(cases, 11, version=version, message=message)
            extra.append(write_zip(base / "extra" / f"{version}_{message}.zip", {name: xml, **files}))
    name, xml, files, _ = build_message(cases, 11, version="2.4.0", message="0503", vorgang_only=True,
                                        office_files=True, versions=2)
    extra.append(write_zip(base / "extra" / "2.4.0_vorgang_office.zip", {name: xml, **files}))
    return real, [*real.packages, *plain.packages, *extra]


def test_every_generated_fixture_validates_against_its_xsd(fixtures):
    _, packages = fixtures
    seen = set()
    for path in packages:
        pkg = read_package(path)
        assert pkg.schema is not None and pkg.schema.checked, (path.name, pkg.schema)
        assert pkg.schema.valid, (path.name, pkg.schema.details)
        assert not [p for p in pkg.problems if p.kind == "schema"]
        seen.add((pkg.xdomea_version, pkg.message_code))
    assert {v for v, _ in seen} == set(SCHEMA_VERSIONS)
    assert {m for _, m in seen} == {"0501", "0503", "0401"}


def test_real_style_set_has_every_variant(fixtures):
    real, _ = fixtures
    names = {p.name for p in real.packages}
    assert {"z_anbieteverzeichnis_0501.zip", "a_aussonderung_0503.zip", "vorgang_ohne_akte.zip",
            "fremder_aktenplan.zip", "versionen.zip", "xdomea_2_4_aussonderung.zip", "xdomea_2_3_abgabe.zip",
            "dms_pdfa_docx.zip"} <= names
    assert real.office and real.sequence and real.vorgang_only and real.foreign and real.versioned
    assert real.xdomea_2


# -- (c) a broken message: reported, imported ---------------------------------------------------------


def _broken(directory: Path) -> tuple[Path, list]:
    cases = [c for c in generate_cases(2, 13)[0] if c.get("state") != "Storniert"]
    name, xml, files, fcs = build_message(cases, 13, version="3.1.0", message="0503")
    bad = xml.replace(b"<xdomea:Typ>Fallakte</xdomea:Typ>",
                      b"<xdomea:Typ>Fallakte</xdomea:Typ><xdomea:Sachbearbeitung>x</xdomea:Sachbearbeitung>", 1)
    bad = re.sub(rb"<xdomea:Posteingangsdatum>[^<]*<", b"<xdomea:Posteingangsdatum>" + PLANTED.encode() + b"<",
                 bad, count=1)
    bad = bad.replace(b"<xdomea:Importbestaetigung>1<", b"<xdomea:Importbestaetigung>0<", 1)
    assert bad.count(b"Sachbearbeitung") == 2 and PLANTED.encode() in bad
    return write_zip(directory / "kaputtes_schema.zip", {name: bad, **files}), fcs


def test_broken_message_is_imported_and_its_deviations_are_reported(tmp_path):
    path, fcs = _broken(tmp_path)
    conn = XdomeaConnector(tmp_path, refresh_interval_s=0)
    # the caseworker still finds the Akten and opens their documents
    for fc in fcs:
        assert [r.coo for r in conn.search_cases(aktenzeichen=fc.aktenzeichen)] == [fc.uuid]
        for fp in fc.procedures:
            for fd in fp.documents:
                assert {f.file_name: f.content for f in conn.read_document(fd.uuid)} == fd.files
    assert conn.health().ok
    found = [p for p in conn.problems() if p.kind == "schema"]
    assert len(found) == 1 and not found[0].fatal and found[0].package == path.name
    text = found[0].text()
    assert text.startswith("XDOMEA-Paket „kaputtes_schema.zip“: Die XDOMEA-Nachricht entspricht nicht dem offiziellen "
                           "XDOMEA-Schema 3.1.0 (3 Abweichungen:")
    assert "unerwartetes Element „Sachbearbeitung“" in text
    assert "Posteingangsdatum: ungültiger Wert (erwarteter Typ: date)" in text
    assert "Importbestaetigung: Wert muss der feste Wert „1“ sein" in text
    assert re.search(r"Zeile \d+, Aussonderung\.Aussonderung\.0503/Schriftgutobjekt\[1\]/Akte: unerwartetes Element "
                     r"„Sachbearbeitung“ \(an dieser Stelle nicht vorgesehen\)", text)
    assert "Das Paket wurde trotzdem eingelesen" in text
    assert PLANTED not in text and PLANTED.lower() not in text.lower()
    assert text in conn.import_warnings()


def test_sync_report_lists_schema_findings_under_decisions():
    from types import SimpleNamespace

    from assistant.import_report import sync_report

    warning = ("XDOMEA-Paket „x.zip“: Die XDOMEA-Nachricht entspricht nicht dem offiziellen XDOMEA-Schema 3.1.0 "
               "(1 Abweichung: Zeile 3, Kopf: unerwartetes Element „A“). Das Paket wurde trotzdem eingelesen, weil "
               "Lotse die benötigten Angaben lesen konnte; bitte die Exportschnittstelle des Aktensystems prüfen "
               "lassen.")
    r = SimpleNamespace(cases_found=2, added=2, updated=0, unchanged=0, removed=0, seconds=0.1, chunks_written=2,
                        warnings=[warning], error=None)
    report = sync_report(r)
    assert report.decisions == [warning] and warning not in report.skipped
    assert "Zu entscheiden (1):" in report.text()


def test_versions_without_a_vendored_schema_are_imported_unchecked():
    data = b'<?xml version="1.0"?><x:Abgabe.Abgabe.0401 xmlns:x="urn:xoev-de:xdomea:schema:3.2.0"/>'
    check = check_message(data, "3.2.0", "Abgabe.Abgabe.0401")
    assert not check.checked and "Für XDOMEA 3.2.0 liegt Lotse kein offizielles Schema vor" in check.message()
    check = check_message(data, "3.1.0", "Abgabe.Abgabe.0401", max_bytes=10)
    assert not check.checked and "nicht gegen das Schema geprüft" in check.message()


def test_validation_can_be_switched_off(tmp_path):
    path, _ = _broken(tmp_path)
    pkg = read_package(path, Limits(max_schema_bytes=0))
    assert pkg.schema is None and not [p for p in pkg.problems if p.kind == "schema"] and pkg.cases


def test_schema_locations_in_the_message_are_not_followed(tmp_path):
    # real exports carry xsi:schemaLocation; it must neither be fetched nor replace the vendored schema
    cases = [c for c in generate_cases(1, 17)[0] if c.get("state") != "Storniert"]
    name, xml, files, _ = build_message(cases, 17, version="3.0.0", message="0401")
    hint = (b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:xoev-de:xdomea:schema:'
            b'3.0.0 http://127.0.0.1:9/evil.xsd"')
    xml = xml.replace(b'xmlns:xdomea="urn:xoev-de:xdomea:schema:3.0.0"',
                      b'xmlns:xdomea="urn:xoev-de:xdomea:schema:3.0.0"' + hint, 1)
    assert b"evil.xsd" in xml
    pkg = read_package(write_zip(tmp_path / "hinweis.zip", {name: xml, **files}))
    assert pkg.schema is not None and pkg.schema.valid, pkg.schema


# -- (d) PDF/A and DOCX documents ----------------------------------------------------------------------


def test_pdfa_and_docx_documents_can_be_opened(fixtures):
    import docx
    import pypdf

    real, _ = fixtures
    conn = XdomeaConnector(real.packages[0].parent, refresh_interval_s=0)
    kinds = set()
    for fc in real.office:
        for fp in fc.procedures:
            for fd in fp.documents:
                for f in conn.read_document(fd.uuid):
                    assert f.content == fd.files[f.file_name]
                    if f.file_name.endswith(".pdf"):
                        assert f.mime_type == "application/pdf" and is_pdfa(f.content)
                        reader = pypdf.PdfReader(io.BytesIO(f.content))
                        assert reader.xmp_metadata.pdfaid_part == "2"  # PDF/A-2 identification
                        assert reader.xmp_metadata.pdfaid_conformance == "B"
                        assert len(reader.pages[0].extract_text().strip()) > 20
                        kinds.add("pdf")
                    elif f.file_name.endswith(".docx"):
                        assert fd.kind == "Erledigung"  # outgoing letters are Word files
                        paragraphs = [p.text for p in docx.Document(io.BytesIO(f.content)).paragraphs]
                        assert len(" ".join(paragraphs)) > 20
                        kinds.add("docx")
    assert kinds == {"pdf", "docx"}
    xml = _message(next(p for p in real.packages if p.name == "dms_pdfa_docx.zip"))
    assert b"<code>044</code>" in xml and b"<code>035</code>" in xml  # Dateiformat PDF/A, DOCX


# -- (e) a message Lotse did not write: the Landesarchiv NRW's examples ------------------------------

EXAMPLES = Path(__file__).with_name("xdomea_examples")


def _example_package(tmp_path: Path, version: str) -> Path:
    members = {p.name: p.read_bytes() for p in (EXAMPLES / version).iterdir()}
    return write_zip(tmp_path / f"lav_nrw_{version}.zip", members)


def test_third_party_3_0_example_is_valid_and_imported(tmp_path):
    path = _example_package(tmp_path, "v3.0.0")
    assert b'xsi:schemaLocation="urn:xoev-de:xdomea:schema:3.0.0 /dev/null"' in _message(path)  # not followed
    pkg = read_package(path)
    assert pkg.schema is not None and pkg.schema.valid, pkg.schema
    assert pkg.xdomea_version == "3.0.0" and pkg.message_code == "0503"
    conn = XdomeaConnector(tmp_path, refresh_interval_s=0)
    # a Vorgang without Akte: a case of its own, its document readable
    case = conn.get_case("67e456ea-b420-11ec-b503-005056871b7c")
    assert case.aktenzeichen == "[Vorgangskennzeichen]" and case.procedure_type == "sonstiges Verfahren"
    [doc] = conn.list_documents(case.coo)
    [f] = conn.read_document(doc.coo)
    assert f.content == b"Testdokument\n" and f.file_name == "f4bcaaf7-d7cb-11ef-a278-005056871b7c.txt"
    assert [p.kind for p in conn.problems()] == ["note"]  # "als eigene Akte übernommen", no schema finding


def test_third_party_4_0_example_is_refused_with_a_german_reason(tmp_path):
    pkg = read_package(_example_package(tmp_path, "v4.0.0"))
    assert [p.fatal for p in pkg.problems] == [True] and pkg.schema is None
    assert "Version 4.0.0" in pkg.problems[0].message and "2.3 und 2.4" in pkg.problems[0].message
