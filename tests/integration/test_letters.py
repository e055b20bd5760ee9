"""The routine-letter workflow against the real e-file double process, a real knowledge base on the
demo corpus and SQLite: every template rendered with a real case, the full review and filing flow,
four eyes, optimistic locking, e-file outages with retry, broken templates, REST API and CLI."""

from __future__ import annotations

import argparse
import io
import json
import logging
import shutil
import zipfile
from datetime import date

import pytest

from assistant import Principal
from assistant.db import AuditEvent
from assistant.letters import (
    FourEyesViolation,
    LetterConflict,
    LetterService,
    LetterStateError,
    LetterValidationError,
    TemplateRegistry,
    TemplateUnavailable,
)
from assistant.letters.calendar import deadline, format_date
from assistant.letters.prefill import CASE_TYPE_BY_PROCEDURE, request_rule
from assistant.letters.templates import TEMPLATES_DIR
from connectors.efile.double.generator import generate_cases
from connectors.efile.procedures import by_code
from tests.conftest import demo_kb_copy

try:
    from tests.integration.efile_fixtures import DoubleProcess, make_client
except ImportError:  # pragma: no cover - depends on how pytest puts tests on sys.path
    from efile_fixtures import DoubleProcess, make_client  # type: ignore

SEED, N_CASES = 3, 20
ANNA = Principal("anna", "Anna Beispiel")
BERND = Principal("bernd", "Bernd Prüfer")
TODAY = date(2026, 5, 21)  # Thursday; + 14 days = Fronleichnam 4 June -> Friday 5 June 2026
FRIST = "05.06.2026"

USER_VALUES = {
    "betrag": "12.500,00 EUR", "zeitraum_von": "01.01.2027", "zeitraum_bis": "31.12.2027",
    "zweck": "Projekt „Nachbarschaftstreff“ – Personal- & Sachkosten", "verwendungsnachweis_bis": "30.06.2028",
    "bezugsschreiben_datum": "02.03.2026", "voraussichtlich_bis": "30.07.2026",
    "zustaendiger_traeger": {"name": "Landratsamt Fürstenfeldbruck, Sozialamt", "strasse": "Münchner Straße 32",
                             "plz_ort": "82256 Fürstenfeldbruck"},
    "grund_verzoegerung": "Wir warten noch auf eine Stellungnahme der Deutschen Rentenversicherung.",
    "beabsichtigte_entscheidung": "Wir beabsichtigen, die Bewilligung ab dem 01.02.2026 aufzuheben (§ 48 SGB X).",
    "sachverhalt": "Seit dem 01.02.2026 erhalten Sie eine höhere Rente.\nDies haben Sie uns am 10.03.2026 mitgeteilt.",
    "unterlagen": ["Kontoauszüge der letzten drei Monate"],
}


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated():
    cases, _planted = generate_cases(N_CASES, SEED)
    return cases


@pytest.fixture(scope="module")
def double(tmp_path_factory, generated):
    d = DoubleProcess.with_cases(tmp_path_factory.mktemp("efile-letters"), generated)
    yield d
    d.stop()


@pytest.fixture(scope="module")
def demo_kb(tmp_path_factory, demo_index, embedder):
    # module-scoped: a private copy of the session's demo index (indexed once per session)
    return demo_kb_copy(demo_index, tmp_path_factory.mktemp("kb"), embedder)


@pytest.fixture(autouse=True)
def _no_faults(request):
    if "double" in request.fixturenames:
        request.getfixturevalue("double").clear_faults()


@pytest.fixture
def efile(double):
    c = make_client(double.base_url, timeout=15.0, retries=1)
    yield c
    c.close()


@pytest.fixture
def service(tmp_path, efile, demo_kb):
    return LetterService(f"sqlite:///{tmp_path / 'letters.db'}", efile, demo_kb, today=lambda: TODAY)


# -- helpers ---------------------------------------------------------------------------------

def _case_type(spec) -> str:
    return CASE_TYPE_BY_PROCEDURE[by_code(spec["procedure_type"]).name]


def _active(generated):
    return [c for c in generated if c.get("state") != "Storniert"]


def _antrag(spec) -> dict:
    for proc in spec["procedures"]:
        for doc in proc["documents"]:
            for f in doc["files"]:
                if f["name"] == "antrag.json":
                    return f["json"]
    raise AssertionError("no antrag.json")


def _recipient_name(spec) -> str:
    a = _antrag(spec)
    if spec["procedure_type"] == "ZUS":
        return a["traeger"]["name"]
    return f"{a['vorname']} {a['nachname']}"


def _texts(data: bytes) -> tuple[str, str]:
    """(visible text incl. tables and headers, raw XML of all parts)."""
    import docx

    d = docx.Document(io.BytesIO(data))
    out = []

    def walk(container):
        for p in container.paragraphs:
            out.append(p.text)
        for t in getattr(container, "tables", []):
            for row in t.rows:
                for cell in row.cells:
                    walk(cell)

    walk(d)
    for s in d.sections:
        for hf in (s.header, s.first_page_header, s.footer, s.first_page_footer):
            walk(hf)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    return "\n".join(out), xml


def _fill(service: LetterService, principal: Principal, view: dict) -> dict:
    """Fill the user fields with sample values and accept every proposal (as a caseworker would)."""
    def empty(v):  # an address or organisation comes with its parts empty
        return not v or (isinstance(v, dict) and not any(str(x).strip() for x in v.values()))

    values = {k: v for k, v in USER_VALUES.items() if k in view["fields"] and empty(view["fields"][k])}
    for name, blocks in (view.get("bausteine") or {}).items():  # the first reason block, facts from its examples
        if blocks and not view["fields"][name]:
            values[name] = [{"baustein": blocks[0]["id"],
                             "tatsachen": {f["name"]: f["beispiel"] or "01.01.2026" for f in blocks[0]["tatsachen"]}}]
    if values:
        view = service.save(principal, view["id"], values, view["version"])
    for name in list(view["open_proposals"]):
        value = None if view["fields"][name] else (["Nachweis über das Einkommen"] if isinstance(
            view["fields"][name], list) else "Bitte Begründung ergänzen.")
        view = service.accept_proposal(principal, view["id"], name, view["version"], value)
    return view


def _pick(generated, case_types, n=0, two_procedures=False):
    found = [c for c in _active(generated) if _case_type(c) in case_types
             and (not two_procedures or len(c["procedures"]) > 1)]
    assert found, f"no generated case for {case_types}"
    return found[n % len(found)]


# -- tests -----------------------------------------------------------------------------------

def test_every_shipped_template_renders_with_a_real_case(service, generated, caplog):
    registry = service.templates
    assert not registry.problems, registry.problems
    assert len(registry.names()) == 8
    caplog.set_level(logging.DEBUG)
    for n, name in enumerate(registry.names()):
        tpl = registry.get(name)
        spec = _pick(generated, tpl.case_types, n)
        view = service.create_draft(ANNA, spec["objname"], name)
        assert view["state"] == "draft" and view["version"] == 1
        assert view["case_coo"] == spec["coo"] and view["aktenzeichen"] == spec["objname"]
        for field in (f for f in tpl.fields if f.source == "generated"):
            p = view["proposals"][field.name]
            assert p["proposal"] is True
            assert p["sources"], f"{name}.{field.name}: no source for the proposal"
            assert all({"source", "title", "section", "chunk_id"} <= set(s) for s in p["sources"])
        view = _fill(service, ANNA, view)
        assert view["open_proposals"] == [] and view["missing"] == [], (name, view["missing"])
        text, xml = _texts(service.render_docx(view["id"]))
        for tag in ("{{", "{%", "}}", "%}"):
            assert tag not in text and tag not in xml, (name, tag)
        assert _recipient_name(spec) in text, name
        assert spec["objname"] in text, name
        assert format_date(TODAY) in text  # datum
        if tpl.field("frist"):
            days = 14
            if tpl.field("nachforderung"):  # the office's rule: first request / repeated request
                rule = request_rule(_case_type(spec))
                days = rule.later_days if view["fields"]["nachforderung"] else rule.first_days
            assert view["fields"]["frist"] == format_date(deadline(f"workdays:{days}", TODAY)), name
            assert view["fields"]["frist"] in text, name
        if tpl.field("briefanrede"):
            assert view["fields"]["briefanrede"] in text
        if tpl.legal_basis:
            assert "§ " in text or "Art. " in text, name
        for field, p in view["proposals"].items():
            if p.get("legal_references") and isinstance(view["fields"][field], str):
                assert any(r in text for r in p["legal_references"]), (name, field)
        if name == "ablehnung":
            expected = {"sgg": "innerhalb eines Monats nach Bekanntgabe Widerspruch",
                        "vwgo_wahl": "entweder Widerspruch eingelegt oder unmittelbar Klage",
                        "vwgo_klage": "Ein Widerspruchsverfahren findet nicht statt"}[view["fields"]["rechtsweg"]]
            assert expected in text and "FEHLT" not in text
    # personal data of the case never reaches the log
    for spec in _active(generated):
        assert _recipient_name(spec) not in caplog.text
        assert _antrag(spec)["iban"] not in caplog.text


def test_rechtsweg_per_procedure(service, generated):
    expected = {"grundsicherung": "sgg", "hilfe_zur_pflege": "sgg", "bildung_teilhabe": "sgg",
                "wohngeld": "vwgo_wahl", "unterhaltsvorschuss": "vwgo_wahl", "zuschuss": "vwgo_klage"}
    seen = set()
    for spec in _active(generated):
        ct = _case_type(spec)
        if ct in seen:
            continue
        seen.add(ct)
        view = service.create_draft(ANNA, spec["objname"], "ablehnung")
        assert view["fields"]["rechtsweg"] == expected[ct], ct
    assert len(seen) >= 5


def test_template_must_fit_the_procedure(service, generated):
    spec = _pick(generated, {"wohngeld"})
    with pytest.raises(LetterValidationError, match="passt nicht zum Verfahren"):
        service.create_draft(ANNA, spec["objname"], "bewilligung_zuschuss")
    with pytest.raises(TemplateUnavailable, match="gibt es nicht"):
        service.create_draft(ANNA, spec["objname"], "gibt_es_nicht")


def test_full_flow_draft_edit_submit_approve_file(service, efile, generated, tmp_path):
    spec = _pick(generated, {"wohngeld"}, two_procedures=True)
    open_proc = [p for p in spec["procedures"] if p.get("state") != "Abgeschlossen"][-1]["coo"]
    view = service.create_draft(ANNA, spec["objname"], "ablehnung")
    assert view["procedure_coo"] == open_proc  # filed into the open Vorgang, not the closed one
    assert view["open_proposals"] == []  # reasons are blocks to pick, not proposals to adopt
    with pytest.raises(LetterValidationError, match="§ 35 SGB X"):
        service.submit(ANNA, view["id"])
    edited = "Ihr Einkommen übersteigt die Grenze nach § 4 WoGG & Anlage 1 WoGG.\nDer Antrag ist abzulehnen."
    block = {"baustein": "WG-AB-UNTER-10-EUR", "tatsachen": {"haushalt": "zwei", "einkommen": "2.430,00 EUR",
                                                           "miete": "780,00 EUR", "ergebnis": "4,00 EUR"}}
    view = service.save(ANNA, view["id"], {"gruende": [block], "begruendung": edited}, view["version"])
    assert view["version"] == 2 and view["fields"]["gruende"][0]["offen"] == []
    view = service.submit(ANNA, view["id"], expected_version=2)
    assert view["state"] == "submitted"
    with pytest.raises(LetterStateError):
        service.save(ANNA, view["id"], {"begruendung": "zu spät"}, 2)
    queue = service.review_queue(BERND)
    assert [q["id"] for q in queue] == [view["id"]] and queue[0]["may_approve"]
    assert not service.review_queue(ANNA)[0]["may_approve"]
    view = service.approve(BERND, view["id"], expected_version=2, comment="Geprüft.")
    assert view["state"] == "approved" and view["approver"] == {"id": "bernd", "name": "Bernd Prüfer"}
    before = efile.list_documents(open_proc)
    view = service.file(BERND, view["id"])
    assert view["state"] == "filed"
    receipt = view["filing"]
    assert receipt["objid"].startswith("COO.") and spec["objname"] in receipt["objname"]
    assert receipt["idempotency_key"] == f"{view['id']}-v2"
    docs = efile.list_documents(open_proc)
    assert len(docs) == len(before) + 1
    filed = next(d for d in docs if d.coo == receipt["objid"])
    assert filed.kind == "Erledigung" and filed.name.startswith("Ablehnungsbescheid")
    [content] = efile.read_document(filed.coo)
    assert content.file_name.endswith(".docx")
    text, _ = _texts(content.content)
    assert "§ 4 WoGG & Anlage 1 WoGG" in text and _recipient_name(spec) in text
    # filing again changes nothing
    assert service.file(BERND, view["id"])["filing"]["objid"] == receipt["objid"]
    assert len(efile.list_documents(open_proc)) == len(before) + 1
    # every step audited, without letter text or personal data
    with service.Session() as s:
        events = s.query(AuditEvent).filter(AuditEvent.object_id == view["id"]).all()
    actions = [(e.action, e.outcome) for e in events]
    assert ("letter_draft", "created") in actions and ("letter_file", "filed") in actions
    assert ("letter_approve", "approved") in actions
    dump = json.dumps([[e.user_id, e.action, e.object_id, e.outcome] for e in events], ensure_ascii=False)
    assert _recipient_name(spec) not in dump and "WoGG" not in dump
    versions = service.versions(ANNA, view["id"])
    assert [v["version"] for v in versions if v["adopted"]] == [1, 2]
    assert versions[-1]["kind"] == "rejected_state" and versions[-1]["fields"]["begruendung"] == "zu spät"


def test_four_eyes(service, generated):
    spec = _pick(generated, {"hilfe_zur_pflege", "grundsicherung"})
    view = _fill(service, ANNA, service.create_draft(ANNA, spec["objname"], "anhoerung"))
    service.submit(ANNA, view["id"])
    with pytest.raises(FourEyesViolation) as err:
        service.approve(ANNA, view["id"])
    assert "Vier-Augen-Prinzip" in err.value.message and "Anna Beispiel" in err.value.message
    assert service.get(ANNA, view["id"])["state"] == "submitted"
    view = service.return_with_comment(BERND, view["id"], "Bitte den Sachverhalt genauer schildern.")
    assert view["state"] == "returned" and view["comments"][-1]["text"].startswith("Bitte den Sachverhalt")
    view = service.save(ANNA, view["id"], {"sachverhalt": "Genauer Sachverhalt."}, view["version"])
    service.submit(ANNA, view["id"])
    assert service.approve(BERND, view["id"])["state"] == "approved"
    # without four eyes the author may release
    other = _fill(service, ANNA, service.create_draft(ANNA, spec["objname"], "eingangsbestaetigung"))
    service.submit(ANNA, other["id"])
    assert service.approve(ANNA, other["id"])["state"] == "approved"


def test_letters_only_for_the_departments_of_the_user(service, generated):
    """A Wohngeld case belongs to S-III: an S-I caseworker can neither draft for it nor see, review or
    open the letters drafted for it; the S-III caseworker and reviewer can."""
    from assistant.letters.errors import LetterNotFound

    s3 = Principal("s3", "Sachbearbeitung S-III", frozenset({"sachbearbeitung"}), ("S-III",))
    s3_review = Principal("p3", "Prüfung S-III", frozenset({"pruefung"}), ("S-III",))
    s1 = Principal("s1", "Sachbearbeitung S-I", frozenset({"sachbearbeitung", "pruefung"}), ("S-I",))
    spec = _pick(generated, {"wohngeld"})
    with pytest.raises(LetterNotFound) as err:
        service.create_draft(s1, spec["objname"], "eingangsbestaetigung")
    assert "Fachbereichen" in err.value.message
    view = _fill(service, s3, service.create_draft(s3, spec["objname"], "eingangsbestaetigung"))
    service.submit(s3, view["id"])
    assert view["id"] in [x["id"] for x in service.list_letters(s3)]
    assert view["id"] in [x["id"] for x in service.review_queue(s3_review)]
    assert view["id"] not in [x["id"] for x in service.list_letters(s1)]
    assert view["id"] not in [x["id"] for x in service.review_queue(s1)]
    for action in (lambda: service.get(s1, view["id"]), lambda: service.approve(s1, view["id"]),
                   lambda: service.versions(s1, view["id"]), lambda: service.render_docx(view["id"], s1)):
        with pytest.raises(LetterNotFound):
            action()
    assert service.approve(s3_review, view["id"])["state"] == "approved"


def test_optimistic_lock_conflict_keeps_both_versions(service, generated):
    spec = _pick(generated, {"wohngeld"})
    view = service.create_draft(ANNA, spec["objname"], "zwischennachricht")
    v1 = view["version"]
    service.save(ANNA, view["id"], {"grund_verzoegerung": "Annas Fassung"}, v1)
    with pytest.raises(LetterConflict) as err:
        service.save(BERND, view["id"], {"grund_verzoegerung": "Bernds Fassung", "voraussichtlich_bis": "2026-07-01"},
                     v1)
    msg = err.value.message
    assert "inzwischen von Anna Beispiel geändert" in msg and "nicht verloren" in msg
    assert err.value.current_version == 2
    current = service.get(ANNA, view["id"])
    assert current["version"] == 2 and current["fields"]["grund_verzoegerung"] == "Annas Fassung"
    versions = service.versions(ANNA, view["id"])
    kept = [v for v in versions if not v["adopted"]]
    assert len(kept) == 1 and kept[0]["kind"] == "conflict" and kept[0]["based_on"] == 1
    assert kept[0]["fields"]["grund_verzoegerung"] == "Bernds Fassung"
    assert kept[0]["fields"]["voraussichtlich_bis"] == "01.07.2026"
    assert kept[0]["user"]["id"] == "bernd" and kept[0]["seq"] == err.value.stored_as
    # Bernd reloads and saves on top of version 2
    assert service.save(BERND, view["id"], {"grund_verzoegerung": "Bernds Fassung"}, 2)["version"] == 3


def _approved(service, spec, template="eingangsbestaetigung"):
    view = _fill(service, ANNA, service.create_draft(ANNA, spec["objname"], template))
    service.submit(ANNA, view["id"])
    return service.approve(BERND, view["id"])


@pytest.mark.parametrize("fault", [
    {"drop_next": 1, "match": "POST /api/outgoings"},  # filed, but the answer is lost
    {"error_rate_500": 1.0},  # e-file down: nothing is filed
])
def test_efile_down_during_filing_then_retry_files_once(service, efile, double, generated, fault):
    spec = _pick(generated, {"grundsicherung", "bildung_teilhabe", "unterhaltsvorschuss"},
                 n=0 if "drop_next" in fault else 1)
    view = _approved(service, spec)
    proc = view["procedure_coo"]
    before = len(efile.list_documents(proc))
    double.set_faults(**fault)
    view = service.file(BERND, view["id"])
    assert view["state"] == "to_be_filed" and view["filing"]["error"]
    assert view["filing"]["objid"] is None
    double.clear_faults()
    results = service.retry_pending()
    assert [r["id"] for r in results] == [view["id"]] and results[0]["state"] == "filed"
    view = service.get(ANNA, view["id"])
    assert view["state"] == "filed" and view["filing"]["error"] is None
    docs = efile.list_documents(proc)
    assert len(docs) == before + 1  # exactly once, no duplicate
    assert sum(d.coo == view["filing"]["objid"] for d in docs) == 1
    assert service.retry_pending() == []
    with service.Session() as s:
        outcomes = [e.outcome for e in s.query(AuditEvent).filter(AuditEvent.object_id == view["id"],
                                                                   AuditEvent.action == "letter_file")]
    assert outcomes[0] == "deferred" and outcomes[-1] in ("filed", "already_filed")


def test_efile_process_stopped_then_retry(tmp_path, efile_double_factory_local, demo_kb, generated):
    d = efile_double_factory_local()
    client = make_client(d.base_url, timeout=1.0, retries=0)
    svc = LetterService(f"sqlite:///{tmp_path / 'l.db'}", client, demo_kb, today=lambda: TODAY)
    spec = _pick(generated, {"wohngeld"})
    view = _approved(svc, spec)
    d.stop()
    view = svc.file(BERND, view["id"])
    assert view["state"] == "to_be_filed" and "nicht erreichbar" in view["filing"]["error"]
    assert svc.retry_pending()[0]["state"] == "to_be_filed"  # still down: keeps waiting
    d2 = DoubleProcess(d.db, d.extra_args)
    d2.start()
    try:
        client2 = make_client(d2.base_url)
        svc.efile = client2
        assert svc.retry_pending()[0]["state"] == "filed"
        docs = client2.list_documents(view["procedure_coo"])
        assert sum(x.coo == svc.get(ANNA, view["id"])["filing"]["objid"] for x in docs) == 1
        client2.close()
    finally:
        d2.stop()
        client.close()


@pytest.fixture
def efile_double_factory_local(tmp_path, generated):
    started = []

    def start():
        cases = tmp_path / "cases.json"
        cases.write_text(json.dumps({"cases": generated}, ensure_ascii=False), encoding="utf-8")
        d = DoubleProcess(tmp_path / "own.sqlite3", ["--cases", str(cases)]).start()
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


def test_broken_templates_are_reported_and_the_rest_work(tmp_path, efile, demo_kb, generated):
    folder = tmp_path / "vorlagen"
    shutil.copytree(TEMPLATES_DIR, folder)
    (folder / "erinnerung.docx").write_bytes(b"PK\x03\x04 kaputt")  # damaged Word file
    src = folder / "zwischennachricht.docx"  # unknown placeholder
    with zipfile.ZipFile(src) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["word/document.xml"].decode("utf-8")
    assert "{{ briefanrede }}" in xml
    parts["word/document.xml"] = xml.replace("{{ briefanrede }}", "{{ briefanrede }} {{ geheimes_feld }}", 1).encode()
    with zipfile.ZipFile(src, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    sidecar = folder / "weiterleitung.yaml"  # invalid sidecar field
    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace("source: user", "source: erfunden"),
                       encoding="utf-8")
    (folder / "ohne_beschreibung.docx").write_bytes((TEMPLATES_DIR / "erinnerung.docx").read_bytes())

    registry = TemplateRegistry(folder)
    broken = registry.broken()
    assert set(broken) == {"erinnerung", "zwischennachricht", "weiterleitung", "ohne_beschreibung"}
    assert "beschädigt" in broken["erinnerung"][0].message
    assert "geheimes_feld" in broken["zwischennachricht"][0].message
    assert "nicht beschrieben" in broken["zwischennachricht"][0].message
    assert "ungültige Herkunft" in broken["weiterleitung"][0].message
    assert "erfunden" in broken["weiterleitung"][0].message
    assert "fehlt die Beschreibungsdatei" in broken["ohne_beschreibung"][0].message
    assert registry.names() == ["ablehnung", "anforderung_unterlagen", "anhoerung", "bewilligung_zuschuss",
                                "eingangsbestaetigung"]
    listing = registry.listing()
    assert len(listing["templates"]) == 5 and len(listing["problems"]) >= 4

    svc = LetterService(f"sqlite:///{tmp_path / 'l.db'}", efile, demo_kb, templates=registry, today=lambda: TODAY)
    spec = _pick(generated, {"wohngeld"})
    with pytest.raises(TemplateUnavailable, match="fehlerhaft"):
        svc.create_draft(ANNA, spec["objname"], "erinnerung")
    view = _fill(svc, ANNA, svc.create_draft(ANNA, spec["objname"], "anforderung_unterlagen"))
    text, _ = _texts(svc.render_docx(view["id"]))
    assert view["fields"]["frist"] in text and spec["objname"] in text


def test_rest_api(service, generated):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from web_ui.errors import install as install_errors
    from web_ui import letters_api
    from web_ui.services import Services, get_principal

    who = {"p": ANNA}
    app = FastAPI()
    install_errors(app)  # the statuses of business errors (web_ui.errors), as create_app installs them
    app.state.services = Services(letters=service)
    app.include_router(letters_api.router)
    for dep in (get_principal, letters_api.author, letters_api.reviewer, letters_api.staff):  # no role checks here
        app.dependency_overrides[dep] = lambda: who["p"]
    c = TestClient(app)
    spec = _pick(generated, {"unterhaltsvorschuss"})
    r = c.get("/api/letters/templates")
    assert r.status_code == 200 and len(r.json()["templates"]) == 8 and r.json()["problems"] == []
    r = c.post("/api/letters", json={"aktenzeichen": spec["objname"], "template": "erinnerung",
                                     "fields": {"bezugsschreiben_datum": "02.03.2026"}})
    assert r.status_code == 201, r.text
    letter = r.json()
    assert letter["version"] == 2 and letter["fields"]["frist"] == FRIST
    lid = letter["id"]
    r = c.put(f"/api/letters/{lid}", json={"fields": {"unterlagen": ["Geburtsurkunde"]}, "expected_version": 2})
    assert r.status_code == 200 and r.json()["version"] == 3
    r = c.put(f"/api/letters/{lid}", json={"fields": {"unterlagen": ["Anderes"]}, "expected_version": 2})
    assert r.status_code == 409 and "inzwischen" in r.json()["detail"]
    r = c.put(f"/api/letters/{lid}", json={"fields": {"erfunden": "x"}, "expected_version": 3})
    assert r.status_code == 422 and "Unbekannte Felder" in r.json()["detail"]
    r = c.get(f"/api/letters/{lid}/docx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    assert "attachment" in r.headers["content-disposition"]
    text, _ = _texts(r.content)
    assert "Geburtsurkunde" in text and FRIST in text
    assert c.post(f"/api/letters/{lid}/submit", json={"expected_version": 3}).status_code == 200
    assert [q["id"] for q in c.get("/api/letters/review-queue").json()] == [lid]
    r = c.post(f"/api/letters/{lid}/return", json={"comment": ""})
    assert r.status_code == 422
    assert c.post(f"/api/letters/{lid}/approve", json={}).json()["state"] == "approved"  # no four eyes
    r = c.post(f"/api/letters/{lid}/file")
    assert r.status_code == 200 and r.json()["state"] == "filed" and r.json()["filing"]["objid"]
    assert len(c.get(f"/api/letters/{lid}/versions").json()) == 4
    assert c.get("/api/letters/ffff").status_code == 404
    r = c.post("/api/letters", json={"aktenzeichen": "S-III-WG/1999/000000", "template": "erinnerung"})
    # one message for unknown and foreign cases (existence is not revealed)
    assert r.status_code == 404 and r.json()["detail"] == "Diese Akte gibt es nicht oder sie gehört nicht zu Ihren Fachbereichen."
    r = c.post(f"/api/letters/{lid}/plain-language", json={"field": "unterlagen"})
    assert r.status_code == 200 and r.json()["available"] is False
    assert "nicht verfügbar ohne Sprachmodell" in r.json()["message"]
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        r = c.get(f"/api/letters/{lid}/pdf")
        assert r.status_code == 501 and "nicht verfügbar" in r.json()["detail"]
    schema = app.openapi()
    assert "/api/letters/{letter_id}/approve" in schema["paths"]
    assert schema["paths"]["/api/letters/{letter_id}"]["put"]["summary"]


def test_cli_templates_and_draft(double, generated, tmp_path, monkeypatch, capsys):
    from lotse.letter_commands import register
    from lotse.settings import load_settings

    parser = argparse.ArgumentParser(prog="lotse")
    register(parser.add_subparsers(dest="command", required=True))
    settings = load_settings()
    args = parser.parse_args(["letter", "templates", "--json"])
    assert args.func(args, settings) == 0
    assert len(json.loads(capsys.readouterr().out)["templates"]) == 8

    assert settings.efile_config().kind == "none"
    monkeypatch.setenv("LOTSE_EFILE_URL", double.base_url)
    monkeypatch.setenv("LOTSE_EFILE_USER", "lotse-tech")
    monkeypatch.setenv("LOTSE_EFILE_PASSWORD", "lotse-secret")
    settings = load_settings()
    cfg = settings.efile_config()
    assert cfg.kind == "eakte_rest" and cfg.password.get_secret_value() == "lotse-secret"
    spec = _pick(generated, {"wohngeld"})
    out = tmp_path / "brief.docx"
    args = parser.parse_args(["letter", "draft", "--case", spec["objname"], "--template", "zwischennachricht",
                              "--out", str(out), "--no-proposals", "--json",
                              "--field", "grund_verzoegerung=Wir warten auf Unterlagen.\\nZweiter Absatz.",
                              "--field", "voraussichtlich_bis=2026-09-30"])
    assert args.func(args, settings) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["missing"] == [] and result["version"] == 2
    text, _ = _texts(out.read_bytes())
    assert "30.09.2026" in text and "Zweiter Absatz." in text and _recipient_name(spec) in text
