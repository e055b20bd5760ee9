"""Contract tests: the eakte_rest client against the e-file double running as a real process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from connectors.efile.double.generator import generate_cases
from connectors.efile.errors import EFileAuthError, EFileRefused, NotFound, SourceUnavailable
from connectors.efile.procedures import by_code
from connectors.efile.protocol import EFileConnector

try:
    from tests.integration.efile_fixtures import READ_USER, TECH_USER, DoubleProcess, efile_double_factory, make_client
except ImportError:  # pragma: no cover - depends on how pytest puts tests on sys.path
    from efile_fixtures import READ_USER, TECH_USER, DoubleProcess, efile_double_factory, make_client  # type: ignore

__all__ = ["efile_double_factory"]  # re-exported fixture

SEED, N_CASES = 7, 25
P = "COO.1.2301.1."
EXTRA_CASES = [
    {
        "coo": P + "5000001", "objname": "S-III-WG/2026/999001", "shortname": "Wohngeld Testfall, Erika",
        "filesubj": "Wohngeld für Erika Testfall, geb. 01.02.1970", "objterms": "Wohngeld; Testfall",
        "procedure_type": "WG", "fileouobj": "COO.1.2300.1.847",
        "fileruntimefrom": "2026-01-05T09:00:00+01:00",
        "procedures": [
            {"coo": P + "5000010", "shortname": "Erstantrag Wohngeld 2026", "documents": [
                {"coo": P + "5000011", "kind": "Eingang", "shortname": "Antrag Wohngeld Testfall",
                 "date": "2026-01-05T09:00:00", "files": [
                     {"coo": P + "5000012", "name": "antrag.json", "json": {"vorname": "Erika", "nachname": "Testfall"}},
                     {"coo": P + "5000013", "name": "scan.pdf", "base64": "JVBERi0xLjQKJcTl8uXr"}]},
                {"coo": P + "5000014", "kind": "Eingang", "shortname": "Doppelt erfasst", "state": "Storniert",
                 "files": [{"coo": P + "5000015", "name": "doppelt.txt", "text": "doppelt"}]}]},
            {"coo": P + "5000020", "shortname": "Altverfahren 2025", "state": "Abgeschlossen", "documents": []},
            {"coo": P + "5000030", "shortname": "Fehlerhaft angelegt", "state": "Storniert", "documents": []},
        ],
    },
    {"coo": P + "5000100", "objname": "S-III-WG/2026/999002", "shortname": "Storniert", "procedure_type": "WG",
     "state": "Storniert", "procedures": [{"coo": P + "5000101", "shortname": "weg", "documents": []}]},
]
ACTIVE_PROC, CLOSED_PROC, CANCELLED_PROC = P + "5000010", P + "5000020", P + "5000030"
CANCELLED_CASE, CANCELLED_DOC = P + "5000100", P + "5000014"


@pytest.fixture(scope="module")
def generated():
    return generate_cases(N_CASES, SEED)


@pytest.fixture(scope="module")
def double(tmp_path_factory, generated) -> DoubleProcess:
    tmp = tmp_path_factory.mktemp("efile")
    cases_file = tmp / "cases.json"
    cases_file.write_text(json.dumps({"cases": generated[0] + EXTRA_CASES}, ensure_ascii=False), encoding="utf-8")
    d = DoubleProcess(tmp / "eakte.sqlite3", ["--cases", str(cases_file)]).start()
    yield d
    d.stop()


@pytest.fixture(autouse=True)
def _no_faults(request):
    if "double" in request.fixturenames:
        d = request.getfixturevalue("double")
        d.clear_faults()
        d.reset_stats()


@pytest.fixture
def client(double):
    c = make_client(double.base_url)
    yield c
    c.close()


def _active_case(generated):
    return next(c for c in generated[0] if c.get("state") != "Storniert")


def test_client_implements_protocol(client):
    assert isinstance(client, EFileConnector)


def test_read_case(client, generated):
    spec = _active_case(generated)
    case = client.get_case(spec["coo"])
    assert case.aktenzeichen == spec["objname"]
    assert case.title == spec["shortname"]
    assert case.subject == spec["filesubj"]
    assert case.procedure_type == by_code(spec["procedure_type"]).name
    assert case.org_unit == spec["fileouobj"]
    assert case.apentry.startswith("COO.")
    assert case.runtime_from is not None and case.runtime_from.utcoffset() is not None
    expected = [p["coo"] for p in spec["procedures"] if p.get("state") != "Storniert"]
    assert [p.coo for p in case.procedures] == expected


def test_procedure_type_from_apentry(client):
    case = client.get_case(P + "5000001")
    assert case.procedure_type == "Wohngeld"
    assert case.keywords == ("Wohngeld", "Testfall")
    assert [p.coo for p in case.procedures] == [ACTIVE_PROC, CLOSED_PROC]  # cancelled one is filtered


def test_search_by_aktenzeichen_apentry_subject(client, generated):
    spec = _active_case(generated)
    hits = client.search_cases(aktenzeichen=spec["objname"])
    assert [h.coo for h in hits] == [spec["coo"]]
    case = client.get_case(spec["coo"])
    same_type = client.search_cases(apentry=case.apentry)
    assert spec["coo"] in {h.coo for h in same_type}
    assert all(client.get_case(h.coo).procedure_type == case.procedure_type for h in same_type[:3])
    assert [h.coo for h in client.search_cases(subject="Erika Testfall")] == [P + "5000001"]
    assert client.search_cases(aktenzeichen="S-III-WG/1999/000000") == []


def test_list_documents_and_read_contents(client, generated):
    spec = _active_case(generated)
    proc_spec = spec["procedures"][0]
    proc = client.get_procedure(proc_spec["coo"])
    assert proc.case_coo == spec["coo"]
    assert proc.remark == proc_spec["procremark"]
    docs = client.list_documents(proc.coo)
    visible = [d for d in proc_spec["documents"] if d.get("state") != "Storniert"]
    assert [d.coo for d in docs] == [d["coo"] for d in visible]
    assert docs[0].kind == "Eingang" and docs[0].name.startswith("Antrag")
    assert {d.kind for d in docs} <= {"Eingang", "Erledigung"}
    files = client.read_document(docs[0].coo)
    antrag = next(f for f in files if f.file_name == "antrag.json")
    assert antrag.mime_type == "application/json"
    data = json.loads(antrag.content)
    for key in ("anrede", "vorname", "nachname", "geburtsdatum", "strasse", "hausnummer", "plz", "ort",
                "iban", "telefon", "email", "steuer_id", "sozialversicherungsnummer"):
        assert data[key], key
    assert data == visible[0]["files"][0]["json"]


def test_binary_content_roundtrip(client):
    files = client.read_document(P + "5000011")
    pdf = next(f for f in files if f.extension == "pdf")
    assert pdf.content.startswith(b"%PDF-1.4") and pdf.mime_type == "application/pdf"


def test_cancelled_objects_never_returned(client):
    with pytest.raises(NotFound) as err:
        client.get_case(CANCELLED_CASE)
    assert "nicht gefunden" in err.value.message
    assert client.search_cases(aktenzeichen="S-III-WG/2026/999002") == []
    assert CANCELLED_DOC not in {d.coo for d in client.list_documents(ACTIVE_PROC)}
    with pytest.raises(NotFound):
        client.read_document(CANCELLED_DOC)
    with pytest.raises(NotFound):
        client.read_content(P + "5000015")  # Schriftstück inside a cancelled Dokument
    with pytest.raises(NotFound):
        client.get_procedure(CANCELLED_PROC)


def test_file_outgoing_appears_in_case(client):
    content = "Sehr geehrte Frau Testfall,\n…\n".encode()
    receipt = client.file_outgoing(ACTIVE_PROC, "Anforderung Unterlagen", "Fehlende Nachweise",
                                   "Anforderung_Müller.txt", content, "key-appears-1")
    assert receipt.objid.startswith("COO.") and not receipt.already_filed
    assert "S-III-WG/2026/999001-0001" in receipt.objname
    docs = client.list_documents(ACTIVE_PROC)
    filed = next(d for d in docs if d.coo == receipt.objid)
    assert filed.kind == "Erledigung" and filed.created_at is not None
    assert receipt.objid in {d.coo for d in client.get_procedure(ACTIVE_PROC).documents}
    [f] = client.read_document(receipt.objid)
    assert f.file_name == "Anforderung_Müller.txt" and f.content == content and f.mime_type == "text/plain"


def test_idempotent_refiling(client):
    args = (ACTIVE_PROC, "Bescheid", "Bewilligung", "bescheid.txt", b"Bescheid", "key-idem-1")
    first = client.file_outgoing(*args)
    second = client.file_outgoing(*args)
    assert second.objid == first.objid and second.already_filed and second.objname == first.objname
    assert sum(d.coo == first.objid for d in client.list_documents(ACTIVE_PROC)) == 1
    other = client.file_outgoing(*args[:-1], "key-idem-2")
    assert other.objid != first.objid


def test_lost_response_then_retry_files_once(client, double):
    before = len(client.list_documents(ACTIVE_PROC))
    double.set_faults(drop_next=1, match="POST /api/outgoings")
    with pytest.raises(SourceUnavailable) as err:
        client.file_outgoing(ACTIVE_PROC, "Schreiben", "Betreff", "brief.txt", b"x", "key-lost-1")
    assert "erneuter Versuch" in err.value.message
    assert double.requests("POST /api/outgoings") == 1  # filing POSTs are never retried
    again = client.file_outgoing(ACTIVE_PROC, "Schreiben", "Betreff", "brief.txt", b"x", "key-lost-1")
    assert again.already_filed
    assert len(client.list_documents(ACTIVE_PROC)) == before + 1


def test_wrong_password_is_401(double):
    with make_client(double.base_url, user=("lotse-tech", "falsch")) as c:
        with pytest.raises(EFileAuthError) as err:
            c.get_case(P + "5000001")
    assert err.value.status_code == 401 and "technischen Nutzer" in err.value.message
    assert double.requests("GET /api/files") == 1  # no retry on 401


def test_read_only_user_may_read_but_not_file(double):
    with make_client(double.base_url, user=READ_USER) as c:
        assert c.get_case(P + "5000001").aktenzeichen == "S-III-WG/2026/999001"
        with pytest.raises(EFileAuthError) as err:
            c.file_outgoing(ACTIVE_PROC, "t", "s", "a.txt", b"x", "key-ro-1")
    assert err.value.status_code == 403 and "Berechtigung" in err.value.message


@pytest.mark.parametrize("proc, words", [
    (P + "9999999", "existiert nicht"), (CANCELLED_PROC, "storniert"), (CLOSED_PROC, "abgeschlossen")])
def test_dms_refuses_filing(client, double, proc, words):
    with pytest.raises(EFileRefused) as err:
        client.file_outgoing(proc, "t", "s", "a.txt", b"x", "key-refused")
    assert err.value.source == "DMS" and words in err.value.message
    assert "abgelehnt" in err.value.message


def test_internal_error_500_mapped(client, double):
    double.set_faults(error_rate_500=1.0)
    with pytest.raises(SourceUnavailable) as err:
        client.get_case(P + "5000001")
    assert "internen Fehler" in err.value.message
    assert double.requests("GET /api/files") == 3  # 1 + 2 retries


def test_get_retries_transient_500(client, double):
    double.set_faults(fail_next_500=2, match="GET /api/files")
    assert client.get_case(P + "5000001").aktenzeichen == "S-III-WG/2026/999001"
    assert double.requests("GET /api/files") == 3


def test_search_post_is_retried(client, double):
    double.set_faults(fail_next_500=1, match="POST /api/files")
    assert client.search_cases(aktenzeichen="S-III-WG/2026/999001")
    assert double.requests("POST /api/files") == 2


def test_no_retry_on_filing_post(client, double):
    double.set_faults(fail_next_500=1, match="POST /api/outgoings")
    with pytest.raises(SourceUnavailable):
        client.file_outgoing(ACTIVE_PROC, "t", "s", "a.txt", b"x", "key-noretry-1")
    assert double.requests("POST /api/outgoings") == 1
    receipt = client.file_outgoing(ACTIVE_PROC, "t", "s", "a.txt", b"x", "key-noretry-1")
    assert not receipt.already_filed  # the 500 came before anything was filed


def test_latency_beyond_timeout(double):
    double.set_faults(latency_ms=1500)
    with make_client(double.base_url, timeout=0.3, retries=1) as c:
        start = time.monotonic()
        with pytest.raises(SourceUnavailable) as err:
            c.get_case(P + "5000001")
    assert "Zeitüberschreitung" in err.value.message
    assert time.monotonic() - start < 2.0


def test_fault_401_switch(client, double):
    double.set_faults(error_401=True)
    with pytest.raises(EFileAuthError):
        client.get_case(P + "5000001")
    double.clear_faults()
    assert client.get_case(P + "5000001")


def test_health(client, double):
    assert client.health().ok
    with make_client("http://127.0.0.1:9", timeout=0.5) as c:
        h = c.health()
    assert not h.ok and "nicht erreichbar" in h.message


def test_wire_format_of_outgoings(double):
    """The raw contract: multipart with a JSON part 'params', error bodies, unknown keywords dropped."""
    auth = httpx.BasicAuth(*TECH_USER)
    headers = {"userlogin": "max.mustermann", "x-anwendung": "Lotse"}
    url = f"{double.base_url}/api/outgoings"
    r = httpx.post(url, auth=auth, headers=headers, files=[("giattachmenttype", ("a.txt", b"x", "text/plain"))])
    assert r.status_code == 400 and r.json()["fehlerQuelle"] == "INTERN" and "params" in r.json()["text"]
    params = {"referrednumber": ACTIVE_PROC, "shortname": "Roh", "objterms": "Wohngeld; unbekannt",
              "outgoingdate": "2026-03-02T10:00:00+01:00"}
    r = httpx.post(url, auth=auth, headers=headers, files=[
        ("params", (None, json.dumps(params).encode(), "application/json")),
        ("giattachmenttype", ("eins.txt", b"1", "text/plain")), ("anhang", ("zwei.pdf", b"%PDF", "application/pdf"))])
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"objid", "objname", "giobjecttype"} and len(body["giobjecttype"]) == 2
    assert set(body["giobjecttype"][0]) == {"objname", "objaddress"}
    out = httpx.get(f"{double.base_url}/api/outgoings/{body['objid']}", auth=auth, headers=headers).json()
    assert out["objterms"] == "Wohngeld" and out["outgoingdate"] == "2026-03-02T10:00:00+01:00"
    assert out["referrednumber"] == ACTIVE_PROC and len(out["gimetadatatype"]) == 2
    r = httpx.get(f"{double.base_url}/api/files/{P}5000001", auth=auth)  # no userlogin header
    assert r.status_code == 400 and r.json()["fehlerQuelle"] == "DMS"
    r = httpx.get(f"{double.base_url}/api/files/{P}5000001", headers=headers)
    assert r.status_code == 401 and r.text == "Falscher oder fehlender technischer Nutzer."


def test_restart_keeps_filed_documents(efile_double_factory, tmp_path: Path):
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps({"cases": EXTRA_CASES}), encoding="utf-8")
    db = tmp_path / "restart.sqlite3"
    first = efile_double_factory(db, ["--cases", str(cases)])
    with make_client(first.base_url) as c:
        receipt = c.file_outgoing(ACTIVE_PROC, "Bleibt", "über Neustart", "bleibt.txt", b"bleibt", "key-restart")
    first.stop()
    second = efile_double_factory(db, ["--cases", str(cases)])  # cases are not loaded twice
    with make_client(second.base_url) as c:
        assert receipt.objid in {d.coo for d in c.list_documents(ACTIVE_PROC)}
        assert c.read_document(receipt.objid)[0].content == b"bleibt"
        again = c.file_outgoing(ACTIVE_PROC, "Bleibt", "über Neustart", "bleibt.txt", b"bleibt", "key-restart")
        assert again.objid == receipt.objid and again.already_filed
        assert len([d for d in c.list_documents(ACTIVE_PROC)]) == 2  # Antrag + the filed one


def test_registry_builds_client_or_none():
    from connectors.efile.config import EFileConfig
    from connectors.efile.registry import build_connector

    assert build_connector(EFileConfig()) is None
    client = build_connector(EFileConfig(kind="eakte_rest", url="http://127.0.0.1:9/api", user="u", password="p"))
    assert isinstance(client, EFileConnector)
    client.close()
    with pytest.raises(ValueError):
        EFileConfig(kind="eakte_rest", unknown=1)
