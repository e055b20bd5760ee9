"""Migrations 0008 and 0009: JSON stored as text becomes SQLAlchemy ``JSON`` columns and roles a JSON
list, with the data of an existing database converted, on SQLite and (with ``LOTSE_TEST_POSTGRES_URL``, started
by ``scripts/test.sh``) on PostgreSQL; the downgrade converts back."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command

from assistant.accounts import AccountStore
from assistant.db import Message, ReindexJobRecord, User
from assistant.letters.models import Letter, LetterComment, LetterVersion
from assistant.migrations import alembic_config, upgrade
from assistant.training_models import ModelAnswer, TrainingQuiz, TrainingResult
from tests.integration.test_postgres import pg_server, pg_url  # noqa: F401  (fixtures)

FIELDS = {"akte": {"aktenzeichen": "S-III-WG/2026/000001"}, "begruendung": "Sehr geehrte Frau Müller"}
PROPOSALS = {"begruendung": {"proposal": True, "value": "Text", "sources": []}}
NOTES = ["Die Frist läuft bis 26.05.2026."]
CITATIONS = [{"n": 1, "chunk_id": "c-1", "source": "S-III/wohngeld.md", "title": "Merkblatt Wohngeld", "section": "Größe",
              "department": "S-III"}]
REPORTS = [{"added": 3, "updated": 0, "errors": [{"source": "kaputt.pdf", "reason": "nicht lesbar"}], "warnings": []}]
QUESTIONS = [{"id": "q1", "kind": "frist", "prompt": "Wie lange läuft die Frist?", "answer": "1 Monat",
              "options": ["1 Monat", "2 Wochen"]}]
DETAILS = [{"id": "q1", "correct": True, "given": "1 Monat"}]
#: table -> (key column, JSON column, {key: stored text in revision 0007: JSON, or "" as nothing valid})
TEXT_ROWS = {
    "messages": ("id", "citations", {1: "[]", 2: json.dumps(CITATIONS, ensure_ascii=False), 3: ""}),
    "reindex_jobs": ("id", "reports", {"j1": json.dumps(REPORTS, ensure_ascii=False), "j2": "[]"}),
    "training_quizzes": ("id", "questions", {"z1": json.dumps(QUESTIONS, ensure_ascii=False)}),
    "training_results": ("quiz_id", "details", {"z1": json.dumps(DETAILS)}),
    "model_answers": ("id", "citations", {1: json.dumps(CITATIONS)}),
}


def _old_rows(conn) -> None:
    """Rows as revision 0007 stored them: JSON as text, roles comma-separated."""
    now = sa.func.now()
    conn.execute(sa.text("INSERT INTO users (id, display_name, roles, departments, source, active, created_at) "
                         "VALUES ('anna', 'Anna', 'pruefung,sachbearbeitung', 'S-III', 'local', true, :now), "
                         "('leer', 'Leer', '', '*', 'local', true, :now)"), {"now": conn.scalar(sa.select(now))})
    conn.execute(sa.text(
        "INSERT INTO letters (id, aktenzeichen, case_coo, template, title, four_eyes, state, author_id, author_name, "
        "version, filing_attempts, rule_notes, created_at, updated_at) VALUES "
        "('l1', 'AZ-1', 'COO.1', 'anhoerung', 'Anhörung', false, 'draft', 'anna', 'Anna', 1, 0, :notes, :now, :now), "
        "('l2', 'AZ-2', 'COO.2', 'anhoerung', 'Anhörung', false, 'draft', 'anna', 'Anna', 1, 0, NULL, :now, :now)"),
        {"notes": json.dumps(NOTES, ensure_ascii=False), "now": conn.scalar(sa.select(now))})
    conn.execute(sa.text(
        "INSERT INTO letter_versions (letter_id, seq, version, adopted, kind, fields_json, proposals_json, user_id, "
        "user_name, created_at) VALUES ('l1', 1, 1, true, 'created', :f, :p, 'anna', 'Anna', :now)"),
        {"f": json.dumps(FIELDS, ensure_ascii=False, sort_keys=True), "p": json.dumps(PROPOSALS),
         "now": conn.scalar(sa.select(now))})
    conn.execute(sa.text("INSERT INTO letter_comments (letter_id, version, kind, text, user_id, user_name, created_at) "
                         "VALUES ('l1', 1, 'comment', 'bleibt', 'anna', 'Anna', :now)"),
                 {"now": conn.scalar(sa.select(now))})
    _old_text_rows(conn, conn.scalar(sa.select(now)))


def _old_text_rows(conn, now) -> None:
    """The other JSON-as-text columns of revision 0007 (converted by 0009)."""
    conn.execute(sa.text("INSERT INTO conversations (id, user_id, title, created_at, updated_at) "
                         "VALUES ('c1', 'anna', 'Frage', :now, :now)"), {"now": now})
    for mid, citations in TEXT_ROWS["messages"][2].items():
        conn.execute(sa.text("INSERT INTO messages (id, conversation_id, role, content, citations, refused, cancelled, "
                             "created_at) VALUES (:id, 'c1', 'assistant', 'Antwort', :c, false, false, :now)"),
                     {"id": mid, "c": citations, "now": now})
    for jid, reports in TEXT_ROWS["reindex_jobs"][2].items():
        conn.execute(sa.text("INSERT INTO reindex_jobs (id, state, done, total, message, reports, started_at, "
                             "heartbeat_at) VALUES (:id, 'fertig', 3, 3, '', :r, :now, :now)"),
                     {"id": jid, "r": reports, "now": now})
    conn.execute(sa.text("INSERT INTO training_quizzes (id, user_id, path_id, seed, questions, created_at) "
                         "VALUES ('z1', 'anna', 'wohngeld', 7, :q, :now)"),
                 {"q": TEXT_ROWS["training_quizzes"][2]["z1"], "now": now})
    conn.execute(sa.text("INSERT INTO training_results (quiz_id, user_id, display_name, path_id, path_title, score, "
                         "total, details, created_at) VALUES ('z1', 'anna', 'Anna', 'wohngeld', 'Wohngeld', 1, 1, :d, "
                         ":now)"), {"d": TEXT_ROWS["training_results"][2]["z1"], "now": now})
    conn.execute(sa.text("INSERT INTO model_answers (id, question, answer, citations, departments, created_by, "
                         "created_at) VALUES (1, 'Frage?', 'Antwort [1].', :c, 'S-III', 'anna', :now)"),
                 {"c": TEXT_ROWS["model_answers"][2][1], "now": now})


def _check_text_converted(engine) -> None:
    with sa.orm.Session(engine) as s:
        assert dict(s.execute(sa.select(Message.id, Message.citations)).all()) == {1: [], 2: CITATIONS, 3: []}
        assert dict(s.execute(sa.select(ReindexJobRecord.id, ReindexJobRecord.reports)).all()) == {
            "j1": REPORTS, "j2": []}
        assert s.get(TrainingQuiz, "z1").questions == QUESTIONS
        assert s.scalars(sa.select(TrainingResult.details)).one() == DETAILS
        assert s.get(ModelAnswer, 1).citations == CITATIONS
        # written and read as Python values; the server default fills a row written without the column
        s.get(Message, 1).citations = CITATIONS
        s.commit()
        assert s.scalar(sa.select(Message.citations).where(Message.id == 1)) == CITATIONS
        s.get(Message, 1).citations = []
        s.commit()
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO reindex_jobs (id, state, done, total, message, started_at, heartbeat_at) "
                             "VALUES ('j3', 'fertig', 0, 0, '', :now, :now)"), {"now": conn.scalar(sa.select(sa.func.now()))})
    with sa.orm.Session(engine) as s:
        assert s.get(ReindexJobRecord, "j3").reports == []
        s.delete(s.get(ReindexJobRecord, "j3"))
        s.commit()
    for table, (_key, column, _rows) in TEXT_ROWS.items():
        cols = {c["name"]: c for c in sa.inspect(engine).get_columns(table)}
        assert isinstance(cols[column]["type"], sa.JSON) and not cols[column]["nullable"], (table, column)


def _check_text_back(conn) -> None:
    """After the downgrade: the same JSON as text ("" was stored as "[]")."""
    for table, (key, column, rows) in TEXT_ROWS.items():
        stored = dict(conn.execute(sa.text(f"SELECT {key}, {column} FROM {table}")).all())
        assert {k: json.loads(v) for k, v in stored.items()} == {k: json.loads(v or "[]") for k, v in rows.items()}


def _check_converted(engine) -> None:
    with sa.orm.Session(engine) as s:
        anna = s.get(User, "anna")
        assert anna.roles == ["pruefung", "sachbearbeitung"]
        assert AccountStore.principal(anna).roles == frozenset({"pruefung", "sachbearbeitung"})
        assert s.get(User, "leer").roles == []
        assert s.get(Letter, "l1").rule_notes == NOTES and s.get(Letter, "l2").rule_notes is None
        v = s.scalars(sa.select(LetterVersion)).one()
        assert (v.fields, v.proposals) == (FIELDS, PROPOSALS)
        assert s.scalars(sa.select(LetterComment.text)).all() == ["bleibt"]  # the letters' children are kept
    _check_text_converted(engine)
    cols = {c["name"]: c for c in sa.inspect(engine).get_columns("letter_versions")}
    assert {"fields", "proposals"} <= set(cols) and "fields_json" not in cols


def _roundtrip(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    if url.startswith("sqlite"):  # as make_engine does: the letters' children are checked
        sa.event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
    try:
        upgrade(engine, "0007")
        with engine.begin() as conn:
            _old_rows(conn)
        upgrade(engine, "head")
        _check_converted(engine)
        with engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), "0007")
        with engine.connect() as conn:
            roles = dict(conn.execute(sa.text("SELECT id, roles FROM users")).all())
            assert roles == {"anna": "pruefung,sachbearbeitung", "leer": ""}
            row = conn.execute(sa.text("SELECT fields_json, proposals_json FROM letter_versions")).one()
            assert (json.loads(row[0]), json.loads(row[1])) == (FIELDS, PROPOSALS)
            notes = dict(conn.execute(sa.text("SELECT id, rule_notes FROM letters")).all())
            assert json.loads(notes["l1"]) == NOTES and notes["l2"] is None
            _check_text_back(conn)
        upgrade(engine, "head")  # and up again
        _check_converted(engine)
    finally:
        engine.dispose()


def test_json_columns_are_converted_on_sqlite(tmp_path):
    _roundtrip(f"sqlite:///{tmp_path / 'old.db'}")


def test_json_columns_are_converted_on_postgres(pg_url):  # noqa: F811
    pytest.importorskip("psycopg")
    _roundtrip(pg_url)
