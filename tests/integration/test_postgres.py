"""PostgreSQL support on a REAL PostgreSQL server: the Alembic migrations, the assistant's conversations
and the letter workflow. ``scripts/test.sh`` starts a throwaway server and sets
``LOTSE_TEST_POSTGRES_URL`` (a role that may CREATE DATABASE); every test gets a fresh database.
Without the variable these tests are skipped locally and FAIL in CI (``CI`` set).

Also here, without a server: the models and the migrations agree (``alembic check`` on SQLite).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from assistant import Assistant, AssistantConfig, ExtractiveConfig, NotFoundError, Principal
from assistant.db import Base, Conversation, Message, make_engine
from assistant.letters import LetterConflict, LetterService
from assistant.letters.models import Letter, LetterVersion
from assistant.letters.prefill import CASE_TYPE_BY_PROCEDURE
from assistant.migrations import alembic_config, target_metadata, upgrade
from connectors.efile.double.generator import generate_cases
from connectors.efile.procedures import by_code
from tests.pg import require_server, throwaway_database
from tests.conftest import demo_kb_copy

try:
    from tests.integration.efile_fixtures import DoubleProcess, make_client
except ImportError:  # pragma: no cover - depends on how pytest puts tests on sys.path
    from efile_fixtures import DoubleProcess, make_client  # type: ignore

# read at import: the autouse fixture in conftest.py removes every LOTSE_* variable before each test
PG_URL = os.environ.get("LOTSE_TEST_POSTGRES_URL")
ANNA = Principal("anna", "Anna Beispiel")
BERND = Principal("bernd", "Bernd Prüfer")
TABLES = {"conversations", "messages", "audit_events", "letters", "letter_versions", "letter_comments",
          "users", "feedback", "training_quizzes", "training_results", "model_answers", "web_sessions",
          "login_failures", "reindex_jobs"}


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _diff(connection) -> list:
    ctx = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(ctx, target_metadata())


def _version(connection) -> list[str]:
    return [r[0] for r in connection.execute(sa.text("SELECT version_num FROM alembic_version"))]


# -- models and migrations agree (SQLite, no server needed) ---------------------------------

def test_migrations_match_the_models_on_sqlite(tmp_path):
    assert TABLES <= set(target_metadata().tables)
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")  # alembic upgrade head on an empty file
    with engine.connect() as conn:
        assert _version(conn) == [_head()]
        assert set(sa.inspect(conn).get_table_names()) == TABLES | {"alembic_version"}
        assert _diff(conn) == []
    make_engine(f"sqlite:///{tmp_path / 'fresh.db'}").dispose()  # a second start changes nothing
    with engine.connect() as conn:
        assert _version(conn) == [_head()]
    engine.dispose()


def test_database_made_by_create_all_is_adopted(tmp_path):
    """A database of an earlier Lotse (create_all, only the assistant's tables, no alembic_version)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url)
    Base.metadata.create_all(old, tables=[Base.metadata.tables[t] for t in ("conversations", "messages",
                                                                           "audit_events")])
    with old.begin() as conn:
        conn.execute(sa.insert(Conversation).values(id="c1", user_id="anna", title="alt",
                                                    created_at=sa.func.now(), updated_at=sa.func.now()))
    old.dispose()
    engine = make_engine(url)
    with engine.connect() as conn:
        assert _version(conn) == [_head()] and _diff(conn) == []
        assert conn.execute(sa.select(Conversation.title)).scalars().all() == ["alt"]
    engine.dispose()


# -- PostgreSQL fixtures -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_server() -> str:
    return require_server(PG_URL)


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database for this test (CREATE DATABASE), dropped afterwards."""
    with throwaway_database(pg_server, "lotse_t") as url:
        yield url


@pytest.fixture(scope="module")
def demo_kb(pg_server, tmp_path_factory, demo_index, embedder):
    return demo_kb_copy(demo_index, tmp_path_factory.mktemp("kb"), embedder)


@pytest.fixture(scope="module")
def generated(pg_server):
    cases, _planted = generate_cases(20, 3)
    return cases


@pytest.fixture(scope="module")
def double(tmp_path_factory, generated):
    d = DoubleProcess.with_cases(tmp_path_factory.mktemp("efile-pg"), generated)
    yield d
    d.stop()


@pytest.fixture
def efile(double):
    double.clear_faults()
    c = make_client(double.base_url, timeout=15.0, retries=1)
    yield c
    c.close()


# -- (1) migrations on PostgreSQL ------------------------------------------------------------------

def test_migrations_upgrade_empty_postgres_to_head_and_match_the_models(pg_url):
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    assert engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    command.upgrade(alembic_config(pg_url), "head")  # the in-code configuration, env.py's own engine
    with engine.connect() as conn:
        assert _version(conn) == [_head()]
        assert set(sa.inspect(conn).get_table_names()) == TABLES | {"alembic_version"}
        assert _diff(conn) == []
        fks = {fk["referred_table"] for fk in sa.inspect(conn).get_foreign_keys("messages")}
        assert fks == {"conversations"}
    # down to nothing and up again, this time the way make_engine does it (locked, one transaction)
    command.downgrade(alembic_config(pg_url), "base")
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) == {"alembic_version"} and _version(conn) == []
    upgrade(engine)
    with engine.connect() as conn:
        assert _version(conn) == [_head()] and _diff(conn) == []
    engine.dispose()


_STARTER = """
import sys
import sqlalchemy as sa
from assistant.migrations import upgrade
engine = sa.create_engine(sys.argv[1], poolclass=sa.pool.NullPool)
print("ready", flush=True)
sys.stdin.readline()
upgrade(engine)
print("migrated", flush=True)
"""


def test_concurrent_starts_migrate_once(pg_url):
    """Several processes starting at once on an empty database: the advisory lock lets one migrate,
    the others wait and then find the schema at head."""
    procs = [subprocess.Popen([sys.executable, "-c", _STARTER, pg_url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        for p in procs:  # everything imported and connected: now all start migrating together
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * len(procs), [err for _, err in results]
    assert all(out.strip() == "migrated" for out, _ in results)
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert _version(conn) == [_head()] and _diff(conn) == []
    engine.dispose()


# -- (2) the assistant's conversations on PostgreSQL -----------------------------------------------

def test_conversations_on_postgres(pg_url, demo_kb):
    assistant = Assistant(AssistantConfig(), ExtractiveConfig(), demo_kb, pg_url)
    assert assistant.engine.dialect.name == "postgresql"
    r = assistant.ask("Welche Unterlagen brauche ich für den Wohngeldantrag?", ANNA)
    assert not r["refused"] and r["citations"]
    cid = r["conversation_id"]
    follow = assistant.ask("Und welche Frist gilt dafür?", ANNA, cid)  # history read back from PostgreSQL
    assert follow["conversation_id"] == cid and "Wohngeld" in follow["query"]
    assert [c["id"] for c in assistant.list_conversations(ANNA)] == [cid]
    assert assistant.list_conversations(BERND) == []
    conv = assistant.get_conversation(ANNA, cid)
    assert [m["role"] for m in conv["messages"]] == ["user", "assistant", "user", "assistant"]
    assert conv["messages"][0]["content"] == "Welche Unterlagen brauche ich für den Wohngeldantrag?"
    assert conv["messages"][1]["citations"] == r["citations"]
    with pytest.raises(NotFoundError):
        assistant.get_conversation(BERND, cid)
    assistant.delete_conversation(ANNA, cid)
    assert assistant.list_conversations(ANNA) == []
    with assistant.Session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
    assistant.engine.dispose()


# -- (3) the letter workflow on PostgreSQL --------------------------------------------------------

def _wohngeld_case(generated) -> dict:
    for c in generated:
        if (c.get("state") != "Storniert" and len(c["procedures"]) > 1
                and CASE_TYPE_BY_PROCEDURE[by_code(c["procedure_type"]).name] == "wohngeld"):
            return c
    raise AssertionError("no generated wohngeld case with two procedures")


def test_letter_workflow_on_postgres(pg_url, efile, demo_kb, generated):
    # an Engine made elsewhere (not by make_engine): LetterService migrates it itself
    engine = sa.create_engine(pg_url)
    service = LetterService(engine, efile, demo_kb)
    with engine.connect() as conn:
        assert _version(conn) == [_head()]
    spec = _wohngeld_case(generated)
    view = service.create_draft(ANNA, spec["objname"], "ablehnung")
    assert view["state"] == "draft" and view["version"] == 1 and view["four_eyes"]
    text = "Ihr Einkommen übersteigt die Grenze nach § 4 WoGG.\nDer Antrag ist abzulehnen."
    view = service.save(ANNA, view["id"], {"begruendung": text}, 1)
    assert view["version"] == 2
    # Bernd saved on top of version 1 meanwhile: conflict (409 in the API), both versions kept
    with pytest.raises(LetterConflict) as err:
        service.save(BERND, view["id"], {"begruendung": "Bernds Fassung"}, 1)
    assert err.value.current_version == 2
    assert service.get(ANNA, view["id"])["fields"]["begruendung"] == text
    versions = service.versions(ANNA, view["id"])
    assert [v["version"] for v in versions if v["adopted"]] == [1, 2]
    [kept] = [v for v in versions if not v["adopted"]]
    assert kept["kind"] == "conflict" and kept["fields"]["begruendung"] == "Bernds Fassung"
    assert kept["user"]["id"] == "bernd" and kept["based_on"] == 1
    view = service.submit(ANNA, view["id"], expected_version=2)
    assert view["state"] == "submitted"
    view = service.approve(BERND, view["id"], expected_version=2, comment="Geprüft.")
    assert view["state"] == "approved" and view["approver"]["id"] == "bernd"
    view = service.file(BERND, view["id"])
    assert view["state"] == "filed"
    receipt = view["filing"]
    assert receipt["objid"].startswith("COO.") and receipt["idempotency_key"] == f"{view['id']}-v2"
    assert any(d.coo == receipt["objid"] for d in efile.list_documents(view["procedure_coo"]))
    engine.dispose()
    # the receipt is stored: a new service on the URL (make_engine path) reads it back
    again = LetterService(pg_url, efile, demo_kb)
    stored = again.get(ANNA, view["id"])
    assert stored["state"] == "filed" and stored["filing"]["objid"] == receipt["objid"]
    assert stored["filing"]["filed_at"] and stored["comments"][-1]["text"] == "Geprüft."
    with again.Session() as s:
        letter = s.get(Letter, view["id"])
        assert letter.filed_at.tzinfo is not None  # timestamptz on PostgreSQL
        assert s.scalar(sa.select(sa.func.count()).select_from(LetterVersion)
                        .where(LetterVersion.letter_id == view["id"])) == 3
    again.engine.dispose()
