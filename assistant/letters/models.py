"""SQL models of the letter workflow (on the assistant's ``Base``; tables come from the Alembic
migrations in assistant/migrations, run by ``make_engine``).

* ``Letter``: one routine letter for one case; ``version`` is the optimistic-locking counter and
  the number of the version whose field values are current.
* ``LetterVersion``: every edit is a new row with the full field values (``fields``, JSON) and who/when;
  rows are never deleted or changed. An edit that lost an optimistic-locking race is stored too
  (``adopted=False``, ``version=None``) so nothing a person wrote is lost.
* ``LetterComment``: remarks, e.g. the reason when a reviewer returns a letter.

Filing reserves the letter first: one conditional UPDATE moves it from ``approved``/``to_be_filed``
to ``filing`` and records who holds the claim and since when (``filing_claimed_*``); only the
request whose UPDATE changed the row talks to the e-file. ``filing_attempts`` doubles as the fencing
token of the claim (whoever releases or completes a claim names the attempt number it holds). A
claim older than the service's ``claim_ttl_s`` (a crashed process) may be taken over.
``filing_next_attempt_at`` is when the background retry tries a waiting letter next (backoff).

Field values contain personal data of the letter's recipient; they live only in these rows
(the letter itself), never in audit events or logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, new_id, utcnow

STATES = ("draft", "submitted", "returned", "approved", "filing", "to_be_filed", "filed")
STATE_LABELS = {"draft": "Entwurf", "submitted": "zur Prüfung eingereicht", "returned": "zurückgegeben",
                "approved": "freigegeben", "filing": "wird gerade in der E-Akte abgelegt",
                "to_be_filed": "wartet auf Ablage in der E-Akte", "filed": "in der E-Akte abgelegt"}


class Letter(Base):
    __tablename__ = "letters"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    aktenzeichen: Mapped[str] = mapped_column(String(100), index=True)
    case_coo: Mapped[str] = mapped_column(String(100))
    procedure_coo: Mapped[str | None] = mapped_column(String(100), nullable=True)
    case_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    department: Mapped[str | None] = mapped_column(String(50), nullable=True, index=True)  # of the case
    template: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(200))
    four_eyes: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    author_id: Mapped[str] = mapped_column(String(200), index=True)
    author_name: Mapped[str] = mapped_column(String(200))
    approver_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approver_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    filing_objid: Mapped[str | None] = mapped_column(String(100), nullable=True)
    filing_objname: Mapped[str | None] = mapped_column(String(400), nullable=True)
    filing_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    filing_attempts: Mapped[int] = mapped_column(Integer, default=0)
    filing_claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    filing_claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    filing_next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rule_notes: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), nullable=True)  # office-rule notes
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    filed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    versions: Mapped[list["LetterVersion"]] = relationship(back_populates="letter", order_by="LetterVersion.seq")
    comments: Mapped[list["LetterComment"]] = relationship(back_populates="letter", order_by="LetterComment.id")


class LetterVersion(Base):
    __tablename__ = "letter_versions"
    __table_args__ = (UniqueConstraint("letter_id", "seq", name="uq_letter_version_seq"),
                      UniqueConstraint("letter_id", "version", name="uq_letter_version_number"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    letter_id: Mapped[str] = mapped_column(ForeignKey("letters.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... every stored edit, adopted or not
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # letter version it became; None: lost race
    based_on: Mapped[int | None] = mapped_column(Integer, nullable=True)  # expected_version of the edit
    adopted: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[str] = mapped_column(String(30))  # created | edit | proposal_accepted | conflict | rejected_state
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")  # full field values
    proposals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")  # open/accepted
    user_id: Mapped[str] = mapped_column(String(200))
    user_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    letter: Mapped[Letter] = relationship(back_populates="versions")


class LetterComment(Base):
    __tablename__ = "letter_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    letter_id: Mapped[str] = mapped_column(ForeignKey("letters.id"), index=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(30), default="comment")  # comment | returned | approved
    text: Mapped[str] = mapped_column(Text)
    user_id: Mapped[str] = mapped_column(String(200))
    user_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    letter: Mapped[Letter] = relationship(back_populates="comments")
