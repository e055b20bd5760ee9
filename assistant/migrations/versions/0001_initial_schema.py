"""Initial schema: conversations, messages, audit events (assistant) and letters, letter versions,
letter comments (letter workflow).

Generated with autogenerate from the models of assistant.db and assistant.letters.models, then
reviewed: plain ``op.create_index`` (no batch mode needed for new tables), tables created in foreign
key order, and databases made by earlier Lotse versions with ``Base.metadata.create_all`` (no
``alembic_version`` yet) are adopted: a table that already exists is left as it is (create_all made
it with the same columns and indexes), only the missing ones are created.

Revision ID: 0001
Revises:
Create Date: 2026-05-21
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _existing_tables() -> set[str]:
    if context.is_offline_mode():  # rendering SQL: assume an empty database
        return set()
    return set(sa.inspect(op.get_bind()).get_table_names())


def _table(existing: set[str], name: str, *columns, indexes: tuple[str, ...] = ()) -> None:
    if name in existing:
        return
    op.create_table(name, *columns)
    for column in indexes:
        op.create_index(op.f(f"ix_{name}_{column}"), name, [column], unique=False)


def upgrade() -> None:
    existing = _existing_tables()
    # -- assistant (assistant/db.py)
    _table(existing, "conversations",
           sa.Column("id", sa.String(length=32), nullable=False),
           sa.Column("user_id", sa.String(length=200), nullable=False),
           sa.Column("title", sa.String(length=200), nullable=False),
           sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
           sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
           sa.PrimaryKeyConstraint("id"),
           indexes=("user_id",))
    _table(existing, "messages",
           sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
           sa.Column("conversation_id", sa.String(length=32), nullable=False),
           sa.Column("role", sa.String(length=16), nullable=False),
           sa.Column("content", sa.Text(), nullable=False),
           sa.Column("standalone_query", sa.Text(), nullable=True),
           sa.Column("citations", sa.Text(), nullable=False),
           sa.Column("provider", sa.String(length=40), nullable=True),
           sa.Column("fallback", sa.Text(), nullable=True),
           sa.Column("refused", sa.Boolean(), nullable=False),
           sa.Column("cancelled", sa.Boolean(), nullable=False),
           sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
           sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
           sa.PrimaryKeyConstraint("id"),
           indexes=("conversation_id",))
    _table(existing, "audit_events",
           sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
           sa.Column("at", sa.DateTime(timezone=True), nullable=False),
           sa.Column("user_id", sa.String(length=200), nullable=False),
           sa.Column("action", sa.String(length=60), nullable=False),
           sa.Column("object_id", sa.String(length=100), nullable=True),
           sa.Column("outcome", sa.String(length=60), nullable=False),
           sa.PrimaryKeyConstraint("id"),
           indexes=("action", "at", "user_id"))
    # -- letter workflow (assistant/letters/models.py)
    _table(existing, "letters",
           sa.Column("id", sa.String(length=32), nullable=False),
           sa.Column("aktenzeichen", sa.String(length=100), nullable=False),
           sa.Column("case_coo", sa.String(length=100), nullable=False),
           sa.Column("procedure_coo", sa.String(length=100), nullable=True),
           sa.Column("case_type", sa.String(length=40), nullable=True),
           sa.Column("template", sa.String(length=100), nullable=False),
           sa.Column("title", sa.String(length=200), nullable=False),
           sa.Column("four_eyes", sa.Boolean(), nullable=False),
           sa.Column("state", sa.String(length=20), nullable=False),
           sa.Column("author_id", sa.String(length=200), nullable=False),
           sa.Column("author_name", sa.String(length=200), nullable=False),
           sa.Column("approver_id", sa.String(length=200), nullable=True),
           sa.Column("approver_name", sa.String(length=200), nullable=True),
           sa.Column("version", sa.Integer(), nullable=False),
           sa.Column("idempotency_key", sa.String(length=100), nullable=True),
           sa.Column("filing_objid", sa.String(length=100), nullable=True),
           sa.Column("filing_objname", sa.String(length=400), nullable=True),
           sa.Column("filing_error", sa.Text(), nullable=True),
           sa.Column("filing_attempts", sa.Integer(), nullable=False),
           sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
           sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
           sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
           sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
           sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
           sa.PrimaryKeyConstraint("id"),
           indexes=("aktenzeichen", "author_id", "state", "template"))
    _table(existing, "letter_versions",
           sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
           sa.Column("letter_id", sa.String(length=32), nullable=False),
           sa.Column("seq", sa.Integer(), nullable=False),
           sa.Column("version", sa.Integer(), nullable=True),
           sa.Column("based_on", sa.Integer(), nullable=True),
           sa.Column("adopted", sa.Boolean(), nullable=False),
           sa.Column("kind", sa.String(length=30), nullable=False),
           sa.Column("fields_json", sa.Text(), nullable=False),
           sa.Column("proposals_json", sa.Text(), nullable=False),
           sa.Column("user_id", sa.String(length=200), nullable=False),
           sa.Column("user_name", sa.String(length=200), nullable=False),
           sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
           sa.ForeignKeyConstraint(["letter_id"], ["letters.id"]),
           sa.PrimaryKeyConstraint("id"),
           sa.UniqueConstraint("letter_id", "seq", name="uq_letter_version_seq"),
           sa.UniqueConstraint("letter_id", "version", name="uq_letter_version_number"),
           indexes=("letter_id",))
    _table(existing, "letter_comments",
           sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
           sa.Column("letter_id", sa.String(length=32), nullable=False),
           sa.Column("version", sa.Integer(), nullable=True),
           sa.Column("kind", sa.String(length=30), nullable=False),
           sa.Column("text", sa.Text(), nullable=False),
           sa.Column("user_id", sa.String(length=200), nullable=False),
           sa.Column("user_name", sa.String(length=200), nullable=False),
           sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
           sa.ForeignKeyConstraint(["letter_id"], ["letters.id"]),
           sa.PrimaryKeyConstraint("id"),
           indexes=("letter_id",))


def downgrade() -> None:
    for name in ("letter_comments", "letter_versions", "letters", "audit_events", "messages", "conversations"):
        op.drop_table(name)  # drops the table's indexes with it
