"""Follow-ups of the procedure catalog: letters and case reading take the department and the Rechtswege
from the catalog, and honour the configured default department (``LOTSE_INDEX__DEFAULT_DEPARTMENT``)
for cases of no known procedure."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest

from assistant.identity import Principal
from connectors.catalog import catalog
from connectors.efile.protocol import Case

OTHER = "S-Z-Eingang"  # a configured default department different from the catalog's


def test_case_department_from_the_catalog_with_the_configured_default():
    from assistant.letters.workflow import case_department

    cat = catalog()
    assert OTHER != cat.default_department
    for p in cat.procedures:
        assert case_department(p.name) == p.department
        assert case_department(p.name, OTHER) == p.department  # a known procedure keeps its department
    assert case_department("Sonstiges") == cat.default_department
    assert case_department(None) == cat.default_department
    assert case_department("Sonstiges", OTHER) == OTHER
    assert case_department(None, OTHER) == OTHER


def test_workflow_keeps_no_department_or_rechtsweg_table_of_its_own():
    from assistant.letters import workflow

    source = inspect.getsource(workflow)
    assert '"allgemein"' not in source and "'allgemein'" not in source
    assert '"sgg"' not in source and '"vwgo_klage"' not in source
    assert tuple(workflow.RECHTSWEGE) == tuple(catalog().rechtswege)


class _EFile:
    """The four connector calls read_case makes, for one case without procedures."""

    def __init__(self, case: Case):
        self.case = case

    def search_cases(self, aktenzeichen: str):
        return [SimpleNamespace(coo=self.case.coo)] if aktenzeichen == self.case.aktenzeichen else []

    def get_case(self, coo: str) -> Case:
        return self.case

    def get_procedure(self, coo: str):  # pragma: no cover - the case has no procedures
        raise AssertionError(coo)

    def list_documents(self, coo: str):  # pragma: no cover
        return []


def test_read_case_uses_the_configured_default_department():
    from assistant.casework import read_case

    cat = catalog()
    unknown = Case("COO.1.2.3.5", "S-I-XY/2026/000001", "", "", (), "", "Sonstiges", None, None, None)
    assert read_case(_EFile(unknown), unknown.aktenzeichen).department == cat.default_department
    assert read_case(_EFile(unknown), unknown.aktenzeichen, OTHER).department == OTHER
    p = cat.procedures[0]
    known = Case("COO.1.2.3.6", f"S-I-{p.code}/2026/000001", "", "", (), p.aktenplan.coo, p.name, None, None, None)
    assert read_case(_EFile(known), known.aktenzeichen, OTHER).department == p.department


@pytest.mark.parametrize("configured", [True, False])
def test_letter_of_an_unknown_procedure_gets_the_configured_default_department(tmp_path, monkeypatch, configured):
    from sqlalchemy import select

    from assistant.letters import workflow
    from assistant.letters.errors import LetterNotFound
    from assistant.letters.models import Letter

    case = SimpleNamespace(procedure_type="Sonstiges", aktenzeichen="S-I-XY/2026/000001", coo="COO.1.2.3.5")
    data = SimpleNamespace(case=case, procedure_coo="COO.1.2.3.7", case_type=None)
    monkeypatch.setattr(workflow, "load_case", lambda efile, az: data)
    monkeypatch.setattr(workflow, "prefill", lambda *a, **kw: ({}, {}, []))
    monkeypatch.setattr(workflow, "ProposalBuilder", lambda *a, **kw: None)
    # the knowledge base carries LOTSE_INDEX__DEFAULT_DEPARTMENT as cfg.default_department
    kb = SimpleNamespace(cfg=SimpleNamespace(default_department=OTHER if configured else catalog().default_department))
    service = workflow.LetterService(f"sqlite:///{tmp_path / 'lotse.db'}", efile=object(), kb=kb)
    writer = Principal("sb", "Sachbearbeitung", frozenset({"sachbearbeitung"}), (OTHER,))
    template = service.templates.names()[0]
    if not configured:
        with pytest.raises(LetterNotFound):
            service.create_draft(writer, case.aktenzeichen, template)
        return
    letter = service.create_draft(writer, case.aktenzeichen, template)
    with service.Session() as s:
        assert s.scalars(select(Letter.department).where(Letter.id == letter["id"])).one() == OTHER
    explicit = workflow.LetterService(f"sqlite:///{tmp_path / 'lotse2.db'}", efile=object(), kb=None,
                                      default_department=OTHER)
    assert explicit.default_department == OTHER
