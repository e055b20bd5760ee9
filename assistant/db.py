"""The assistant's SQL data (conversations, messages, audit events) via SQLAlchemy.

SQLite by default (a file in LOTSE_DATA_DIR); any SQLAlchemy URL such as
``postgresql+psycopg://...`` works the same. The schema is managed by Alembic migrations
(``assistant/migrations``); :func:`make_engine` upgrades the database to the newest one.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from indexer.catalog_db import sqlite_pragmas


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    messages: Mapped[list["Message"]] = relationship(back_populates="conversation", cascade="all, delete-orphan",
                                                     order_by="Message.id")


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # user | assistant
    content: Mapped[str] = mapped_column(Text)
    standalone_query: Mapped[str | None] = mapped_column(Text, nullable=True)
    citations: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")  # source references
    provider: Mapped[str | None] = mapped_column(String(40), nullable=True)
    fallback: Mapped[str | None] = mapped_column(Text, nullable=True)
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class AuditEvent(Base):
    """(when, principal, action, object id, outcome): never question or letter text."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    outcome: Mapped[str] = mapped_column(String(60))


class User(Base):
    """A person who may log in: local account (argon2 password hash) or single sign-on (no hash).

    ``roles`` is a JSON list of role names; ``departments`` is comma-separated, ``*`` means all departments."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # login name / OIDC subject
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(400), nullable=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    departments: Mapped[str] = mapped_column(String(1000), default="")
    source: Mapped[str] = mapped_column(String(20), default="local")  # local | oidc
    # the caseworker's own contact on letters (information block); empty: only the name is printed
    zimmer: Mapped[str | None] = mapped_column(String(50), nullable=True)
    telefon: Mapped[str | None] = mapped_column(String(50), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebSession(Base):
    """A browser session: the cookie carries a random token, the database only its SHA-256. Logout,
    locking the account or a new password end it at once, on every server process."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Feedback(Base):
    """Thumbs up/down on an answer, with an optional comment (the comment is free text of staff)."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(Integer, index=True)
    conversation_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    rating: Mapped[int] = mapped_column(Integer)  # +1 | -1
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class LoginFailure(Base):
    """One failed login, counted by the login rate limit of every server process on this database. The key
    is the SHA-256 of "user:<name>" or "addr:<address>" (no names or addresses in clear); rows older than
    the window are deleted."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ReindexJobRecord(Base):
    """An administration re-index (state and progress), visible to every server process. ``slot`` is 1
    while the job runs and NULL afterwards; its unique constraint lets only one job run at a time, across
    processes and hosts. ``heartbeat_at`` is renewed while the running process lives."""

    __tablename__ = "reindex_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))  # läuft | fertig | fehler
    slot: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(400), default="")
    reports: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")  # index reports
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def _json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def make_engine(url: str) -> Engine:
    kw = {}
    if url.startswith("sqlite"):
        kw["connect_args"] = {"check_same_thread": False, "timeout": 30}
    # hide_parameters: an SQL error never carries bound values (question, letter field contents) into logs
    # JSON columns: stored readable (umlauts as they are) and with sorted keys, as text on SQLite
    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, json_serializer=_json_dumps, **kw)
    if url.startswith("sqlite"):
        sqlite_pragmas(engine, "journal_mode=WAL", "foreign_keys=ON")
    upgrade_schema(engine)
    return engine


def upgrade_schema(engine: Engine) -> None:
    """Bring the database to the newest Alembic migration (``alembic upgrade head``), for every
    database, SQLite included: creates a new database, upgrades an older one, adopts one made by
    ``create_all``. Safe when several processes start at once (see :mod:`assistant.migrations`)."""
    from .migrations import upgrade  # late: the migrations import this module's models

    upgrade(engine)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
