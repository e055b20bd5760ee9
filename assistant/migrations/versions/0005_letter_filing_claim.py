"""Letter filing claim and retry schedule: who reserved a letter for filing and since when, and when
the background retry tries a waiting letter next.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("letters", sa.Column("filing_claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("letters", sa.Column("filing_claimed_by", sa.String(length=200), nullable=True))
    op.add_column("letters", sa.Column("filing_next_attempt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("letters") as batch:
        batch.drop_column("filing_next_attempt_at")
        batch.drop_column("filing_claimed_by")
        batch.drop_column("filing_claimed_at")
