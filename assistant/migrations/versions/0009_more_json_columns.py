"""The remaining JSON stored as text becomes SQLAlchemy ``JSON`` columns (after 0008):

* ``messages.citations`` (the sources of an answer),
* ``reindex_jobs.reports`` (the index reports of an administration re-index),
* ``training_quizzes.questions``, ``training_results.details``, ``model_answers.citations`` (trainer mode).

All are NOT NULL lists, kept under their names, ``[]`` as server default. Converted like 0008 without
copying a table (``messages`` and ``training_results`` reference other tables), data included, on SQLite
and PostgreSQL; see :mod:`assistant.migrations.json_columns`. The downgrade converts back to text.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from assistant.migrations.json_columns import json_to_text, text_to_json

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

#: (table, old column, new column, NOT NULL server default)
JSON_COLUMNS = (
    ("messages", "citations", "citations", "[]"),
    ("reindex_jobs", "reports", "reports", "[]"),
    ("training_quizzes", "questions", "questions", "[]"),
    ("training_results", "details", "details", "[]"),
    ("model_answers", "citations", "citations", "[]"),
)


def upgrade() -> None:
    text_to_json(JSON_COLUMNS)


def downgrade() -> None:
    json_to_text(JSON_COLUMNS)
