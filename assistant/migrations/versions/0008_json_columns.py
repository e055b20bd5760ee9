"""JSON in SQL through SQLAlchemy's JSON type; roles as a JSON list.

* ``users.roles``: comma-separated text (``"pruefung,sachbearbeitung"``) -> a JSON list
  (``["pruefung", "sachbearbeitung"]``; ``""`` -> ``[]``).
* ``letter_versions.fields_json`` / ``proposals_json`` (JSON as text) -> ``fields`` / ``proposals`` (JSON).
* ``letters.rule_notes`` (JSON as text) -> JSON.

Each column is converted the same way on SQLite and PostgreSQL, without copying a table (SQLite's
batch mode would drop and recreate ``letters``, which its letter versions and comments reference):
a new JSON column is added, filled from the old one in one UPDATE (the stored text already is JSON;
PostgreSQL casts it, the roles are turned into a JSON array by string functions both databases
have), the old column is dropped and the new one renamed (``ALTER TABLE ... DROP COLUMN`` /
``RENAME COLUMN``: SQLite 3.35+, PostgreSQL). NOT NULL columns keep an empty JSON value as server
default (SQLite adds a NOT NULL column only with a default). The downgrade converts back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

#: (table, old column, new column, NOT NULL server default or None for a nullable column)
JSON_COLUMNS = (
    ("letter_versions", "fields_json", "fields", "{}"),
    ("letter_versions", "proposals_json", "proposals", "{}"),
    ("letters", "rule_notes", "rule_notes", None),
)
TMP = "{}_conv"


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _replace(table: str, old: str, new: str, column: sa.Column, value: str) -> None:
    """Add ``column`` (named ``<new>_conv``), set it to the SQL expression ``value`` (of ``old``), drop
    ``old``, rename the new column to ``new``."""
    op.add_column(table, column)
    op.execute(f"UPDATE {table} SET {column.name} = {value}")
    op.execute(f"ALTER TABLE {table} DROP COLUMN {old}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {column.name} TO {new}")


def _json_column(name: str, default: str | None) -> sa.Column:
    if default is None:
        return sa.Column(name, sa.JSON(none_as_null=True), nullable=True)
    return sa.Column(name, sa.JSON(), nullable=False, server_default=default)


def _text_column(name: str, default: str | None, length: int | None = None) -> sa.Column:
    kind = sa.String(length=length) if length else sa.Text()
    if default is None:
        return sa.Column(name, kind, nullable=True)
    return sa.Column(name, kind, nullable=False, server_default=default)


def upgrade() -> None:
    cast = "CAST({} AS JSON)" if _postgres() else "{}"
    for table, old, new, default in JSON_COLUMNS:
        tmp = TMP.format(new)
        _replace(table, old, new, _json_column(tmp, default), cast.format(old))
    # "a,b" -> '["a","b"]', "" -> '[]' (role names are plain words: no quotes or commas inside)
    array = "CASE WHEN roles = '' THEN '[]' ELSE '[\"' || replace(roles, ',', '\",\"') || '\"]' END"
    _replace("users", "roles", "roles", _json_column(TMP.format("roles"), "[]"), cast.format(array))


def downgrade() -> None:
    text = "CAST({} AS TEXT)" if _postgres() else "{}"
    # '["a", "b"]' -> "a,b"
    csv = "replace(replace(replace(replace({}, '[', ''), ']', ''), '\"', ''), ' ', '')".format(text.format("roles"))
    _replace("users", "roles", "roles", _text_column(TMP.format("roles"), "", 400), csv)
    for table, old, new, default in reversed(JSON_COLUMNS):
        tmp = TMP.format(old)
        _replace(table, new, old, _text_column(tmp, None if default is None else ""), text.format(new))
