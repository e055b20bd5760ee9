"""Alembic migrations of Lotse's SQL schema: the assistant's tables (conversations, messages, audit
events) and the letter workflow's tables, on SQLite and PostgreSQL alike.

The configuration lives in code (:func:`alembic_config`); no ``alembic.ini`` is needed anywhere::

    from alembic import command
    from assistant.migrations import alembic_config
    command.upgrade(alembic_config("postgresql+psycopg://lotse:pw@host/lotse"), "head")
    command.revision(alembic_config("sqlite:///dev.db"), "add x", autogenerate=True)  # new revision

At run time :func:`assistant.db.make_engine` calls :func:`upgrade` for every database, so a new
database is created and an existing one brought up to date on start-up. :func:`upgrade` is safe when
several processes start at once: the whole upgrade runs in ONE transaction that first takes a lock
(PostgreSQL: a transaction-scoped advisory lock; SQLite: ``BEGIN IMMEDIATE``, the database's write
lock; between threads of one process also a ``threading`` lock). Whoever comes second waits, then
finds the schema at head and does nothing. Both databases have transactional DDL, so a failing
migration leaves the schema as it was.

Databases created by earlier Lotse versions with ``create_all`` (no ``alembic_version`` table) are
adopted by the first revision: it creates only the tables that are missing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent
#: key of the PostgreSQL advisory lock held while migrating (any constant 64-bit number; "Lotse" in ASCII)
PG_LOCK_KEY = 0x4C6F747365
# Alembic keeps its running context in module globals (``alembic.context``, ``alembic.op``), so two
# threads of one process must not migrate at the same time, whatever the database
_THREAD_LOCK = threading.RLock()


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` without a file: ``script_location`` is this package's folder.

    Give ``connection`` to run on an open connection (its transaction is used as is), or ``url``;
    without either, ``env.py`` reads ``LOTSE_DATABASE_URL``.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolation
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def target_metadata():
    """``Base.metadata`` with every model registered (the assistant's and the letters')."""
    from assistant.db import Base
    import assistant.letters.models  # noqa: F401  (registers the letter tables on Base)
    import assistant.training_models  # noqa: F401  (registers the trainer mode's tables on Base)

    return Base.metadata


def _run(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection=connection), revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate ``engine``'s database to ``revision`` in one locked transaction (see the module doc)."""
    with _THREAD_LOCK:
        _upgrade_locked(engine, revision)


def _upgrade_locked(engine: Engine, revision: str) -> None:
    dialect = engine.dialect.name
    if dialect == "sqlite":
        # pysqlite does not BEGIN before DDL by itself; with the driver in autocommit mode we open the
        # transaction ourselves, as BEGIN IMMEDIATE: it takes the write lock at once (waiting up to the
        # busy timeout for another process that is migrating), so two starts never both create tables.
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                _run(conn, revision)
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
        return
    with engine.begin() as conn:
        if dialect == "postgresql":
            # released by the COMMIT/ROLLBACK at the end of this block; a second process waits here
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        _run(conn, revision)
