"""Users (local accounts and single sign-on), answer feedback, and the department of each letter.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=400), nullable=True),
        sa.Column("roles", sa.String(length=400), nullable=False),
        sa.Column("departments", sa.String(length=1000), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("message_id", "conversation_id", "user_id", "created_at"):
        op.create_index(op.f(f"ix_feedback_{column}"), "feedback", [column], unique=False)
    # letters drafted before departments were recorded keep NULL: only all-department users see them
    op.add_column("letters", sa.Column("department", sa.String(length=50), nullable=True))
    op.create_index(op.f("ix_letters_department"), "letters", ["department"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("letters") as batch:
        batch.drop_index(op.f("ix_letters_department"))
        batch.drop_column("department")
    op.drop_table("feedback")
    op.drop_table("users")
