"""Turning JSON stored as text into SQLAlchemy ``JSON`` columns and back, for the revisions 0008 and 0009.

Each column is converted the same way on SQLite and PostgreSQL, without copying a table (SQLite's
batch mode would drop and recreate the table, and with it break the foreign keys of tables that
reference it): a new JSON column is added, filled from the old one in one UPDATE (the stored text
already is JSON; PostgreSQL casts it), the old column is dropped and the new one renamed
(``ALTER TABLE ... DROP COLUMN`` / ``RENAME COLUMN``: SQLite 3.35+, PostgreSQL). NOT NULL columns keep
an empty JSON value as server default (SQLite adds a NOT NULL column only with a default); empty text,
which never was JSON, becomes that default (NULL for a nullable column). The downgrade converts back.
"""

from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa
from alembic import op

#: the temporary name of the new column while the old one still exists
TMP = "{}_conv"

#: (table, old column, new column, NOT NULL server default such as "[]", or None for a nullable column)
JsonColumn = tuple[str, str, str, "str | None"]


def postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def replace(table: str, old: str, new: str, column: sa.Column, value: str) -> None:
    """Add ``column`` (named ``<new>_conv``), set it to the SQL expression ``value`` (of ``old``), drop
    ``old``, rename the new column to ``new``."""
    op.add_column(table, column)
    op.execute(f"UPDATE {table} SET {column.name} = {value}")
    op.execute(f"ALTER TABLE {table} DROP COLUMN {old}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {column.name} TO {new}")


def json_column(name: str, default: str | None) -> sa.Column:
    if default is None:
        return sa.Column(name, sa.JSON(none_as_null=True), nullable=True)
    return sa.Column(name, sa.JSON(), nullable=False, server_default=default)


def text_column(name: str, default: str | None, length: int | None = None) -> sa.Column:
    kind = sa.String(length=length) if length else sa.Text()
    if default is None:
        return sa.Column(name, kind, nullable=True)
    return sa.Column(name, kind, nullable=False, server_default=default)


def as_json(expression: str) -> str:
    """The SQL expression ``expression`` (JSON text) as a value for a JSON column."""
    return f"CAST({expression} AS JSON)" if postgres() else expression


def as_text(expression: str) -> str:
    """The SQL expression ``expression`` (a JSON column) as its JSON text."""
    return f"CAST({expression} AS TEXT)" if postgres() else expression


def text_to_json(columns: Iterable[JsonColumn]) -> None:
    """Convert each text column holding JSON into a JSON column (``old`` -> ``new``), data included."""
    for table, old, new, default in columns:
        stored = f"NULLIF({old}, '')" if default is None else f"COALESCE(NULLIF({old}, ''), '{default}')"
        replace(table, old, new, json_column(TMP.format(new), default), as_json(stored))


def json_to_text(columns: Iterable[JsonColumn]) -> None:
    """The downgrade of :func:`text_to_json` (give the same columns; they are converted in reverse order)."""
    for table, old, new, default in reversed(list(columns)):
        replace(table, new, old, text_column(TMP.format(old), None if default is None else ""), as_text(new))
