"""The office file (``assistant/letters/templates/regeln/dienststellen.yaml``, or the file named by
LOTSE_LETTERS__OFFICE_FILE): what the city edits there appears in a drafted letter's contact block;
a broken file stops the start with a German message naming the file."""

from __future__ import annotations

import io
from datetime import date

import pytest
import yaml

from assistant import Principal
from assistant.letters import LetterService
from assistant.letters.config import OFFICE_FILE, LetterConfig, OfficeFileError, load_office
from lotse.settings import SettingsError, load_settings

try:
    from tests.integration.efile_fixtures import DoubleProcess, make_client
except ImportError:  # pragma: no cover - depends on how pytest puts tests on sys.path
    from efile_fixtures import DoubleProcess, make_client  # type: ignore

AZ = "S-III-WG/2026/900101"
CASE = {
    "objname": AZ, "shortname": "Wohngeld Musterfrau, Erika", "procedure_type": "WG",
    "procedures": [{"shortname": "Erstantrag Wohngeld 2026", "documents": [{
        "kind": "Eingang", "shortname": "Antrag Wohngeld Musterfrau, Erika", "date": "2026-04-30T09:15:00+02:00",
        "files": [{"name": "antrag.json", "json": {
            "verfahren": "Wohngeld", "antragsdatum": "2026-04-27", "anrede": "Frau", "vorname": "Erika",
            "nachname": "Musterfrau", "strasse": "Lindwurmstraße", "hausnummer": "12", "plz": "80337",
            "ort": "München"}}]}]}],
}


def _edited(tmp_path, **changes) -> str:
    data = yaml.safe_load(OFFICE_FILE.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if isinstance(value, dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    path = tmp_path / "dienststellen.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def _info_lines(docx_bytes: bytes) -> list[str]:
    import docx

    d = docx.Document(io.BytesIO(docx_bytes))
    return [p.text for t in d.tables for row in t.rows for cell in row.cells for p in cell.paragraphs]


@pytest.fixture(scope="module")
def double(tmp_path_factory):
    d = DoubleProcess.with_cases(tmp_path_factory.mktemp("efile-office-file"), [CASE])
    yield d
    d.stop()


def test_shipped_file_gives_the_former_defaults():
    office = load_office()
    assert office.internet == "www.muenchen.de/sozialreferat"
    cfg = LetterConfig()
    assert cfg.behoerde.model_dump() == {
        "amt": "Amt für Wohnen und Migration", "abteilung": "Abteilung Wohngeld und Lastenzuschuss",
        "strasse": "Werinherstraße 89", "plz_ort": "81541 München", "telefon": "089 233-96000",
        "email": "wohngeld.soz@muenchen.de", "internet": "www.muenchen.de/sozialreferat"}
    assert {b.internet for b in cfg.behoerden.values()} == {"www.muenchen.de/sozialreferat"}
    # a setting still overrides single keys of the file's letterhead
    assert LetterConfig(behoerde={"telefon": "089 233-00000"}).behoerde.amt == "Amt für Wohnen und Migration"


def test_changed_value_appears_in_the_drafted_letters_contact_block(double, tmp_path, monkeypatch):
    office = _edited(tmp_path, internet="www.muenchen.de/soziales-test",
                     ohne_verfahren={"telefon": "089 233-11111"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOTSE_LETTERS__OFFICE_FILE", office)
    cfg = load_settings().letters
    assert cfg.behoerde_for("unbekannt").telefon == "089 233-11111"
    assert cfg.behoerde_for("wohngeld").telefon == "089 233-96000"  # the procedure catalog's
    efile = make_client(double.base_url, timeout=15.0, retries=1)
    try:
        service = LetterService(f"sqlite:///{tmp_path / 'letters.db'}", efile, None, cfg,
                                today=lambda: date(2026, 5, 21))
        view = service.create_draft(Principal("anna", "Anna Beispiel"), AZ, "eingangsbestaetigung")
        assert view["fields"]["behoerde"]["internet"] == "www.muenchen.de/soziales-test"
        info = _info_lines(service.render_docx(view["id"]))
    finally:
        efile.close()
    # the contact block: label and value on one line, or the value below its label when too long
    assert "Internet\twww.muenchen.de/soziales-test" in info or \
        info[info.index("Internet") + 1] == "www.muenchen.de/soziales-test"
    assert not any("www.muenchen.de/sozialreferat" in ln for ln in info)


def test_broken_file_is_a_german_error_naming_the_file(tmp_path, monkeypatch):
    broken = tmp_path / "dienststellen.yaml"
    broken.write_text("internet: www.muenchen.de\nohne_verfahren:\n  amt: [Amt\n", encoding="utf-8")
    with pytest.raises(OfficeFileError, match=r"Die Dienststellen-Datei .*dienststellen\.yaml ist kein gültiges "
                       r"YAML \(Zeile \d+\)"):
        load_office(broken)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOTSE_LETTERS__OFFICE_FILE", str(broken))
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert "LOTSE_LETTERS" in str(exc.value) and str(broken) in str(exc.value)
    assert "kein gültiges YAML" in str(exc.value)

    incomplete = _edited(tmp_path, ohne_verfahren={"fax": "089 1"})
    with pytest.raises(OfficeFileError, match=r"ohne_verfahren\.fax: ist kein bekannter Eintrag"):
        load_office(incomplete)
    with pytest.raises(OfficeFileError, match=r"kann nicht gelesen werden"):
        load_office(tmp_path / "fehlt.yaml")
