"""The caseworker's own contact data in the user profile (room, direct line, e-mail; filled by an
administrator or from the single sign-on claims) and the office-rule notes of a letter draft.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("users", sa.Column("zimmer", sa.String(length=50), nullable=True))
    op.add_column("users", sa.Column("telefon", sa.String(length=50), nullable=True))
    op.add_column("users", sa.Column("email", sa.String(length=200), nullable=True))
    op.add_column("letters", sa.Column("rule_notes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("letters") as batch:
        batch.drop_column("rule_notes")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
        batch.drop_column("telefon")
        batch.drop_column("zimmer")
