"""JSON in SQL through SQLAlchemy's JSON type; roles as a JSON list.

* ``users.roles``: comma-separated text (``"pruefung,sachbearbeitung"``) -> a JSON list
  (``["pruefung", "sachbearbeitung"]``; ``""`` -> ``[]``).
* ``letter_versions.fields_json`` / ``proposals_json`` (JSON as text) -> ``fields`` / ``proposals`` (JSON).
* ``letters.rule_notes`` (JSON as text) -> JSON.

Each column is converted the same way on SQLite and PostgreSQL without copying a table (SQLite's
batch mode would drop and recreate ``letters``, which its letter versions and comments reference); see
:mod:`assistant.migrations.json_columns`. The roles are turned into a JSON array by string functions both
databases have. The downgrade converts back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from assistant.migrations.json_columns import TMP, as_json, as_text, json_column, json_to_text, replace, \
    text_column, text_to_json

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


def upgrade() -> None:
    text_to_json(JSON_COLUMNS)
    # "a,b" -> '["a","b"]', "" -> '[]' (role names are plain words: no quotes or commas inside)
    array = "CASE WHEN roles = '' THEN '[]' ELSE '[\"' || replace(roles, ',', '\",\"') || '\"]' END"
    replace("users", "roles", "roles", json_column(TMP.format("roles"), "[]"), as_json(array))


def downgrade() -> None:
    # '["a", "b"]' -> "a,b"
    csv = "replace(replace(replace(replace({}, '[', ''), ']', ''), '\"', ''), ' ', '')".format(as_text("roles"))
    replace("users", "roles", "roles", text_column(TMP.format("roles"), "", 400), csv)
    json_to_text(JSON_COLUMNS)
