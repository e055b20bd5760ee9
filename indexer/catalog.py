"""The index catalog: files, chunks (text, metadata, lexical terms), per-file errors and warnings,
a crash journal, and the state of the e-file case sync (which run saw which case).

Where it lives: an SQLite file in the data directory (``index.sqlite3``, WAL mode), the embedded
default; or the SQL database when ``LOTSE_DATABASE_URL`` points at PostgreSQL (tables ``index_files``,
``index_chunks``, ... next to the assistant's, created here; ``lotse.factory.build_knowledge_base``
decides), so that ``lotse serve`` and ``lotse index``/``lotse sync-cases`` on several hosts share one
catalog. One implementation on SQLAlchemy Core for both (:func:`tables`); the JSON columns (a chunk's
heading path, the journal's ids) use SQLAlchemy's JSON type.

Chroma holds the vectors of the same chunk ids; the journal (``pending``) makes the pair crash-safe.
The protocol itself (journal, Chroma, one catalog transaction, stale vectors, clear the journal;
replay after ``kill -9``) is :class:`indexer.pipeline.IndexWriter`, reached through
:meth:`indexer.KnowledgeBase.write_records` and :meth:`indexer.KnowledgeBase.remove`; it holds
:meth:`Catalog.write_lock` (a PostgreSQL advisory lock on the database, a file lock next to the
SQLite file) so that writers of several processes and hosts never interleave. This module only
stores. Every committed write bumps :meth:`Catalog.generation`, the change signal readers follow
(the BM25 index, and the vector store when it is a Chroma server).

Every indexed unit (a policy file, an e-file case record) is a row of ``files`` with its digest;
the case sync keeps no digest of its own (``case_state`` holds only the Aktenplan entry and the
run that last saw a case, ``case_runs`` the runs for resuming).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from .chunking import Chunk

try:  # POSIX only; without it writers of an SQLite catalog are not serialised between processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

log = logging.getLogger(__name__)

#: prefix of the catalog's tables in a shared SQL database (the SQLite file keeps the plain names)
DB_PREFIX = "index_"
#: PostgreSQL advisory lock keys (any constant 64-bit numbers; "LotseW" / "LotseS" in ASCII): the
#: writers' lock and the lock held while the tables are created
WRITE_LOCK_KEY = 0x4C6F74736557
SCHEMA_LOCK_KEY = 0x4C6F74736553
BATCH = 500  # parameters per IN (...) query


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def tables(prefix: str = "", *, sequence: bool = False) -> sa.MetaData:
    """The catalog's tables (the schema: no migrations; ``PIPELINE_VERSION`` in ``indexer/pipeline.py``
    forces re-chunking). ``prefix`` names them in a shared database; ``sequence`` adds ``chunks.seq``, the
    insertion order where the database has no ``rowid`` (PostgreSQL)."""
    md = sa.MetaData()
    text, real, integer = sa.Text, sa.Float, sa.Integer

    def table(name: str, *cols, **kw) -> sa.Table:
        return sa.Table(prefix + name, md, *cols, **kw)

    files = table(
        "files", sa.Column("file_key", text, primary_key=True), sa.Column("root", text, nullable=False),
        sa.Column("source", text, nullable=False), sa.Column("digest", text, nullable=False),
        sa.Column("title", text), sa.Column("department", text), sa.Column("doc_type", text),
        sa.Column("chunk_count", integer, nullable=False, server_default="0"),
        sa.Column("indexed_at", real, nullable=False))
    sa.Index(prefix + "files_root", files.c.root)
    chunk_cols = [
        sa.Column("chunk_id", text, primary_key=True), sa.Column("file_key", text, nullable=False),
        sa.Column("source", text, nullable=False), sa.Column("title", text, nullable=False),
        sa.Column("section", text, nullable=False), sa.Column("heading_path", sa.JSON, nullable=False),
        sa.Column("page", integer), sa.Column("department", text, nullable=False),
        sa.Column("doc_type", text, nullable=False), sa.Column("text", text, nullable=False),
        sa.Column("terms", text, nullable=False), sa.Column("ordinal", integer, nullable=False)]
    if sequence:
        chunk_cols.append(sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False))
    chunks = table("chunks", *chunk_cols)
    sa.Index(prefix + "chunks_file", chunks.c.file_key)
    table("pending", sa.Column("id", integer, primary_key=True, autoincrement=True),
          sa.Column("ids", sa.JSON, nullable=False), sqlite_autoincrement=True)
    table("errors", sa.Column("file_key", text, primary_key=True), sa.Column("source", text, nullable=False),
          sa.Column("reason", text, nullable=False), sa.Column("at", real, nullable=False))
    table("warnings", sa.Column("file_key", text, primary_key=True), sa.Column("kind", text, primary_key=True),
          sa.Column("source", text, nullable=False), sa.Column("reason", text, nullable=False),
          sa.Column("detail", text, nullable=False, server_default=""), sa.Column("at", real, nullable=False))
    table("meta", sa.Column("key", text, primary_key=True), sa.Column("value", text, nullable=False))
    table("case_state", sa.Column("coo", text, primary_key=True), sa.Column("file_key", text, nullable=False),
          sa.Column("apentry", text), sa.Column("run_id", integer), sa.Column("synced_at", real, nullable=False))
    table("case_runs", sa.Column("run_id", integer, primary_key=True, autoincrement=True),
          sa.Column("scope", text, nullable=False), sa.Column("started_at", real, nullable=False),
          sa.Column("finished_at", real), sa.Column("status", text, nullable=False), sa.Column("error", text),
          sqlite_autoincrement=True)
    return md


@dataclass(frozen=True)
class FileRecord:
    file_key: str
    root: str
    source: str
    digest: str
    chunk_ids: tuple[str, ...]


@dataclass(frozen=True)
class FileWarning:
    """Something worth knowing about an indexed file that did not stop it from being indexed."""

    kind: str  # e.g. "steering"
    reason: str  # German, complete (shown as is)
    detail: str = ""  # e.g. the sentence that caused it (shortened)


@dataclass(frozen=True)
class IndexRecord:
    """One indexed unit (a file, an e-file case record) as written by
    :meth:`indexer.KnowledgeBase.write_records`: it replaces whatever was stored under ``file_key``."""

    file_key: str
    root: str
    source: str
    digest: str
    title: str
    department: str
    doc_type: str
    chunks: tuple[Chunk, ...]
    terms: tuple[str, ...]  # analysed lexical terms, one string per chunk
    warnings: tuple[FileWarning, ...] = ()


@dataclass(frozen=True)
class ChunkRow:
    chunk_id: str
    source: str
    title: str
    section: str
    heading_path: tuple[str, ...]
    page: int | None
    department: str
    doc_type: str
    text: str


class Catalog:
    """The catalog on an SQLite file (``Catalog(path)``) or on an SQL database (``Catalog(url=...)`` or
    ``Catalog(engine=...)``, tables prefixed ``index_``)."""

    def __init__(self, path: Path | None = None, *, url: str | None = None, engine: Engine | None = None):
        if (path is None) == (url is None and engine is None):
            raise ValueError("Catalog needs either a file path or a database (url or engine)")
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
        return f"Catalog({self.path or self.engine.url.render_as_string(hide_password=True)!r})"

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
        import os

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

    # -- meta -------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        m = self.t.meta
        rows = self._rows(sa.select(m.c.value).where(m.c.key == key))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(*self._upsert(self.t.meta, ["key"], [{"key": key, "value": value}]))

    def generation(self) -> int:
        """A number that grows with every committed write or removal, by any process using this catalog."""
        return int(self.get_meta("generation") or 0)

    def _bump(self, db: Connection) -> None:
        m = self.t.meta
        stmt = self._insert(m).values(key="generation", value="1")
        db.execute(stmt.on_conflict_do_update(
            index_elements=["key"], set_={"value": sa.cast(sa.cast(m.c.value, sa.Integer) + 1, sa.Text)}))

    # -- files ------------------------------------------------------------
    def files_under(self, root: str) -> dict[str, FileRecord]:
        f, c = self.t.files, self.t.chunks
        with self._auto.connect() as db:
            files = db.execute(sa.select(f.c.file_key, f.c.root, f.c.source, f.c.digest)
                               .where(f.c.root == root)).all()
            ids: dict[str, list[str]] = {}
            for key, cid in db.execute(sa.select(c.c.file_key, c.c.chunk_id)
                                       .join(f, f.c.file_key == c.c.file_key).where(f.c.root == root)
                                       .order_by(c.c.file_key, c.c.ordinal)):
                ids.setdefault(key, []).append(cid)
        return {r[0]: FileRecord(r[0], r[1], r[2], r[3], tuple(ids.get(r[0], ()))) for r in files}

    def files(self) -> list[dict]:
        """Every indexed document (for administration): key, root, source, title, department, doc type."""
        f = self.t.files
        rows = self._rows(sa.select(f.c.file_key, f.c.root, f.c.source, f.c.title, f.c.department, f.c.doc_type,
                                    f.c.chunk_count, f.c.indexed_at).order_by(f.c.department, f.c.source))
        return [{"file_key": r[0], "root": r[1], "source": r[2], "title": r[3], "department": r[4],
                 "doc_type": r[5], "chunks": r[6], "indexed_at": r[7]} for r in rows]

    def file_keys(self) -> list[tuple[str, str, str]]:
        """(file_key, root, source) of every indexed file."""
        f = self.t.files
        return [tuple(r) for r in self._rows(sa.select(f.c.file_key, f.c.root, f.c.source).order_by(f.c.file_key))]

    def roots(self) -> list[str]:
        f = self.t.files
        return [r[0] for r in self._rows(sa.select(f.c.root).distinct().order_by(f.c.root))]

    def file_chunk_ids(self, file_key: str) -> list[str]:
        c = self.t.chunks
        return [r[0] for r in self._rows(sa.select(c.c.chunk_id).where(c.c.file_key == file_key)
                                         .order_by(c.c.ordinal))]

    def existing_file_keys(self, file_keys: Iterable[str]) -> set[str]:
        return self._existing(self.t.files.c.file_key, file_keys)

    def _existing(self, column: sa.Column, values: Iterable[str]) -> set[str]:
        """The ``values`` found in ``column``, asked in batches of 500 parameters."""
        values = list(values)
        found: set[str] = set()
        with self._auto.connect() as db:
            for i in range(0, len(values), BATCH):
                found.update(r[0] for r in db.execute(sa.select(column).where(column.in_(values[i:i + BATCH]))))
        return found

    def chunk_ids_of(self, file_keys: Iterable[str]) -> list[str]:
        """The stored chunk ids of all ``file_keys`` (in key order, without duplicates)."""
        out: dict[str, None] = {}
        for key in dict.fromkeys(file_keys):
            out.update(dict.fromkeys(self.file_chunk_ids(key)))
        return list(out)

    # -- journal ------------------------------------------------------------
    def begin_change(self, ids: Iterable[str]) -> int:
        with self._tx() as db:
            res = db.execute(sa.insert(self.t.pending).values(ids=sorted(set(ids))))
            return int(res.inserted_primary_key[0])

    def end_change(self, pending_id: int) -> None:
        p = self.t.pending
        with self._tx() as db:
            db.execute(sa.delete(p).where(p.c.id == pending_id))

    def pending_changes(self) -> list[tuple[int, list[str]]]:
        p = self.t.pending
        return [(r[0], list(r[1])) for r in self._rows(sa.select(p.c.id, p.c.ids).order_by(p.c.id))]

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        return self._existing(self.t.chunks.c.chunk_id, ids)

    # -- writes -------------------------------------------------------------
    def replace_files(self, records: Iterable[IndexRecord]) -> None:
        """Store the records' chunks, replacing what was stored under their keys, and their warnings
        (replacing the old ones); one transaction for all of them."""
        f, c, e = self.t.files, self.t.chunks, self.t.errors
        tx = self._text
        with self._tx() as db:
            now = time.time()
            for r in records:
                db.execute(sa.delete(c).where(c.c.file_key == r.file_key))
                rows = [{"chunk_id": ch.chunk_id, "file_key": r.file_key, "source": tx(ch.source),
                         "title": tx(ch.title), "section": tx(ch.section),
                         "heading_path": [tx(h) for h in ch.heading_path], "page": ch.page,
                         "department": ch.department, "doc_type": ch.doc_type, "text": tx(ch.text),
                         "terms": tx(t), "ordinal": ch.ordinal} for ch, t in zip(r.chunks, r.terms)]
                if rows:
                    db.execute(sa.insert(c), rows)
                db.execute(*self._upsert(f, ["file_key"], [{
                    "file_key": r.file_key, "root": r.root, "source": tx(r.source), "digest": r.digest,
                    "title": tx(r.title), "department": r.department, "doc_type": r.doc_type,
                    "chunk_count": len(r.chunks), "indexed_at": now}]))
                db.execute(sa.delete(e).where(e.c.file_key == r.file_key))
                self._write_warnings(db, r.file_key, r.source, r.warnings)
            self._bump(db)

    def replace_file(self, *, file_key: str, root: str, source: str, digest: str, title: str,
                     department: str, doc_type: str, chunks: list[Chunk], terms: list[str],
                     warnings: Iterable[FileWarning] = ()) -> None:
        """Store one file's chunks (catalog only: writers go through
        :meth:`indexer.KnowledgeBase.write_records`, which keeps Chroma in step)."""
        self.replace_files([IndexRecord(file_key, root, source, digest, title, department, doc_type,
                                        tuple(chunks), tuple(terms), tuple(warnings))])

    def _write_warnings(self, db: Connection, file_key: str, source: str, warnings: Iterable[FileWarning]) -> None:
        w = self.t.warnings
        db.execute(sa.delete(w).where(w.c.file_key == file_key))
        now = time.time()
        rows = {x.kind: {"file_key": file_key, "kind": x.kind, "source": self._text(source),
                         "reason": self._text(x.reason), "detail": self._text(x.detail), "at": now}
                for x in warnings}  # one per kind, the last one wins (as INSERT OR REPLACE did)
        if rows:
            db.execute(sa.insert(w), list(rows.values()))

    def set_warnings(self, file_key: str, source: str, warnings: Iterable[FileWarning]) -> None:
        """Replace the warnings of an indexed file (used when existing files are scanned again)."""
        with self._tx() as db:
            self._write_warnings(db, file_key, source, warnings)

    def file_texts(self, file_key: str) -> list[str]:
        """The chunk texts of a file, in order."""
        c = self.t.chunks
        return [r[0] for r in self._rows(sa.select(c.c.text).where(c.c.file_key == file_key).order_by(c.c.ordinal))]

    def remove_files(self, file_keys: Iterable[str]) -> None:
        """Remove files with their chunks, errors and warnings; one transaction."""
        t = self.t
        with self._tx() as db:
            for file_key in file_keys:
                for table in (t.chunks, t.files, t.errors, t.warnings):
                    db.execute(sa.delete(table).where(table.c.file_key == file_key))
            self._bump(db)

    def remove_file(self, file_key: str) -> None:
        self.remove_files([file_key])

    def record_error(self, file_key: str, source: str, reason: str) -> None:
        with self._tx() as db:
            db.execute(*self._upsert(self.t.errors, ["file_key"], [{
                "file_key": file_key, "source": self._text(source), "reason": self._text(reason),
                "at": time.time()}]))

    def clear_errors_under(self, root: str, keep: set[str]) -> None:
        e = self.t.errors
        with self._tx() as db:
            for (key,) in db.execute(sa.select(e.c.file_key)).all():
                if key.startswith(root + "::") and key not in keep:
                    db.execute(sa.delete(e).where(e.c.file_key == key))

    def clear(self) -> None:
        """Remove everything (``lotse index --rebuild`` on a catalog in the database); the generation
        goes on growing, so that every reader notices."""
        t = self.t
        with self._tx() as db:
            for table in (t.chunks, t.files, t.pending, t.errors, t.warnings, t.case_state, t.case_runs):
                db.execute(sa.delete(table))
            db.execute(sa.delete(t.meta).where(t.meta.c.key != "generation"))
            self._bump(db)

    # -- reads --------------------------------------------------------------
    def all_terms(self) -> tuple[list[str], list[str], list[str], list[str]]:
        c = self.t.chunks
        order = c.c.seq if "seq" in c.c else sa.literal_column("rowid")  # insertion order
        ids, terms, deps, types = [], [], [], []
        for cid, t, d, dt in self._rows(sa.select(c.c.chunk_id, c.c.terms, c.c.department, c.c.doc_type)
                                        .order_by(order)):
            ids.append(cid)
            terms.append(t)
            deps.append(d)
            types.append(dt)
        return ids, terms, deps, types

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._rows(sa.select(self.t.chunks.c.chunk_id))}

    def chunks(self, ids: list[str]) -> dict[str, ChunkRow]:
        c = self.t.chunks
        out: dict[str, ChunkRow] = {}
        with self._auto.connect() as db:
            for i in range(0, len(ids), BATCH):
                q = sa.select(c.c.chunk_id, c.c.source, c.c.title, c.c.section, c.c.heading_path, c.c.page,
                              c.c.department, c.c.doc_type, c.c.text).where(c.c.chunk_id.in_(ids[i:i + BATCH]))
                for r in db.execute(q):
                    out[r[0]] = ChunkRow(r[0], r[1], r[2], r[3], tuple(r[4]), r[5], r[6], r[7], r[8])
        return out

    def stats(self) -> dict:
        f, c, e, w = self.t.files, self.t.chunks, self.t.errors, self.t.warnings
        with self._auto.connect() as db:
            files = db.execute(sa.select(sa.func.count(), sa.func.max(f.c.indexed_at)).select_from(f)).one()
            chunks = db.execute(sa.select(sa.func.count()).select_from(c)).scalar()
            errors = [{"source": s, "reason": r} for s, r in db.execute(
                sa.select(e.c.source, e.c.reason).order_by(e.c.source))]
            warnings = [{"source": s, "kind": k, "reason": r, "detail": d} for s, k, r, d in db.execute(
                sa.select(w.c.source, w.c.kind, w.c.reason, w.c.detail).order_by(w.c.source, w.c.kind))]
            by_dep = {d: n for d, n in db.execute(sa.select(f.c.department, sa.func.count()).group_by(f.c.department))}
        return {"documents": files[0], "chunks": chunks, "last_indexed_at": files[1], "errors": errors,
                "warnings": warnings, "documents_by_department": by_dep}

    # -- e-file case sync state ----------------------------------------------------------------
    def case_states(self) -> dict[str, tuple[str | None, str | None, int | None]]:
        """coo -> (digest, apentry, run_id) of every case the sync knows; the digest is the indexed
        record's (``files.digest``), None when the case is known but its record is not indexed."""
        s, f = self.t.case_state, self.t.files
        return {r[0]: (r[1], r[2], r[3]) for r in self._rows(
            sa.select(s.c.coo, f.c.digest, s.c.apentry, s.c.run_id).outerjoin(f, f.c.file_key == s.c.file_key))}

    def set_case_states(self, rows: Iterable[tuple[str, str, str | None, int]]) -> None:
        """rows: (coo, file_key, apentry, run_id)."""
        now = time.time()
        values = {coo: {"coo": coo, "file_key": key, "apentry": ap, "run_id": run, "synced_at": now}
                  for coo, key, ap, run in rows}  # one row per case (a batch may name a case twice)
        if not values:
            return
        with self._tx() as db:
            db.execute(*self._upsert(self.t.case_state, ["coo"], list(values.values())))

    def drop_case_state(self, coo: str) -> None:
        s = self.t.case_state
        with self._tx() as db:
            db.execute(sa.delete(s).where(s.c.coo == coo))

    def resumable_case_run(self, scope: str, max_age_s: float) -> int | None:
        """The last sync run when it has this scope, did not finish and is at most ``max_age_s`` old."""
        r = self.t.case_runs
        rows = self._rows(sa.select(r.c.run_id, r.c.scope, r.c.started_at, r.c.status)
                          .order_by(r.c.run_id.desc()).limit(1))
        row = rows[0] if rows else None
        if row and row[1] == scope and row[3] in ("running", "failed") and time.time() - row[2] <= max_age_s:
            return int(row[0])
        return None

    def start_case_run(self, scope: str, resume: int | None) -> int:
        r = self.t.case_runs
        with self._tx() as db:
            if resume is not None:
                db.execute(sa.update(r).where(r.c.run_id == resume).values(status="running", error=None))
                return resume
            res = db.execute(sa.insert(r).values(scope=scope, started_at=time.time(), status="running"))
            return int(res.inserted_primary_key[0])

    def finish_case_run(self, run_id: int, status: str, error: str | None = None) -> None:
        r = self.t.case_runs
        with self._tx() as db:
            db.execute(sa.update(r).where(r.c.run_id == run_id)
                       .values(status=status, error=self._text(error), finished_at=time.time()))

    # -- taking over older state -------------------------------------------------------------------
    def _empty(self, *tables: sa.Table) -> bool:
        with self._auto.connect() as db:
            return not any(db.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first() for t in tables)

    def _fix_sequences(self, db: Connection) -> None:
        """After rows with explicit ids were copied in: PostgreSQL's sequences continue above them."""
        if self.dialect != "postgresql":
            return
        for table, col in ((self.t.case_runs, "run_id"), (self.t.pending, "id")):
            db.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence(:t, :c), coalesce((SELECT max({col}) FROM {table.name}), 0) + 1,"
                " false)"), {"t": table.name, "c": col})

    def adopt_case_state(self, old: Path) -> bool:
        """Take over the sync state of a data dir from before it moved into the catalog (``cases.sqlite3``:
        tables ``cases`` and ``runs``; their digest column is not needed, the catalog has the digests).
        Only when the catalog holds no case state yet; the old file is read, never changed. True when
        something was taken over."""
        old = Path(old)
        if not old.is_file():
            return False
        if not self._empty(self.t.case_state, self.t.case_runs):
            return False
        src = sqlite3.connect(f"{old.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            names = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            cases = (src.execute("SELECT coo, file_key, apentry, run_id, synced_at FROM cases").fetchall()
                     if "cases" in names else [])
            runs = (src.execute("SELECT run_id, scope, started_at, finished_at, status, error FROM runs").fetchall()
                    if "runs" in names else [])
        finally:
            src.close()
        if not cases and not runs:
            return False
        with self._tx() as db:
            if cases:
                db.execute(self._insert(self.t.case_state).on_conflict_do_nothing(), [
                    dict(zip(("coo", "file_key", "apentry", "run_id", "synced_at"), r)) for r in cases])
            if runs:
                db.execute(self._insert(self.t.case_runs).on_conflict_do_nothing(), [
                    dict(zip(("run_id", "scope", "started_at", "finished_at", "status", "error"), r)) for r in runs])
            self._fix_sequences(db)
        return True

    def adopt_file_catalog(self, old: Path) -> bool:
        """Take over an SQLite catalog file (``index.sqlite3`` of the data directory) into this catalog in
        the database, once: only when this one holds no file yet and the file holds some. The file is
        read, never changed. Every taken-over chunk id is journaled, so the next writer's recovery
        embeds the chunks the vector store does not hold (e.g. a Chroma server that replaced the
        embedded store). True when something was taken over."""
        old = Path(old)
        if not self.shared or not old.is_file() or not self._empty(self.t.files):
            return False
        src = Catalog(old)
        try:
            if src._empty(src.t.files):
                return False
            with self.write_lock(), self._tx() as db, src._auto.connect() as s:
                if not self._empty(self.t.files):  # another process was quicker
                    return False
                for name in ("files", "chunks", "pending", "errors", "warnings", "case_state", "case_runs"):
                    table, theirs = getattr(self.t, name), getattr(src.t, name)
                    order = sa.literal_column("rowid")
                    batch: list[dict] = []
                    for row in s.execute(sa.select(theirs).order_by(order)).mappings():
                        batch.append({k: self._text(v) for k, v in row.items()})
                        if len(batch) == 1000:
                            db.execute(self._insert(table).on_conflict_do_nothing(), batch)
                            batch = []
                    if batch:
                        db.execute(self._insert(table).on_conflict_do_nothing(), batch)
                m = self.t.meta
                for key, value in s.execute(sa.select(src.t.meta.c.key, src.t.meta.c.value)):
                    if key != "generation":
                        db.execute(*self._upsert(m, ["key"], [{"key": key, "value": value}]))
                ids = [r[0] for r in s.execute(sa.select(src.t.chunks.c.chunk_id))]
                if ids:
                    db.execute(sa.insert(self.t.pending).values(ids=sorted(ids)))
                self._fix_sequences(db)
                self._bump(db)
        finally:
            src.engine.dispose()
        return True


def _sqlite_engine(url: str) -> Engine:
    """An engine on an SQLite file: autocommit connections (writes open ``BEGIN IMMEDIATE`` themselves,
    :meth:`Catalog._tx`), WAL, 30 s busy timeout."""
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                              isolation_level="AUTOCOMMIT", hide_parameters=True, json_serializer=_dumps)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _):  # noqa: ANN001
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return engine
