"""The letter workflow's guarantees under concurrency (issue 13), with real parts: the e-file double as a
separate HTTP process (answering with a few hundred ms latency, so the race window is open), the
letters REST API served by uvicorn on a real socket, requests sent in parallel from threads released
together by a barrier, SQLite (and PostgreSQL when ``LOTSE_TEST_POSTGRES_URL`` is set).

* four eyes: whoever wrote any adopted version of a four-eyes letter may not approve it;
* filing: N simultaneous ``POST /file`` -> exactly one document in the e-file, every answer the same
  receipt (or 409 "wird bereits abgelegt"), the e-file records the caseworker as author;
* a failure after the claim puts the letter back to "waiting", nothing lost, retried later;
* concurrent saves: one accepted, the others 409, every edit kept as a version, never a 500;
* background retry: a stopped e-file -> filed automatically, exactly once, after it comes back.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from datetime import date

import httpx
import pytest
import sqlalchemy as sa

from tests.pg import throwaway_database

from assistant import Principal
from assistant.db import AuditEvent
from assistant.letters import LetterService
from assistant.letters.prefill import CASE_TYPE_BY_PROCEDURE
from connectors.efile.double.generator import generate_cases
from connectors.efile.procedures import by_code

try:
    from tests.integration.efile_fixtures import TECH_USER, DoubleProcess, make_client
except ImportError:  # pragma: no cover - depends on how pytest puts tests on sys.path
    from efile_fixtures import TECH_USER, DoubleProcess, make_client  # type: ignore

# read at import: the autouse fixture in conftest.py removes every LOTSE_* variable before each test
PG_URL = os.environ.get("LOTSE_TEST_POSTGRES_URL")
TODAY = date(2026, 5, 21)
USERS = {
    "anna": Principal("anna", "Anna Beispiel", frozenset({"sachbearbeitung"})),
    "bernd": Principal("bernd", "Bernd Prüfer", frozenset({"sachbearbeitung", "pruefung"})),
    "carla": Principal("carla", "Carla Zweitprüferin", frozenset({"pruefung"})),
}
ANNA, BERND, CARLA = USERS["anna"], USERS["bernd"], USERS["carla"]
LATENCY_MS = 400  # the e-file double's answer time for filing POSTs during the races
SAMPLE = {"text": "Testangabe der Sachbearbeitung.", "date": "30.07.2026", "list": ["Kontoauszüge"]}


# -- fixtures --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated():
    cases, _planted = generate_cases(20, 3)
    return cases


@pytest.fixture(scope="module")
def cases_file(tmp_path_factory, generated):
    path = tmp_path_factory.mktemp("guarantees") / "cases.json"
    path.write_text(json.dumps({"cases": generated}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def double(tmp_path_factory, cases_file):
    d = DoubleProcess(tmp_path_factory.mktemp("efile") / "eakte.sqlite3", ["--cases", str(cases_file)]).start()
    yield d
    d.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'letters.db'}"
        return
    if not PG_URL:
        pytest.skip("LOTSE_TEST_POSTGRES_URL is not set (scripts/test.sh starts a PostgreSQL server)")
    with throwaway_database(PG_URL, "lotse_g") as url:
        yield url


@pytest.fixture
def efile(double):
    double.clear_faults()
    c = make_client(double.base_url, timeout=15.0, retries=1)
    yield c
    c.close()
    double.clear_faults()


@pytest.fixture
def service(db_url, efile):
    svc = LetterService(db_url, efile, None, today=lambda: TODAY)
    yield svc
    svc.stop_filing_retry()
    svc.engine.dispose()


class ApiServer:
    """The letters router in a uvicorn server on a real socket (in a thread); the acting person comes
    from the header ``X-Test-User`` (the real app takes it from the session)."""

    def __init__(self, service: LetterService, background_retry: bool = False):
        import uvicorn
        from fastapi import FastAPI, Header

        from web_ui.errors import install as install_errors
        from web_ui import letters_api
        from web_ui.services import Services, get_principal

        def principal(x_test_user: str = Header("anna")) -> Principal:
            return USERS[x_test_user]

        app = FastAPI()
        install_errors(app)  # the statuses of business errors (web_ui.errors), as create_app installs them
        app.state.services = Services(letters=service)
        app.include_router(letters_api.router)
        for dep in (get_principal, letters_api.author, letters_api.reviewer, letters_api.staff):  # no role checks
            app.dependency_overrides[dep] = principal
        if background_retry:
            letters_api.install_filing_retry(app)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

    def client(self, user: str = "anna") -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-Test-User": user}, timeout=120)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@pytest.fixture
def api(service):
    server = ApiServer(service)
    yield server
    server.stop()


# -- helpers -----------------------------------------------------------------------------------------

def _case(generated, n: int = 0, case_types=("wohngeld", "grundsicherung", "unterhaltsvorschuss")) -> dict:
    found = [c for c in generated if c.get("state") != "Storniert"
             and CASE_TYPE_BY_PROCEDURE[by_code(c["procedure_type"]).name] in case_types]
    return found[n % len(found)]


def _complete(service: LetterService, who: Principal, view: dict) -> dict:
    """Fill every required field still empty with a sample value and accept open proposals."""
    specs = {f["name"]: f for f in view["field_specs"]}
    values = {}
    for name in {m.split(".")[0] for m in view["missing"]}:
        kind = specs[name]["type"]
        values[name] = SAMPLE.get(kind, SAMPLE["text"]) if kind not in ("address", "organisation", "person") \
            else {"name": "Beispiel", "strasse": "Musterweg 1", "plz_ort": "80331 München"}
    if values:
        view = service.save(who, view["id"], values, view["version"])
    for name in list(view["open_proposals"]):
        view = service.accept_proposal(who, view["id"], name, view["version"],
                                       None if view["fields"][name] else SAMPLE["text"])
    assert view["missing"] == [] and view["open_proposals"] == [], view["missing"]
    return view


def _approved(service: LetterService, generated, n: int) -> dict:
    view = _complete(service, ANNA, service.create_draft(ANNA, _case(generated, n)["objname"],
                                                         "eingangsbestaetigung"))
    service.submit(ANNA, view["id"])
    return service.approve(BERND, view["id"])


def _parallel(n: int, fn) -> list:
    """Run ``fn(i)`` in n threads released together; returns the results (or exceptions) in order."""
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(30)
            out[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return out


def _filed_with_key(double: DoubleProcess, procedure_coo: str, key: str) -> list[dict]:
    """Erledigungen of the Vorgang whose Betreff carries the letter's idempotency marker, with their
    metadata (objcreatedby), read straight from the double's REST interface."""
    auth, headers = TECH_USER, {"userlogin": "pruefskript"}
    with httpx.Client(base_url=double.base_url, auth=auth, headers=headers, timeout=30) as c:
        meta = c.get(f"/api/readDocumentObjectsMetaData/{procedure_coo}").json()["businessobjecttype"]
        out = []
        for doc in meta:
            r = c.get(f"/api/outgoings/{doc['objaddress']}")
            if r.status_code == 200 and f"[lotse-id:{key}]" in (r.json().get("filesubj") or ""):
                out.append(doc)
        return out


def _creator(doc: dict) -> list[str]:
    """``objcreatedby`` as the EAI writes it: ``{"string": ["login"]}``."""
    by = doc.get("objcreatedby")
    return list(by.get("string") or []) if isinstance(by, dict) else [by]


# -- four eyes ---------------------------------------------------------------------------------------

def test_reviewer_who_edited_the_draft_may_not_approve_it(service, api, generated):
    view = service.create_draft(ANNA, _case(generated, 1)["objname"], "anhoerung")
    assert view["four_eyes"]
    view = _complete(service, ANNA, view)
    # Bernd (Sachbearbeitung + Prüfung) rewrites the facts of Anna's four-eyes draft and submits it
    view = service.save(BERND, view["id"], {"sachverhalt": "Von Bernd neu gefasster Sachverhalt."}, view["version"])
    service.submit(BERND, view["id"], expected_version=view["version"])
    assert [w["id"] for w in service.get(CARLA, view["id"])["writers"]] == ["anna", "bernd"]
    queue = {q["id"]: q for q in service.review_queue(BERND)}
    assert queue[view["id"]]["may_approve"] is False
    assert {q["id"]: q for q in service.review_queue(CARLA)}[view["id"]]["may_approve"] is True
    with api.client("bernd") as c:
        r = c.post(f"/api/letters/{view['id']}/approve", json={"expected_version": view["version"]})
    assert r.status_code == 403, r.text
    detail = r.json()["detail"]
    assert "Vier-Augen-Prinzip" in detail and "selbst mitgeschrieben" in detail and "Anna Beispiel" in detail
    with api.client("anna") as c:  # the original author, as before
        r = c.post(f"/api/letters/{view['id']}/approve", json={})
    assert r.status_code == 403 and "Verfasser" in r.json()["detail"]
    assert service.get(ANNA, view["id"])["state"] == "submitted"
    with api.client("carla") as c:  # a third person who wrote nothing
        r = c.post(f"/api/letters/{view['id']}/approve", json={"expected_version": view["version"]})
    assert r.status_code == 200 and r.json()["approver"]["id"] == "carla"
    with service.Session() as s:
        outcomes = s.scalars(sa.select(AuditEvent.outcome).where(AuditEvent.object_id == view["id"],
                                                                 AuditEvent.action == "letter_approve")).all()
    assert outcomes == ["refused_four_eyes_editor", "refused_four_eyes", "approved"]


def test_accepting_a_proposal_counts_as_writing(service, generated):
    view = _complete(service, ANNA, service.create_draft(ANNA, _case(generated, 2)["objname"], "anhoerung"))
    view = service.save(ANNA, view["id"], {"begruendung": ""}, view["version"])
    with service.Session() as s:  # give the letter an open proposal for begruendung, as the KB would
        from assistant.letters.models import LetterVersion
        row = s.scalars(sa.select(LetterVersion).where(LetterVersion.letter_id == view["id"],
                                                       LetterVersion.version == view["version"])).one()
        row.proposals = {"begruendung": {"proposal": True, "value": "", "sources": []}}
        s.commit()
    view = service.accept_proposal(BERND, view["id"], "begruendung", view["version"], "Von Bernd übernommen.")
    service.submit(ANNA, view["id"])
    from assistant.letters import FourEyesViolation
    with pytest.raises(FourEyesViolation, match="selbst mitgeschrieben"):
        service.approve(BERND, view["id"])
    assert service.approve(CARLA, view["id"])["state"] == "approved"


# -- filing exactly once -----------------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 5, 20])
def test_simultaneous_file_requests_file_exactly_once(service, api, double, generated, n):
    trials = 3 if n < 20 else 2
    double.set_faults(latency_ms=LATENCY_MS, match="POST /api/outgoings")
    for trial in range(trials):
        view = _approved(service, generated, n + trial)
        double.reset_stats()
        clients = [api.client("bernd" if i % 2 else "anna") for i in range(n)]
        try:
            answers = _parallel(n, lambda i: clients[i].post(f"/api/letters/{view['id']}/file"))
        finally:
            for c in clients:
                c.close()
        assert not [a for a in answers if isinstance(a, Exception)], answers
        codes = sorted(a.status_code for a in answers)
        assert set(codes) <= {200, 409}, [(a.status_code, a.text[:200]) for a in answers]
        ok = [a.json() for a in answers if a.status_code == 200]
        assert ok, codes
        assert {v["state"] for v in ok} == {"filed"}
        assert len({v["filing"]["objid"] for v in ok}) == 1  # everybody got the same receipt
        for a in answers:
            if a.status_code == 409:
                assert "bereits in der E-Akte abgelegt" in a.json()["detail"]
        assert double.requests("POST /api/outgoings") == 1
        stored = service.get(ANNA, view["id"])
        assert stored["state"] == "filed" and stored["filing"]["attempts"] == 1
        docs = _filed_with_key(double, view["procedure_coo"], stored["filing"]["idempotency_key"])
        assert [d["objaddress"] for d in docs] == [stored["filing"]["objid"]]  # exactly one document
        assert _creator(docs[0]) == ["anna"]  # the caseworker, not the technical login
        # and once more afterwards: still the same receipt, nothing new in the e-file
        with api.client() as c:
            assert c.post(f"/api/letters/{view['id']}/file").json()["filing"]["objid"] == stored["filing"]["objid"]
        assert double.requests("POST /api/outgoings") == 1


def test_two_services_on_one_database_file_once(db_url, efile, double, generated):
    """Two Lotse processes (two services, two engines, one database) filing the same letter at once."""
    first = LetterService(db_url, efile, None, today=lambda: TODAY)
    second_client = make_client(double.base_url, timeout=15.0, retries=1)
    second = LetterService(db_url, second_client, None, today=lambda: TODAY)
    try:
        double.set_faults(latency_ms=LATENCY_MS, match="POST /api/outgoings")
        view = _approved(first, generated, 7)
        double.reset_stats()
        views = _parallel(6, lambda i: (first, second)[i % 2].file(ANNA if i < 3 else BERND, view["id"]))
        assert not [v for v in views if isinstance(v, Exception)], views
        assert {v["state"] for v in views} == {"filed"} and len({v["filing"]["objid"] for v in views}) == 1
        assert double.requests("POST /api/outgoings") == 1
        assert len(_filed_with_key(double, view["procedure_coo"], views[0]["filing"]["idempotency_key"])) == 1
    finally:
        second_client.close()
        first.engine.dispose()
        second.engine.dispose()


def test_efile_failure_after_the_claim_returns_the_letter_to_waiting(service, api, double, generated):
    view = _approved(service, generated, 11)
    double.set_faults(error_rate_500=1.0, match="POST /api/outgoings")
    with api.client() as c:
        r = c.post(f"/api/letters/{view['id']}/file")
    assert r.status_code == 200, r.text
    waiting = r.json()
    assert waiting["state"] == "to_be_filed" and waiting["filing"]["error"]
    assert waiting["filing"]["next_attempt_at"] and not waiting["filing"]["in_progress"]
    # an unexpected failure inside the filing call (not an e-file answer): back to waiting as well
    double.clear_faults()
    real = service.efile.file_outgoing

    def broken(*args, **kwargs):
        raise RuntimeError("Verbindung mitten in der Ablage verloren")

    service.efile.file_outgoing = broken
    try:
        with pytest.raises(RuntimeError):
            service.file(ANNA, view["id"])
    finally:
        service.efile.file_outgoing = real
    assert service.get(ANNA, view["id"])["state"] == "to_be_filed"
    # the next retry files it, once
    [result] = service.retry_pending()
    assert result["state"] == "filed"
    key = service.get(ANNA, view["id"])["filing"]["idempotency_key"]
    assert len(_filed_with_key(double, view["procedure_coo"], key)) == 1


def test_a_stale_claim_is_taken_over_and_files_once(service, double, generated):
    """A process died while holding the claim (after the e-file had stored the document): after the
    claim's lifetime, the retry takes the letter over and the e-file key prevents a second document."""
    view = _approved(service, generated, 12)
    double.set_faults(drop_next=1, match="POST /api/outgoings")  # stored, answer lost ...
    token = service._claim(ANNA, view["id"])
    assert token == 1
    with pytest.raises(Exception):
        service.efile.file_outgoing(view["procedure_coo"], "t", "s", "x.docx", b"x",
                                    service.get(ANNA, view["id"])["filing"]["idempotency_key"])
    # ... and the process is gone: the letter stays reserved; within the claim's lifetime nobody touches it
    assert service.get(ANNA, view["id"])["state"] == "filing"
    assert service.retry_pending() == []
    with pytest.raises(Exception, match="bereits in der E-Akte abgelegt"):
        service.filing_wait_s = 0.3
        service.file(BERND, view["id"])
    service.claim_ttl_s = 0.0  # the claim's lifetime is over
    time.sleep(0.05)
    [result] = service.retry_pending()
    assert result["state"] == "filed"
    key = service.get(ANNA, view["id"])["filing"]["idempotency_key"]
    assert len(_filed_with_key(double, view["procedure_coo"], key)) == 1


# -- concurrent saves --------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [3, 10])
def test_simultaneous_saves_one_wins_the_others_409_nothing_lost(service, api, generated, n):
    view = service.create_draft(ANNA, _case(generated, 3)["objname"], "zwischennachricht")
    for trial in range(3):
        base = view["version"]
        clients = [api.client(("anna", "bernd")[i % 2]) for i in range(n)]
        texts = [f"Fassung {trial}-{i}: wir warten auf Unterlagen." for i in range(n)]
        try:
            answers = _parallel(n, lambda i: clients[i].put(
                f"/api/letters/{view['id']}", json={"fields": {"grund_verzoegerung": texts[i]},
                                                    "expected_version": base}))
        finally:
            for c in clients:
                c.close()
        assert not [a for a in answers if isinstance(a, Exception)], answers
        codes = [a.status_code for a in answers]
        assert sorted(codes) == [200] + [409] * (n - 1), [(a.status_code, a.text[:200]) for a in answers]
        for a in answers:
            if a.status_code == 409:
                assert "nicht verloren" in a.json()["detail"]
        [winner] = [i for i, a in enumerate(answers) if a.status_code == 200]
        view = service.get(ANNA, view["id"])
        assert view["version"] == base + 1 and view["fields"]["grund_verzoegerung"] == texts[winner]
        versions = service.versions(ANNA, view["id"])
        this_round = [v for v in versions if v["based_on"] == base]
        assert sorted(v["fields"]["grund_verzoegerung"] for v in this_round) == sorted(texts)  # every edit kept
        assert [v["adopted"] for v in this_round].count(True) == 1
        seqs = [v["seq"] for v in versions]
        assert seqs == list(range(1, len(versions) + 1))


# -- automatic retry ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_stopped_efile_letter_is_filed_automatically_after_it_comes_back(tmp_path, db_url, cases_file, generated):
    """The background job of ``lotse serve`` (started by the letters router at app start), here with a
    second job on the same database (a second process): the letter is filed once the e-file is back."""
    d = DoubleProcess(tmp_path / "own.sqlite3", ["--cases", str(cases_file)]).start()
    port = d.base_url.rsplit(":", 1)[1]
    client = make_client(d.base_url, timeout=2.0, retries=0)
    knobs = {"retry_base_s": 0.5, "retry_max_s": 2.0, "retry_interval_s": 0.3}
    svc = LetterService(db_url, client, None, today=lambda: TODAY, **knobs)
    other_client = make_client(d.base_url, timeout=2.0, retries=0)
    other = LetterService(db_url, other_client, None, today=lambda: TODAY, **knobs)
    server = ApiServer(svc, background_retry=True)  # startup event starts svc's retrier
    d2 = None
    try:
        assert svc._retrier is not None and svc._retrier.alive
        other.start_filing_retry()
        view = _approved(svc, generated, 5)
        d.stop()
        with server.client("bernd") as c:
            r = c.post(f"/api/letters/{view['id']}/file")
        assert r.status_code == 200 and r.json()["state"] == "to_be_filed", r.text
        assert r.json()["filing"]["next_attempt_at"]
        time.sleep(2.0)  # a few retries against the stopped e-file: still waiting, nothing lost
        assert svc.get(ANNA, view["id"])["state"] in ("to_be_filed", "filing")
        d2 = DoubleProcess(d.db, [*d.extra_args, "--port", port]).start()
        back = time.monotonic()
        while svc.get(ANNA, view["id"])["state"] != "filed":
            assert time.monotonic() - back < 60, "not filed within a minute after the e-file came back"
            time.sleep(0.2)
        took = time.monotonic() - back
        stored = svc.get(ANNA, view["id"])
        docs = _filed_with_key(d2, view["procedure_coo"], stored["filing"]["idempotency_key"])
        assert len(docs) == 1 and _creator(docs[0]) == ["anna"]
        time.sleep(1.0)  # both jobs keep running: still exactly one
        assert len(_filed_with_key(d2, view["procedure_coo"], stored["filing"]["idempotency_key"])) == 1
        print(f"filed {took:.1f} s after the e-file came back, {stored['filing']['attempts']} attempts")
    finally:
        server.stop()
        assert svc._retrier is None  # the shutdown event stopped it
        other.stop_filing_retry()
        client.close()
        other_client.close()
        for x in (d, d2):
            if x is not None:
                x.stop()
        svc.engine.dispose()
        other.engine.dispose()

