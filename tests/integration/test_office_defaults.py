"""Issue 14: departments everywhere, operations defaults and privacy by default, through the real app
(demo index, real SQLite, the e-file double as a process, uvicorn on a real socket where it matters).

The department walk calls every GET endpoint of the app as a person of S-III after a person of S-II
has asked, rated, taken a quiz and drafted a letter; nothing of S-II may come back. A new GET route
makes the walk fail until its path parameters are listed in ``_path_values``."""

from __future__ import annotations

import logging
import os
import re
import socket
import stat
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant import Assistant, AssistantConfig, ExtractiveConfig, Principal
from assistant.accounts import AccountStore
from assistant.library import PolicyLibrary
from tests.conftest import demo_kb_copy, web_login
from tests.integration.efile_fixtures import DoubleProcess, make_client

PASSWORD = "ein-langes-passwort-1"
MARK = "GEHEIM-S2"  # planted in everything the S-II person produces
S2_USER = "s2-person"
UNKNOWN_CASE = "S-III-WG/2099/999999"


@pytest.fixture(scope="module")
def office(tmp_path_factory, demo_index, embedder):
    from assistant.letters.workflow import LetterService
    from assistant.report import ReportService
    from assistant.training import TrainingService
    from connectors.efile.double.generator import generate_cases
    from lotse.settings import load_settings

    data = tmp_path_factory.mktemp("office")
    cases, _ = generate_cases(20, 3)
    double = DoubleProcess.with_cases(tmp_path_factory.mktemp("efile"), cases)
    efile = make_client(double.base_url, timeout=15.0, retries=1)
    kb = demo_kb_copy(demo_index, data, embedder)
    settings = load_settings(data_dir=data, auth={"login_attempts": 3, "login_window_s": 60})
    assistant = Assistant(AssistantConfig(), ExtractiveConfig(), kb, settings.db_url(), efile=efile)
    accounts = AccountStore(settings.db_url())
    accounts.add(S2_USER, f"Person {MARK}-NAME", ["sachbearbeitung", "pruefung"], ["S-II"], PASSWORD)
    accounts.add("s3-all-roles", "S-III mit allen Rollen", ["sachbearbeitung", "pruefung", "schulung",
                                                           "administration"], ["S-III"], PASSWORD)
    accounts.add("admin", "Administration", ["administration", "schulung"], "*", PASSWORD)
    services = {"letters": LetterService(settings.db_url(), efile, kb),
                "training": TrainingService(assistant.Session, kb), "report": ReportService(assistant.Session),
                "library": PolicyLibrary(kb, data / "policy", assistant.Session)}
    s2_case = next(c["objname"] for c in cases if c["objname"].startswith("S-II-"))
    s3_case = next(c["objname"] for c in cases if c["objname"].startswith("S-III-WG") and c.get("state") is None)
    yield {"settings": settings, "assistant": assistant, "accounts": accounts, "services": services,
           "s2_case": s2_case, "s3_case": s3_case, "data": data}
    efile.close()
    double.stop()


def client_for(office, user: str | None = None, settings=None) -> TestClient:
    from web_ui.app import create_app
    from web_ui.services import Services

    app = create_app(Services(settings=settings or office["settings"], assistant=office["assistant"],
                              accounts=office["accounts"], **office["services"]))
    c = TestClient(app)
    if user:
        web_login(c, user, PASSWORD)
    return c


@pytest.fixture(scope="module")
def s2_content(office):
    """What the S-II person leaves behind: questions (one refused), a thumbs-down with a comment, a quiz
    result with consent to show the name, a letter draft for an S-II case."""
    c = client_for(office, S2_USER)
    answered = c.post("/api/ask", json={"question": f"Welche Frist gilt für den Widerspruch? {MARK}-FRAGE"}).json()
    refused = c.post("/api/ask", json={"question": f"Wie wird das Wetter morgen in {MARK}-ORT?"}).json()
    assert refused["refused"], refused["answer"]
    r = c.post("/api/feedback", json={"message_id": answered["message_id"], "rating": "down",
                                      "comment": f"Falsch, {MARK}-KOMMENTAR"})
    assert r.status_code == 201, r.text
    assert c.put("/api/training/consent", json={"share_name": True}).status_code == 200
    quiz = c.post("/api/training/paths/unterhaltsvorschuss/quiz", json={"count": 2, "seed": 3}).json()
    assert "quiz_id" in quiz, quiz
    assert c.post(f"/api/training/quizzes/{quiz['quiz_id']}/answers", json={"answers": {}}).status_code == 200
    letter = c.post("/api/letters", json={"aktenzeichen": office["s2_case"], "template": "eingangsbestaetigung"})
    assert letter.status_code == 201, letter.text
    return {"conversation_id": answered["conversation_id"], "message_id": answered["message_id"],
            "quiz_id": quiz["quiz_id"], "letter_id": letter.json()["id"],
            "chunk_id": answered["citations"][0]["chunk_id"]}


def _path_values(office, content) -> dict[str, str]:
    return {"conversation_id": content["conversation_id"], "chunk_id": content["chunk_id"],
            "aktenzeichen": office["s2_case"], "letter_id": content["letter_id"], "path_id": "wohngeld",
            "job_id": "unbekannt", "source": "S-II/unbekannt.md", "quiz_id": content["quiz_id"],
            "answer_id": "1", "version": "1", "name": "eingangsbestaetigung", "field": "betreff"}


#: query variants that list other people's content
QUERIES = {"/api/training/results": ["", "?all=true"], "/api/admin/feedback": ["", "?rating=down"],
           "/api/admin/audit": ["", f"?user={S2_USER}"], "/api/report": ["?from=2020-01-01"],
           "/api/report.csv": ["?from=2020-01-01"], "/bericht/druck": ["?from=2020-01-01"],
           "/api/search": ["?q=Widerspruch"], "/api/letters": ["", "?aktenzeichen={aktenzeichen}"]}


def _walk(office, content, user: str) -> dict[str, str]:
    """Every GET endpoint of the app (from its OpenAPI schema: routers included), called as ``user``;
    returns url -> response text."""
    c = client_for(office, user)
    values = _path_values(office, content)
    out = {}
    for route, ops in c.app.openapi()["paths"].items():
        if "get" not in ops:
            continue
        params = re.findall(r"{(\w+)}", route)
        missing = [p for p in params if p not in values]
        assert not missing, f"neue Route {route}: Wert für {missing} in _path_values ergänzen"
        path = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], route)
        for query in QUERIES.get(route, [""]):
            url = path + query.format(**values)
            r = c.get(url, follow_redirects=False)
            assert r.status_code < 500, (url, r.status_code, r.text[:300])
            out[url] = r.text
    return out


def test_nothing_of_another_department_comes_back_from_any_endpoint(office, s2_content):
    seen = _walk(office, s2_content, "s3-all-roles")
    assert len(seen) >= 30
    leaks = {url: re.findall(MARK + r"-\w+", text) for url, text in seen.items() if MARK in text or S2_USER in text}
    assert leaks == {}, leaks
    # foreign ids answer like unknown ones
    assert "/api/conversations/" + s2_content["conversation_id"] in seen
    c = client_for(office, "s3-all-roles")
    assert c.post("/api/feedback", json={"message_id": s2_content["message_id"], "rating": "up"}).status_code == 404
    r = c.post("/api/training/model-answers", json={"message_id": s2_content["message_id"]})
    assert r.status_code == 404 and MARK not in r.text


def test_the_walk_does_see_the_content_when_the_viewer_may(office, s2_content):
    """The same walk as a person of all departments: the planted content is there (the walk can fail)."""
    seen = _walk(office, s2_content, "admin")
    found = {url for url, text in seen.items() if MARK in text or S2_USER in text}
    for expected in ("/api/training/insights", "/api/admin/feedback", "/api/training/results?all=true",
                     f"/api/admin/audit?user={S2_USER}"):
        assert expected in found, (expected, sorted(found))


# -- operations defaults -------------------------------------------------------------------------

def test_api_docs_need_a_login_or_are_off(office):
    anonymous = client_for(office)
    for path in ("/docs", "/redoc", "/openapi.json"):
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code in (303, 401) and "openapi" not in r.text.lower(), path
    logged_in = client_for(office, "admin")
    assert logged_in.get("/openapi.json").json()["info"]["title"] == "Lotse API"
    assert "swagger" in logged_in.get("/docs").text.lower()
    off = office["settings"].model_copy(update={"auth": office["settings"].auth.model_copy(update={"api_docs": "off"})})
    closed = client_for(office, "admin", settings=off)
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert closed.get(path, follow_redirects=False).status_code == 404, path


def test_unknown_and_foreign_cases_get_the_same_answer(office):
    c = client_for(office, S2_USER)  # S-II: the S-III case is foreign
    foreign, unknown = (c.get(f"/api/cases/{office['s3_case']}"), c.get(f"/api/cases/{UNKNOWN_CASE}"))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json() == {"detail": "Diese Akte gibt es nicht oder sie gehört nicht zu "
                                                          "Ihren Fachbereichen."}
    drafts = [c.post("/api/letters", json={"aktenzeichen": az, "template": "eingangsbestaetigung"})
              for az in (office["s3_case"], UNKNOWN_CASE)]
    assert [d.status_code for d in drafts] == [404, 404]
    assert drafts[0].json() == drafts[1].json() == foreign.json()
    own = c.get(f"/api/cases/{office['s2_case']}")
    assert own.status_code == 200 and own.json()["department"] == "S-II"


def _serve(app) -> tuple[str, object]:
    import uvicorn

    from web_ui.app import UVICORN_OPTIONS

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **UVICORN_OPTIONS))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def _failed_logins(base: str, n: int) -> list[int]:
    """``n`` wrong passwords, each for another user name and from another claimed X-Forwarded-For address."""
    codes = []
    for i in range(n):
        with httpx.Client(base_url=base) as c:
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
            r = c.post("/login", data={"username": f"rate-{i}-{time.monotonic_ns()}", "password": "falsch-falsch",
                                       "csrf_token": token, "next": "/"},
                       headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
            codes.append(r.status_code)
    return codes


def test_rotating_x_forwarded_for_does_not_defeat_the_login_limit(office):
    from web_ui.app import create_app
    from web_ui.services import Services

    # uvicorn as `lotse serve` runs it, clients on 127.0.0.1 (uvicorn's default would trust them)
    app = create_app(Services(settings=office["settings"], assistant=office["assistant"], accounts=office["accounts"]))
    base, server = _serve(app)
    try:
        assert _failed_logins(base, 4) == [401, 401, 401, 429]  # 3 attempts per address, whatever the header
    finally:
        server.should_exit = True
    # behind a configured proxy the header names the client: each address has its own count
    behind = office["settings"].model_copy(update={"auth": office["settings"].auth.model_copy(
        update={"trusted_proxies": ["127.0.0.1/32"]})})
    base, server = _serve(create_app(Services(settings=behind, assistant=office["assistant"],
                                              accounts=office["accounts"])))
    try:
        assert _failed_logins(base, 4) == [401, 401, 401, 401]
    finally:
        server.should_exit = True


def test_sql_errors_never_log_bound_values(office, caplog):
    from sqlalchemy.exc import IntegrityError

    from assistant.db import User

    secret = "Kontonummer DE89 3704 0044 0532 0130 00"
    with caplog.at_level(logging.DEBUG), office["assistant"].Session() as s:
        s.add(User(id="admin", display_name=secret, roles=[], departments=""))  # duplicate key
        with pytest.raises(IntegrityError) as err:
            s.commit()
    assert "DE89" not in str(err.value) and "hidden due to hide_parameters" in str(err.value)
    assert "DE89" not in caplog.text


def test_data_directory_and_files_only_for_the_owner_and_file_names_escaped_in_the_log(tmp_path, run_lotse, caplog):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "alt.db").write_text("x")
    os.chmod(data / "alt.db", 0o644)
    folder = tmp_path / "docs"
    folder.mkdir()
    evil = folder / "a\nFAKE 2026-01-01 ERROR lotse: angemeldet als admin.md"
    evil.write_text("# Titel\n\nDie Frist für den Widerspruch beträgt einen Monat nach Bekanntgabe.\n",
                    encoding="utf-8")
    with caplog.at_level(logging.DEBUG):
        r = run_lotse(["index", str(folder)], env={"LOTSE_LOG_LEVEL": "DEBUG"})
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for f in [p for p in data.rglob("*") if p.is_file()]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    for d in [p for p in data.rglob("*") if p.is_dir()]:
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    lines = caplog.text.splitlines() + r.stderr.splitlines()
    assert any("a\\nFAKE" in line for line in lines), caplog.text[-2000:]
    assert not any(line.startswith("FAKE") for line in lines)


def test_a_newline_in_an_uploaded_file_name_never_reaches_the_log_or_the_disk(tmp_path, make_kb, caplog):
    """A multipart parser hands the file name over as the client sent it; a control character in it must
    not forge a log line (the upload's own messages, the indexer's, the audit) nor become part of a path."""
    from assistant.library import PolicyLibrary

    library = PolicyLibrary(make_kb(), tmp_path / "policy")
    evil = "a\nFAKE 2026-01-01 ERROR lotse: angemeldet als admin\r\x1b[2J.md"
    with caplog.at_level(logging.DEBUG):
        stored = library.upload(Principal("admin", "Administration", frozenset({"administration"})), evil,
                                b"# Titel\n\nDie Frist f\xc3\xbcr den Widerspruch betr\xc3\xa4gt einen Monat.\n",
                                "S-III")
    assert not re.search(r"[\x00-\x1f\x7f]", stored["source"]), stored["source"]
    assert stored["report"]["errors"] == [] and stored["source"].startswith("S-III/a_FAKE")
    assert [p.name for p in (tmp_path / "policy" / "S-III").iterdir()] == [stored["source"].split("/", 1)[1]]
    lines = caplog.text.splitlines()
    assert not any(line.startswith("FAKE") for line in lines) and "\x1b" not in caplog.text, caplog.text[-2000:]


def _rss_mb() -> float:
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_a_zip_bomb_upload_is_refused_in_german_and_the_server_memory_stays_flat(office):
    """The finding: a 1 MB DOCX that unpacks to 1 GiB took the server from 229 MB to 3 GB on upload."""
    from tests.unit.test_loader_limits import _zip_bomb_docx

    bomb = _zip_bomb_docx(256)  # 256 MiB unpacked (1 GiB takes 15 s to build and is refused the same way)
    admin = client_for(office, "admin")
    peak, stop = [_rss_mb()], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak.append(_rss_mb())
            stop.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    before = _rss_mb()
    sampler.start()
    try:
        r = admin.post("/api/admin/documents", data={"department": "S-III"},
                       files={"file": ("bombe.docx", bomb, "application/octet-stream")})
    finally:
        stop.set()
        sampler.join()
    assert r.status_code == 422, r.text
    assert "Zip-Bombe" in r.json()["detail"], r.json()
    assert max(peak) - before < 150, (before, max(peak))  # MiB; was about 2.8 GB
    assert not (office["data"] / "policy" / "S-III" / "bombe.docx").exists()


# -- privacy by default --------------------------------------------------------------------------

def test_personal_data_in_a_question_is_flagged_and_the_title_stored_masked(office):
    c = client_for(office, "s3-all-roles")
    question = "Frau Anna Schmidt, geb. 12.03.1985, IBAN DE89 3704 0044 0532 0130 00 fragt nach der Frist"
    check = c.post("/api/questions/check", json={"question": question}).json()
    assert check["personal_data"] and {"Name", "Geburtsdatum", "IBAN"} <= set(check["kinds"])
    assert "Schmidt" not in check["masked"] and "DE89" not in check["masked"] and "[IBAN]" in check["masked"]
    assert "personenbezogene Daten" in check["message"]
    plain = c.post("/api/questions/check", json={"question": "Welche Frist gilt für den Widerspruch?"}).json()
    assert plain == {"personal_data": False, "kinds": [], "masked": "Welche Frist gilt für den Widerspruch?",
                     "message": None}
    sent = c.post("/api/ask", json={"question": question}).json()  # sent anyway
    titles = [x["title"] for x in c.get("/api/conversations").json() if x["id"] == sent["conversation_id"]]
    assert titles and "Schmidt" not in titles[0] and "DE89" not in titles[0] and "1985" not in titles[0]
    assert "[NAME]" in titles[0]


def test_literal_source_text_is_quoted_unaltered(tmp_path, make_kb):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "vorlagen.md").write_text(
        "---\ntitle: Arbeitshilfe Vorlagen\ndepartment: S-Z\n---\n# Platzhalter in Vorlagen\n\n"
        "Der Platzhalter {{ 7*7 }} in einer Vorlage wird beim Versand nicht ausgerechnet, sondern wörtlich gedruckt.\n",
        encoding="utf-8")
    kb = make_kb()
    kb.index(folder, progress=False)
    assistant = Assistant(AssistantConfig(), ExtractiveConfig(), kb, f"sqlite:///{tmp_path / 'l.db'}")
    result = assistant.ask("Was passiert mit dem Platzhalter in einer Vorlage beim Versand?",
                           Principal("u", "U", frozenset({"sachbearbeitung"})))
    assert not result["refused"], result["answer"]
    assert "{{ 7*7 }}" in result["answer"], result["answer"]
    # the source panel (a citation opened) shows the passage as written, too
    cited = assistant.source(Principal("u", "U", frozenset({"sachbearbeitung"})), result["citations"][0]["chunk_id"])
    assert "Der Platzhalter {{ 7*7 }} in einer Vorlage" in cited["text"], cited["text"]


def test_foreign_and_unknown_ids_get_the_same_answer_everywhere(office, s2_content):
    """One answer for "not there" and "not yours" on every route that takes an id: a person of S-III
    learns nothing about S-II's conversations, sources, letters and quizzes by probing ids."""
    c = client_for(office, "s3-all-roles")
    hits = client_for(office, "admin").get("/api/search", params={"q": "Unterhaltsvorschuss", "k": 50}).json()
    foreign = dict(s2_content, chunk_id=next(h["chunk_id"] for h in hits if h["department"] == "S-II"))
    unknown = {"conversation_id": "0" * len(foreign["conversation_id"]), "chunk_id": "0" * len(foreign["chunk_id"]),
               "letter_id": "999999", "quiz_id": "0" * len(str(foreign["quiz_id"])), "message_id": 999_999_999}
    calls = [("get", "/api/conversations/{conversation_id}", None),
             ("delete", "/api/conversations/{conversation_id}", None),
             ("get", "/api/sources/{chunk_id}", None),
             ("get", "/api/letters/{letter_id}", None),
             ("get", "/api/letters/{letter_id}/versions", None),
             ("get", "/api/letters/{letter_id}/preview", None),
             ("get", "/api/letters/{letter_id}/compare?a=1&b=1", None),
             ("get", "/api/letters/{letter_id}/docx", None),
             ("put", "/api/letters/{letter_id}", {"fields": {"betreff": "x"}, "expected_version": 1}),
             ("post", "/api/letters/{letter_id}/submit", {"expected_version": 1}),
             ("post", "/api/letters/{letter_id}/approve", {"expected_version": 1}),
             ("post", "/api/letters/{letter_id}/return", {"comment": "x", "expected_version": 1}),
             ("post", "/api/letters/{letter_id}/comments", {"text": "x"}),
             ("post", "/api/letters/{letter_id}/file", None),
             ("post", "/api/training/quizzes/{quiz_id}/answers", {"answers": {}}),
             ("post", "/api/feedback", {"message_id": "{message_id}", "rating": "up"}),
             ("post", "/api/training/model-answers", {"message_id": "{message_id}"})]
    differ, statuses = {}, {}
    for method, route, body in calls:
        answers = []
        for ids in (foreign, unknown):
            url = route.format(**{k: ids[k] for k in re.findall(r"{(\w+)}", route)})
            payload = body and {k: (ids["message_id"] if v == "{message_id}" else v) for k, v in body.items()}
            r = c.request(method.upper(), url, json=payload) if payload is not None else c.request(method.upper(), url)
            answers.append((r.status_code, r.text.replace(str(ids.get("letter_id")), "ID")))
        assert answers[0][0] >= 400, (route, answers)
        statuses[f"{method.upper()} {route}"] = answers[0][0]
        if answers[0] != answers[1]:
            differ[f"{method.upper()} {route}"] = answers
    assert differ == {}, differ
    assert set(statuses.values()) == {404}, statuses  # not a validation error before the lookup
    # the foreign content is still there for its owner (the probes changed nothing)
    owner = client_for(office, S2_USER)
    assert owner.get(f"/api/conversations/{foreign['conversation_id']}").status_code == 200
    assert owner.get(f"/api/letters/{foreign['letter_id']}").status_code == 200
