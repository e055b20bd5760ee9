"""Migration 0008: JSON stored as text becomes SQLAlchemy ``JSON`` columns and roles a JSON list, with
the data of an existing database converted, on SQLite and (with ``LOTSE_TEST_POSTGRES_URL``, started
by ``scripts/test.sh``) on PostgreSQL; the downgrade converts back."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command

from assistant.accounts import AccountStore
from assistant.db import User
from assistant.letters.models import Letter, LetterComment, LetterVersion
from assistant.migrations import alembic_config, upgrade
from tests.integration.test_postgres import pg_server, pg_url  # noqa: F401  (fixtures)

FIELDS = {"akte": {"aktenzeichen": "S-III-WG/2026/000001"}, "begruendung": "Sehr geehrte Frau Müller"}
PROPOSALS = {"begruendung": {"proposal": True, "value": "Text", "sources": []}}
NOTES = ["Die Frist läuft bis 26.05.2026."]


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
        upgrade(engine, "head")  # and up again
        _check_converted(engine)
    finally:
        engine.dispose()


def test_json_columns_are_converted_on_sqlite(tmp_path):
    _roundtrip(f"sqlite:///{tmp_path / 'old.db'}")


def test_json_columns_are_converted_on_postgres(pg_url):  # noqa: F811
    pytest.importorskip("psycopg")
    _roundtrip(pg_url)
