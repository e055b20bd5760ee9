"""Several server processes on one database behave as one: the login rate limit and the re-index jobs
live in the SQL database (``login_failures``, ``reindex_jobs``), not in a process's memory.

Two app instances, each with its own engine, account store, assistant and policy library (nothing shared
in memory, as two ``lotse serve`` on two hosts), on one database: an SQLite file both open, and a real
PostgreSQL when ``LOTSE_TEST_POSTGRES_URL`` is set (``scripts/test.sh``; skipped without it, failed in CI).
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from assistant import Assistant, AssistantConfig, ExtractiveConfig
from assistant.accounts import AccountStore
from assistant.db import ReindexJobRecord
from assistant.library import ABORTED, PolicyLibrary
from tests.pg import require_server, throwaway_database
from tests.conftest import demo_kb_copy, web_login

PASSWORD = "ein-langes-passwort-1"
# read at import: the autouse fixture in conftest.py removes every LOTSE_* variable before each test
PG_URL = os.environ.get("LOTSE_TEST_POSTGRES_URL")


def _create_app(settings, assistant, accounts, library):
    from web_ui.app import create_app

    try:
        from web_ui.services import Services
    except ImportError:  # the app before web_ui.services
        return create_app(settings, assistant, accounts=accounts, library=library)
    return create_app(Services(settings=settings, assistant=assistant, accounts=accounts, library=library))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    with throwaway_database(require_server(PG_URL), "lotse_c") as url:
        yield url


@pytest.fixture
def cluster(database_url, tmp_path, demo_index, embedder):
    """Instances "a" and "b": own data directory (own index copy), own objects, one database."""
    from lotse.settings import load_settings

    nodes = {}
    for node in ("a", "b"):
        data = tmp_path / node
        kb = demo_kb_copy(demo_index, data, embedder)
        assistant = Assistant(AssistantConfig(), ExtractiveConfig(), kb, database_url)
        settings = load_settings(data_dir=data, database_url=database_url,
                                 auth={"login_attempts": 3, "login_window_s": 60})
        accounts = AccountStore(database_url)
        if node == "a":
            accounts.add("sb3", "Sachbearbeitung S-III", ["sachbearbeitung"], ["S-III"], PASSWORD)
            accounts.add("admin", "Administration", ["administration"], "*", PASSWORD)
        library = PolicyLibrary(kb, data / "policy", assistant.Session)
        nodes[node] = {"kb": kb, "library": library, "Session": assistant.Session,
                       "app": _create_app(settings, assistant, accounts, library)}
    yield nodes
    for n in nodes.values():
        n["Session"].kw["bind"].dispose()


def _client(node, address: str) -> TestClient:
    return TestClient(node["app"], client=(address, 50000))


def test_failed_logins_on_one_instance_block_on_the_other(cluster):
    a = _client(cluster["a"], "192.0.2.10")
    for _ in range(3):
        assert web_login(a, "sb3", "falsch-falsch-falsch", expect_ok=False).status_code == 401
    # the right password, another instance, another address: the user name is blocked everywhere
    b = _client(cluster["b"], "192.0.2.20")
    blocked = web_login(b, "sb3", PASSWORD, expect_ok=False)
    assert blocked.status_code == 429 and "Zu viele" in blocked.text
    # and the address that failed three times on A is blocked on B for another user too
    assert web_login(_client(cluster["b"], "192.0.2.10"), "admin", PASSWORD, expect_ok=False).status_code == 429
    # another user from a clean address logs in on B; a success resets only that user's count
    web_login(_client(cluster["b"], "192.0.2.30"), "admin", PASSWORD)
    # user names and addresses are not stored in clear
    with cluster["b"]["Session"]() as s:
        keys = [k for (k,) in s.execute(sa.text("SELECT key FROM login_failures"))]
    assert len(keys) == 6 and all(len(k) == 64 and "sb3" not in k and "192.0.2" not in k for k in keys)


def test_reindex_started_on_one_instance_is_followed_on_the_other(cluster, monkeypatch):
    kb_a = cluster["a"]["kb"]
    index = kb_a.index

    def slow_index(root, **kw):  # a pause per file, so the other instance sees the job running
        on_file = kw.pop("on_file")

        def step(src):
            time.sleep(0.04)
            on_file(src)
        return index(root, on_file=step, **kw)

    monkeypatch.setattr(kb_a, "index", slow_index)
    admin_a, admin_b = _client(cluster["a"], "192.0.2.40"), _client(cluster["b"], "192.0.2.41")
    web_login(admin_a, "admin", PASSWORD)
    web_login(admin_b, "admin", PASSWORD)
    r = admin_a.post("/api/admin/reindex")
    assert r.status_code == 202, r.text
    job = r.json()
    # one re-index at a time across instances: B answers with A's running job
    again = admin_b.post("/api/admin/reindex")
    assert again.status_code == 202 and again.json()["job_id"] == job["job_id"]
    seen = []
    for _ in range(1200):
        status = admin_b.get(f"/api/admin/reindex/{job['job_id']}")
        assert status.status_code == 200, status.text
        status = status.json()
        seen.append((status["state"], status["done"]))
        if status["state"] != "läuft":
            break
        time.sleep(0.05)
    assert status["state"] == "fertig" and status["message"] == "Neuindizierung abgeschlossen."
    assert status["done"] == status["total"] and status["total"] >= 33 and status["finished_at"]
    assert status["reports"] and all("root" not in rep for rep in status["reports"])
    assert any(state == "läuft" and 0 < done < status["total"] for state, done in seen), seen
    assert admin_a.get(f"/api/admin/reindex/{job['job_id']}").json() == status
    missing = admin_b.get("/api/admin/reindex/gibtesnicht")
    assert missing.status_code == 404 and "Indizierungsauftrag" in missing.json()["detail"]


def test_a_running_job_without_heartbeat_counts_as_aborted(cluster):
    """A process that dies during a re-index leaves its row 'läuft': after STALE_S without a heartbeat
    another instance reports it aborted and may start a new one."""
    from assistant.db import utcnow
    from assistant.identity import Principal

    with cluster["a"]["Session"]() as s:
        s.add(ReindexJobRecord(id="verwaist", state="läuft", slot=1, done=3, total=40, message="", reports=[],
                               started_at=utcnow() - timedelta(hours=1), heartbeat_at=utcnow() - timedelta(hours=1)))
        s.commit()
    library_b = cluster["b"]["library"]
    assert library_b.job("verwaist")["state"] == "fehler"
    assert library_b.job("verwaist")["message"] == ABORTED
    with cluster["a"]["Session"]() as s:
        s.get(ReindexJobRecord, "verwaist").state, s.get(ReindexJobRecord, "verwaist").slot = "läuft", 1
        s.get(ReindexJobRecord, "verwaist").finished_at = None
        s.commit()
    started = library_b.start_reindex(Principal("admin", "Administration"))
    assert started["job_id"] != "verwaist" and started["state"] == "läuft"
    assert cluster["a"]["library"].job("verwaist")["state"] == "fehler"
    deadline = time.monotonic() + 180  # the re-index embeds the demo corpus: minutes on a loaded 2-core runner
    while library_b.job(started["job_id"])["state"] == "läuft" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cluster["a"]["library"].job(started["job_id"])["state"] == "fertig"
