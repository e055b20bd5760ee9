"""The procedure catalog (connectors/catalog/procedures.yaml): complete, consistent, and the one source
of every procedure table in the code."""

from __future__ import annotations

import copy
import typing
from pathlib import Path

import pytest
import yaml

from connectors.catalog import CATALOG_FILE, Catalog, CatalogError, Procedure, catalog, load_catalog, parse_catalog
from connectors.efile.protocol import Case

ROOT = Path(__file__).resolve().parents[2]
DEMO_CORPUS = ROOT / "indexer" / "demo_corpus"
PROCEDURE_FACTS = set(Procedure.model_fields)


def raw() -> dict:
    return yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))


# -- the shipped catalog is complete -----------------------------------------------------------


def test_every_procedure_states_every_fact():
    data = raw()
    assert data["procedures"]
    for entry in data["procedures"]:
        assert set(entry) == PROCEDURE_FACTS, entry.get("name")
        for key, value in entry.items():
            if key != "checklist":  # [] is a statement: no checklist in the case record
                assert value not in (None, "", [], {}), f"{entry['name']}: {key}"
    assert catalog() == load_catalog(CATALOG_FILE)


@pytest.mark.parametrize("fact", sorted(PROCEDURE_FACTS))
def test_a_procedure_without_one_of_its_facts_is_refused(fact):
    data = raw()
    del data["procedures"][1][fact]
    name = data["procedures"][1]["name"] if fact != "name" else "procedures.1"
    with pytest.raises(CatalogError) as err:
        parse_catalog(data)
    assert name in err.value.message and fact in err.value.message and "fehlt" in err.value.message


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["procedures"][0].update(department="S-IV"), "unbekannte Abteilung 'S-IV'"),
    (lambda d: d["procedures"][0].update(rechtsweg="bvg"), "ungültiger Rechtsweg 'bvg'"),
    (lambda d: d["procedures"][0].update(checklist=["Lebenslauf"]), "unbekannte Dokumentarten: Lebenslauf"),
    (lambda d: d["procedures"][0].update(antrag_auf="Antrag auf Wohngeld"), "ohne 'Antrag auf' davor"),
    (lambda d: d["procedures"][0].update(antrag_auf="auf Wohngeld"), "ohne 'Antrag auf' davor"),
    (lambda d: d["procedures"][1].update(code="WG"), "'code' kommt mehrfach vor: WG"),
    (lambda d: d["procedures"][1].update(case_type="wohngeld"), "'case_type' kommt mehrfach vor"),
    (lambda d: d["procedures"][1]["aktenplan"].update(coo=d["procedures"][0]["aktenplan"]["coo"]), "mehrfach"),
    (lambda d: d.update(shared_departments=["S-X"]), "shared_departments nennt unbekannte Abteilungen: S-X"),
    (lambda d: d.update(default_department="S-I"), "ist eine Fachabteilung"),
    (lambda d: d.update(aktenzeichen_pattern="^[A-Z]+$"), "(?P<code>...)"),
    (lambda d: d.update(surprise=1), "surprise"),
])
def test_inconsistent_catalogs_are_refused_in_german(change, expected):
    data = copy.deepcopy(raw())
    change(data)
    with pytest.raises(CatalogError) as err:
        parse_catalog(data)
    assert expected in err.value.message


def test_broken_file_is_named(tmp_path):
    bad = tmp_path / "procedures.yaml"
    bad.write_text("procedures:\n  - code: WG\n   name: x\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"kein gültiges YAML \(Zeile \d+\)"):
        load_catalog(bad)
    with pytest.raises(CatalogError, match="kann nicht gelesen werden"):
        load_catalog(tmp_path / "missing.yaml")


# -- the catalog agrees with the ground truth ------------------------------------------------------


def test_departments_are_the_demo_corpus_folders_and_hold_their_procedures_documents():
    cat = catalog()
    assert set(cat.departments) == {p.name for p in DEMO_CORPUS.iterdir() if p.is_dir()}
    for p in cat.procedures:
        files = [f.name for f in (DEMO_CORPUS / p.department).iterdir()]
        assert any(f.startswith(p.case_type) for f in files), (p.name, p.department)


def test_aktenzeichen_maps_to_the_department_of_its_procedure_code():
    cat = catalog()
    assert cat.department_of_aktenzeichen("S-III-HZP/2023/000777") == "S-I"  # prefix is the Aktenplan's
    assert cat.department_of_aktenzeichen("S-III-WG/2026/001234") == "S-III"
    assert cat.department_of_aktenzeichen("S-GL-ZUS/2026/000001") == "S-Z"
    assert cat.department_of_aktenzeichen("S-III-XY/2026/000001") == cat.default_department
    assert cat.department_of_aktenzeichen("kein Aktenzeichen") == cat.default_department
    assert not cat.is_aktenzeichen("S-III-WG/2026/123456789")  # longer numbers are not Aktenzeichen


def test_the_double_generates_aktenzeichen_of_the_catalog():
    from connectors.efile.double.generator import generate_cases

    cat = catalog()
    cases, _ = generate_cases(40, 3)
    for case in cases:
        p = cat.by_code(case["procedure_type"])
        assert cat.procedure_of_aktenzeichen(case["objname"]) == p
        assert case["objname"].startswith(p.apentry_basenr.split()[0] + "-" + p.code + "/")


# -- every table is derived from the catalog ------------------------------------------------------


def test_efile_procedure_types():
    from connectors.efile import procedures

    cat = catalog()
    assert procedures.PROCEDURE_TYPES == cat.procedures
    assert (procedures.APLAN_ROOT_COO, procedures.APLAN_ROOT_NAME) == (cat.aktenplan_root.coo,
                                                                       cat.aktenplan_root.name)
    for p in cat.procedures:
        assert procedures.by_code(p.code.lower()) is p
        assert procedures.procedure_type_of(p.aktenplan.coo) == p.name
        assert procedures.procedure_type_of("COO.9.9.9", f"S-X-{p.code}/2024/000001") == p.name
        assert p.apentry_name == f"{p.aktenplan.kennzeichen} {p.name}"
    assert procedures.procedure_type_of(None, "S-III-NONE/2024/1") is None


def test_case_record_tables():
    from indexer import pii

    cat = catalog()
    assert dict(pii.DEPARTMENTS) == {p.name: p.department for p in cat.procedures}
    assert pii.records.DOCUMENT_TYPES == cat.efile.document_types
    assert pii.records.KNOWN_STATES == cat.efile.states
    assert pii.records.DOCUMENT_KINDS == cat.efile.document_kinds
    assert pii.detector.VOCABULARY == cat.vocabulary
    assert pii.CaseRecordBuilder().default_department == cat.default_department
    assert pii.document_type("Mietvertrag Huber (AZ-1)") == "Mietvertrag"
    assert pii.vocabulary_filter("Erstantrag Wohngeld Huber 2026") == "Erstantrag Wohngeld 2026"


@pytest.mark.parametrize("procedure", catalog().procedures, ids=lambda p: p.code)
def test_case_record_department_and_checklist(procedure):
    from indexer.pii import CaseRecordBuilder

    case = Case("COO.1.2.3.4", f"S-I-{procedure.code}/2026/000001", "", "", (), procedure.aktenplan.coo,
                procedure.name, None, None, None)
    record = CaseRecordBuilder().build(case, [], {})
    assert record.department == procedure.department
    assert record.apentry_name == procedure.apentry_name
    text = record.text()
    if procedure.checklist:
        assert f"Fehlende Unterlagen: {', '.join(procedure.checklist)}." in text
    else:
        assert "Fehlende Unterlagen" not in text
    unknown = CaseRecordBuilder().build(
        Case("COO.1.2.3.5", "S-I-XY/2026/000001", "", "", (), "", "Sonstiges", None, None, None), [], {})
    assert unknown.department == catalog().default_department and unknown.procedure_type is None


def test_letter_tables():
    from assistant.letters import casedata, config, prefill, templates, workflow

    cat = catalog()
    assert templates.CASE_TYPES == cat.case_types
    assert prefill.CASE_TYPE_BY_PROCEDURE == {p.name: p.case_type for p in cat.procedures}
    assert prefill.CASE_TYPE_LABELS == {p.case_type: p.name for p in cat.procedures}
    assert casedata.CLOSED_STATES == set(cat.efile.closed_states)
    cfg = config.LetterConfig()
    for p in cat.procedures:
        assert cfg.rechtsweg[p.case_type] == p.rechtsweg
        assert cfg.proposal_departments[p.case_type][0] == p.department
        assert set(cfg.proposal_departments[p.case_type]) == {p.department, *cat.shared_departments}
        b = cfg.behoerde_for(p.case_type)
        assert (b.amt, b.abteilung, b.telefon) == (cat.departments[p.department].amt, p.letterhead.abteilung,
                                                   p.letterhead.telefon)
    assert set(cfg.rechtsweg) == set(cfg.behoerden) == set(cfg.proposal_departments) == set(cat.case_types)
    assert typing.get_args(config.Rechtsweg) == cat.rechtswege
    # tables outside the catalog's modules must agree with it
    assert workflow.RECHTSWEGE == cat.rechtswege
    for p in cat.procedures:
        assert workflow.case_department(p.name) == p.department
    assert workflow.case_department("Sonstiges") == cat.default_department


def test_shipped_letter_templates_use_catalog_case_types():
    from assistant.letters.templates import TEMPLATES_DIR

    used: set[str] = set()
    for sidecar in TEMPLATES_DIR.glob("*.yaml"):
        used |= set(yaml.safe_load(sidecar.read_text(encoding="utf-8"))["case_types"])
    assert used - {"*"} <= set(catalog().case_types)


def test_default_department_setting_starts_from_the_catalog():
    from indexer import IndexConfig

    assert IndexConfig().default_department == catalog().default_department


def test_catalog_is_cached_and_frozen():
    assert catalog() is catalog()
    assert isinstance(catalog(), Catalog)
    with pytest.raises(Exception):
        catalog().procedures[0].code = "XX"  # type: ignore[misc]


def test_each_procedure_names_its_application_for_letters():
    """Review (issue 13): 'Antrag auf Bildung und Teilhabe' and 'Antrag auf Zuschuss' read oddly; each
    procedure says what its application asks for (antrag_auf), letters print 'Antrag auf' + that."""
    cat = catalog()
    assert cat.by_code("BUT").application() == "Antrag auf Leistungen für Bildung und Teilhabe"
    assert cat.by_code("ZUS").application() == "Antrag auf Gewährung eines Zuschusses"
    assert cat.by_code("WG").application("Weiterleistungsantrag") == "Weiterleistungsantrag auf Wohngeld"
    for p in cat.procedures:
        assert p.antrag_auf.strip() == p.antrag_auf and not p.antrag_auf.lower().startswith(("antrag", "auf ")), p.name
