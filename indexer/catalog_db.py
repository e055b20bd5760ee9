"""The index catalog's database layer (:mod:`indexer.catalog`): where the catalog lives, its
transactions, dialect details and the writers' lock.

:class:`CatalogDatabase` opens an SQLite file (``index.sqlite3``, WAL mode, the embedded default) or
an SQL database (PostgreSQL: tables prefixed ``index_``), creates the tables of
:func:`indexer.catalog_schema.tables`, and offers what the catalog's operations are written with:
one write transaction (:meth:`CatalogDatabase._tx`), upserts for either dialect, the generation
counter every committed write bumps, and :meth:`CatalogDatabase.write_lock` (a PostgreSQL advisory
lock on the database, a file lock next to the SQLite file), so that writers of several processes
and hosts never interleave. What is stored, and how, is :class:`indexer.catalog.Catalog`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from .catalog_schema import DB_PREFIX, tables

try:  # POSIX only; without it writers of an SQLite catalog are not serialised between processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

log = logging.getLogger("indexer.catalog")  # the catalog's one logger, wherever its code lives

#: PostgreSQL advisory lock keys (any constant 64-bit numbers; "LotseW" / "LotseS" in ASCII): the
#: writers' lock and the lock held while the tables are created
WRITE_LOCK_KEY = 0x4C6F74736557
SCHEMA_LOCK_KEY = 0x4C6F74736553


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


class CatalogDatabase:
    """The connection layer of a catalog on an SQLite file (``CatalogDatabase(path)``) or on an SQL
    database (``url=...`` or ``engine=...``, tables prefixed ``index_``)."""

    def __init__(self, path: Path | None = None, *, url: str | None = None, engine: Engine | None = None):
        if (path is None) == (url is None and engine is None):
            raise ValueError(f"{type(self).__name__} needs either a file path or a database (url or engine)")
        self._local = threading.local()
        if path is not None:
            self.path: Path | None = Path(path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            engine = _sqlite_engine(f"sqlite:///{self.path}")
            prefix = ""
        else:
            self.path = None
            if engine is None:
                engine = (_sqlite_engine(url) if url.startswith("sqlite") else
                          sa.create_engine(url, pool_pre_ping=True, hide_parameters=True, json_serializer=_dumps))
            prefix = DB_PREFIX
        self.engine = engine
        self.dialect = engine.dialect.name
        #: True when the catalog is in the SQL database (shared by every process and host using it)
        self.shared = self.path is None
        md = tables(prefix, sequence=self.dialect != "sqlite")
        self.t = SimpleNamespace(**{name[len(prefix):]: tbl for name, tbl in md.tables.items()})
        self._auto = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._lock_file = (Path(engine.url.database).with_name(Path(engine.url.database).name + ".lock")
                           if self.dialect == "sqlite" and engine.url.database not in (None, "", ":memory:") else None)
        if self.dialect == "postgresql":
            with engine.begin() as conn:  # several processes may start at once: create the tables once
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))
                md.create_all(conn, checkfirst=True)
        else:
            with self._tx() as conn:
                md.create_all(conn, checkfirst=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path or self.engine.url.render_as_string(hide_password=True)!r})"

    def where(self) -> str:
        """Where the catalog lives, for messages (no password)."""
        return str(self.path) if self.path else self.engine.url.render_as_string(hide_password=True)

    # -- connections ----------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        """A raw sqlite3 connection of this thread in autocommit mode (SQLite file only; for tests and
        debugging: the plain table names, ``?`` parameters)."""
        if self.path is None:
            raise TypeError("only an SQLite catalog file has a raw sqlite3 connection")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._local.conn = conn
        return conn

    def _rows(self, stmt) -> list:
        with self._auto.connect() as conn:
            return conn.execute(stmt).all()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One write transaction. SQLite: ``BEGIN IMMEDIATE`` (the write lock at once, waiting up to the
        busy timeout for another process); PostgreSQL: READ COMMITTED."""
        if self.dialect == "sqlite":
            with self._auto.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
            return
        with self.engine.begin() as conn:
            yield conn

    def _insert(self, table: sa.Table):
        """An INSERT that supports ``on_conflict_do_update`` / ``_do_nothing`` on this database."""
        return (pg_dialect.insert if self.dialect == "postgresql" else sqlite_dialect.insert)(table)

    def _upsert(self, table: sa.Table, keys: list[str], rows: list[dict]):
        """INSERT ... ON CONFLICT (keys) DO UPDATE every other column (``INSERT OR REPLACE``)."""
        stmt = self._insert(table)
        return stmt.on_conflict_do_update(
            index_elements=keys, set_={c.name: stmt.excluded[c.name] for c in table.columns
                                        if c.name not in keys and c.name != "seq"}), rows

    def _text(self, value):
        """PostgreSQL text cannot hold NUL characters (SQLite can); they are dropped there."""
        if self.dialect == "postgresql" and isinstance(value, str) and "\x00" in value:
            return value.replace("\x00", "")
        return value

    # -- the writers' lock ------------------------------------------------------------------------
    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive for writers of this catalog, across threads, processes and (on PostgreSQL) hosts:
        a session-level advisory lock on PostgreSQL (released by the server when the process dies), an
        ``flock`` on ``<catalog file>.lock`` for SQLite. Re-entrant within a thread."""
        depth = getattr(self._local, "lock_depth", 0)
        if depth:
            self._local.lock_depth = depth + 1
            try:
                yield
            finally:
                self._local.lock_depth = depth
            return
        with self._acquire():
            self._local.lock_depth = 1
            try:
                yield
            finally:
                self._local.lock_depth = 0

    @contextmanager
    def _acquire(self) -> Iterator[None]:
        if self.dialect == "postgresql":
            conn = self._auto.connect()
            try:
                if not conn.execute(sa.select(sa.func.pg_try_advisory_lock(WRITE_LOCK_KEY))).scalar():
                    log.info("another process writes to the index; waiting for it")
                    conn.execute(sa.select(sa.func.pg_advisory_lock(WRITE_LOCK_KEY)))
                yield
            finally:
                try:
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(WRITE_LOCK_KEY)))
                except Exception as exc:  # noqa: BLE001 - a dropped connection took the lock with it
                    log.warning("index write lock: unlock failed (%s); dropping the connection", exc)
                    conn.invalidate()
                conn.close()
            return
        if self._lock_file is None or fcntl is None:
            yield
            return
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("another process writes to the index; waiting for it")
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    # -- helpers of the catalog's operations ------------------------------------------------------
    def _bump(self, db: Connection) -> None:
        """Raise the generation (the change signal readers follow) inside the write transaction ``db``."""
        m = self.t.meta
        stmt = self._insert(m).values(key="generation", value="1")
        db.execute(stmt.on_conflict_do_update(
            index_elements=["key"], set_={"value": sa.cast(sa.cast(m.c.value, sa.Integer) + 1, sa.Text)}))

    def _empty(self, *tables: sa.Table) -> bool:
        """True when none of ``tables`` holds a row."""
        with self._auto.connect() as db:
            return not any(db.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first() for t in tables)


def _sqlite_engine(url: str) -> Engine:
    """An engine on an SQLite file: autocommit connections (writes open ``BEGIN IMMEDIATE`` themselves,
    :meth:`CatalogDatabase._tx`), WAL, 30 s busy timeout."""
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                              isolation_level="AUTOCOMMIT", hide_parameters=True, json_serializer=_dumps)

    sqlite_pragmas(engine, "journal_mode=WAL", "synchronous=NORMAL")
    return engine


def sqlite_pragmas(engine: Engine, *pragmas: str) -> None:
    """Run ``PRAGMA <pragma>`` for each of ``pragmas`` on every new connection of the SQLite ``engine``
    (the catalog's and the assistant's database)."""

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _):  # noqa: ANN001
        cur = dbapi_conn.cursor()
        for pragma in pragmas:
            cur.execute(f"PRAGMA {pragma}")
        cur.close()
