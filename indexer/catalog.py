"""The index catalog: files, chunks (text, metadata, lexical terms), per-file errors and warnings,
a crash journal, and the state of the e-file case sync (which run saw which case).

SQLite in WAL mode. Chroma holds the vectors of the same chunk ids; the journal
(``pending``) makes the pair crash-safe. The protocol itself (journal, Chroma, one catalog
transaction, stale vectors, clear the journal; replay after ``kill -9``) is
:class:`indexer.pipeline.IndexWriter`, reached through :meth:`indexer.KnowledgeBase.write_records`
and :meth:`indexer.KnowledgeBase.remove`; this module only stores.

Every indexed unit (a policy file, an e-file case record) is a row of ``files`` with its digest;
the case sync keeps no digest of its own (``case_state`` holds only the Aktenplan entry and the
run that last saw a case, ``case_runs`` the runs for resuming).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .chunking import Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
  file_key TEXT PRIMARY KEY, root TEXT NOT NULL, source TEXT NOT NULL, digest TEXT NOT NULL,
  title TEXT, department TEXT, doc_type TEXT, chunk_count INTEGER NOT NULL DEFAULT 0,
  indexed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_root ON files(root);
CREATE TABLE IF NOT EXISTS chunks (
  chunk_id TEXT PRIMARY KEY, file_key TEXT NOT NULL, source TEXT NOT NULL, title TEXT NOT NULL,
  section TEXT NOT NULL, heading_path TEXT NOT NULL, page INTEGER, department TEXT NOT NULL,
  doc_type TEXT NOT NULL, text TEXT NOT NULL, terms TEXT NOT NULL, ordinal INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_file ON chunks(file_key);
CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY AUTOINCREMENT, ids TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS errors (
  file_key TEXT PRIMARY KEY, source TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS warnings (
  file_key TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '', at REAL NOT NULL, PRIMARY KEY (file_key, kind)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS case_state (
  coo TEXT PRIMARY KEY, file_key TEXT NOT NULL, apentry TEXT, run_id INTEGER, synced_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS case_runs (
  run_id INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL, started_at REAL NOT NULL,
  finished_at REAL, status TEXT NOT NULL, error TEXT
);
"""


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
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- meta -------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta(key, value) VALUES('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # -- files ------------------------------------------------------------
    def files_under(self, root: str) -> dict[str, FileRecord]:
        rows = self._conn().execute(
            "SELECT f.file_key, f.root, f.source, f.digest, "
            "(SELECT group_concat(chunk_id, ' ') FROM chunks c WHERE c.file_key = f.file_key) "
            "FROM files f WHERE f.root = ?", (root,)).fetchall()
        return {r[0]: FileRecord(r[0], r[1], r[2], r[3], tuple((r[4] or "").split())) for r in rows}

    def files(self) -> list[dict]:
        """Every indexed document (for administration): key, root, source, title, department, doc type."""
        rows = self._conn().execute(
            "SELECT file_key, root, source, title, department, doc_type, chunk_count, indexed_at FROM files "
            "ORDER BY department, source").fetchall()
        return [{"file_key": r[0], "root": r[1], "source": r[2], "title": r[3], "department": r[4],
                 "doc_type": r[5], "chunks": r[6], "indexed_at": r[7]} for r in rows]

    def file_keys(self) -> list[tuple[str, str, str]]:
        """(file_key, root, source) of every indexed file."""
        return [tuple(r) for r in self._conn().execute("SELECT file_key, root, source FROM files ORDER BY file_key")]

    def roots(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT DISTINCT root FROM files ORDER BY root")]

    def file_chunk_ids(self, file_key: str) -> list[str]:
        return [r[0] for r in self._conn().execute(
            "SELECT chunk_id FROM chunks WHERE file_key=?", (file_key,))]

    def existing_file_keys(self, file_keys: Iterable[str]) -> set[str]:
        return self._existing("SELECT file_key FROM files WHERE file_key IN (%s)", file_keys)

    def _existing(self, query: str, values: Iterable[str]) -> set[str]:
        """The ``values`` that ``query`` (one ``IN (%s)``) finds, asked in batches of 500 parameters."""
        values = list(values)
        found: set[str] = set()
        db = self._conn()
        for i in range(0, len(values), 500):
            part = values[i:i + 500]
            found.update(r[0] for r in db.execute(query % ",".join("?" * len(part)), part))
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
            cur = db.execute("INSERT INTO pending(ids) VALUES(?)", (json.dumps(sorted(set(ids))),))
            return int(cur.lastrowid)

    def end_change(self, pending_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM pending WHERE id=?", (pending_id,))

    def pending_changes(self) -> list[tuple[int, list[str]]]:
        return [(r[0], json.loads(r[1])) for r in self._conn().execute("SELECT id, ids FROM pending")]

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        return self._existing("SELECT chunk_id FROM chunks WHERE chunk_id IN (%s)", ids)

    # -- writes -------------------------------------------------------------
    def replace_files(self, records: Iterable[IndexRecord]) -> None:
        """Store the records' chunks, replacing what was stored under their keys, and their warnings
        (replacing the old ones); one transaction for all of them."""
        with self._tx() as db:
            now = time.time()
            for r in records:
                db.execute("DELETE FROM chunks WHERE file_key=?", (r.file_key,))
                db.executemany(
                    "INSERT INTO chunks(chunk_id, file_key, source, title, section, heading_path, page, "
                    "department, doc_type, text, terms, ordinal) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                    [(c.chunk_id, r.file_key, c.source, c.title, c.section, json.dumps(list(c.heading_path),
                      ensure_ascii=False), c.page, c.department, c.doc_type, c.text, t, c.ordinal)
                     for c, t in zip(r.chunks, r.terms)],
                )
                db.execute(
                    "INSERT OR REPLACE INTO files(file_key, root, source, digest, title, department, doc_type, "
                    "chunk_count, indexed_at) VALUES(?,?,?,?,?,?,?,?,?)",
                    (r.file_key, r.root, r.source, r.digest, r.title, r.department, r.doc_type, len(r.chunks), now),
                )
                db.execute("DELETE FROM errors WHERE file_key=?", (r.file_key,))
                self._write_warnings(db, r.file_key, r.source, r.warnings)
            self._bump(db)

    def replace_file(self, *, file_key: str, root: str, source: str, digest: str, title: str,
                     department: str, doc_type: str, chunks: list[Chunk], terms: list[str],
                     warnings: Iterable[FileWarning] = ()) -> None:
        """Store one file's chunks (catalog only: writers go through
        :meth:`indexer.KnowledgeBase.write_records`, which keeps Chroma in step)."""
        self.replace_files([IndexRecord(file_key, root, source, digest, title, department, doc_type,
                                        tuple(chunks), tuple(terms), tuple(warnings))])

    @staticmethod
    def _write_warnings(db: sqlite3.Connection, file_key: str, source: str, warnings: Iterable[FileWarning]) -> None:
        db.execute("DELETE FROM warnings WHERE file_key=?", (file_key,))
        now = time.time()
        db.executemany("INSERT OR REPLACE INTO warnings(file_key, kind, source, reason, detail, at) "
                       "VALUES(?,?,?,?,?,?)", [(file_key, w.kind, source, w.reason, w.detail, now) for w in warnings])

    def set_warnings(self, file_key: str, source: str, warnings: Iterable[FileWarning]) -> None:
        """Replace the warnings of an indexed file (used when existing files are scanned again)."""
        with self._tx() as db:
            self._write_warnings(db, file_key, source, warnings)

    def file_texts(self, file_key: str) -> list[str]:
        """The chunk texts of a file, in order."""
        return [r[0] for r in self._conn().execute(
            "SELECT text FROM chunks WHERE file_key=? ORDER BY ordinal", (file_key,))]

    def remove_files(self, file_keys: Iterable[str]) -> None:
        """Remove files with their chunks, errors and warnings; one transaction."""
        with self._tx() as db:
            for file_key in file_keys:
                db.execute("DELETE FROM chunks WHERE file_key=?", (file_key,))
                db.execute("DELETE FROM files WHERE file_key=?", (file_key,))
                db.execute("DELETE FROM errors WHERE file_key=?", (file_key,))
                db.execute("DELETE FROM warnings WHERE file_key=?", (file_key,))
            self._bump(db)

    def remove_file(self, file_key: str) -> None:
        self.remove_files([file_key])

    def record_error(self, file_key: str, source: str, reason: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO errors(file_key, source, reason, at) VALUES(?,?,?,?)",
                       (file_key, source, reason, time.time()))

    def clear_errors_under(self, root: str, keep: set[str]) -> None:
        with self._tx() as db:
            for (key,) in db.execute("SELECT file_key FROM errors").fetchall():
                if key.startswith(root + "::") and key not in keep:
                    db.execute("DELETE FROM errors WHERE file_key=?", (key,))

    # -- reads --------------------------------------------------------------
    def all_terms(self) -> tuple[list[str], list[str], list[str], list[str]]:
        ids, terms, deps, types = [], [], [], []
        for cid, t, d, dt in self._conn().execute(
                "SELECT chunk_id, terms, department, doc_type FROM chunks ORDER BY rowid"):
            ids.append(cid)
            terms.append(t)
            deps.append(d)
            types.append(dt)
        return ids, terms, deps, types

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._conn().execute("SELECT chunk_id FROM chunks")}

    def chunks(self, ids: list[str]) -> dict[str, ChunkRow]:
        out: dict[str, ChunkRow] = {}
        db = self._conn()
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            q = ("SELECT chunk_id, source, title, section, heading_path, page, department, doc_type, text "
                 "FROM chunks WHERE chunk_id IN (%s)" % ",".join("?" * len(part)))
            for r in db.execute(q, part):
                out[r[0]] = ChunkRow(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6], r[7], r[8])
        return out

    def stats(self) -> dict:
        db = self._conn()
        files = db.execute("SELECT count(*), max(indexed_at) FROM files").fetchone()
        chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        errors = [{"source": s, "reason": r} for s, r in db.execute("SELECT source, reason FROM errors ORDER BY source")]
        warnings = [{"source": s, "kind": k, "reason": r, "detail": d} for s, k, r, d in db.execute(
            "SELECT source, kind, reason, detail FROM warnings ORDER BY source, kind")]
        by_dep = dict(db.execute("SELECT department, count(*) FROM files GROUP BY department").fetchall())
        return {"documents": files[0], "chunks": chunks, "last_indexed_at": files[1], "errors": errors,
                "warnings": warnings, "documents_by_department": by_dep}

    # -- e-file case sync state ----------------------------------------------------------------
    def case_states(self) -> dict[str, tuple[str | None, str | None, int | None]]:
        """coo -> (digest, apentry, run_id) of every case the sync knows; the digest is the indexed
        record's (``files.digest``), None when the case is known but its record is not indexed."""
        return {r[0]: (r[1], r[2], r[3]) for r in self._conn().execute(
            "SELECT s.coo, f.digest, s.apentry, s.run_id FROM case_state s "
            "LEFT JOIN files f ON f.file_key = s.file_key")}

    def set_case_states(self, rows: Iterable[tuple[str, str, str | None, int]]) -> None:
        """rows: (coo, file_key, apentry, run_id)."""
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "INSERT INTO case_state(coo, file_key, apentry, run_id, synced_at) VALUES(?,?,?,?,?) "
                "ON CONFLICT(coo) DO UPDATE SET file_key=excluded.file_key, apentry=excluded.apentry, "
                "run_id=excluded.run_id, synced_at=excluded.synced_at",
                [(coo, key, ap, run, now) for coo, key, ap, run in rows])

    def drop_case_state(self, coo: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM case_state WHERE coo=?", (coo,))

    def resumable_case_run(self, scope: str, max_age_s: float) -> int | None:
        """The last sync run when it has this scope, did not finish and is at most ``max_age_s`` old."""
        row = self._conn().execute(
            "SELECT run_id, scope, started_at, status FROM case_runs ORDER BY run_id DESC LIMIT 1").fetchone()
        if row and row[1] == scope and row[3] in ("running", "failed") and time.time() - row[2] <= max_age_s:
            return int(row[0])
        return None

    def start_case_run(self, scope: str, resume: int | None) -> int:
        with self._tx() as db:
            if resume is not None:
                db.execute("UPDATE case_runs SET status='running', error=NULL WHERE run_id=?", (resume,))
                return resume
            cur = db.execute("INSERT INTO case_runs(scope, started_at, status) VALUES(?,?,'running')",
                             (scope, time.time()))
            return int(cur.lastrowid)

    def finish_case_run(self, run_id: int, status: str, error: str | None = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE case_runs SET status=?, error=?, finished_at=? WHERE run_id=?",
                       (status, error, time.time(), run_id))

    def adopt_case_state(self, old: Path) -> bool:
        """Take over the sync state of a data dir from before it moved into the catalog (``cases.sqlite3``:
        tables ``cases`` and ``runs``; their digest column is not needed, the catalog has the digests).
        Only when the catalog holds no case state yet; the old file is read, never changed. True when
        something was taken over."""
        old = Path(old)
        if not old.is_file():
            return False
        db = self._conn()
        if db.execute("SELECT EXISTS(SELECT 1 FROM case_state) OR EXISTS(SELECT 1 FROM case_runs)").fetchone()[0]:
            return False
        src = sqlite3.connect(f"{old.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            cases = (src.execute("SELECT coo, file_key, apentry, run_id, synced_at FROM cases").fetchall()
                     if "cases" in tables else [])
            runs = (src.execute("SELECT run_id, scope, started_at, finished_at, status, error FROM runs").fetchall()
                    if "runs" in tables else [])
        finally:
            src.close()
        if not cases and not runs:
            return False
        with self._tx() as db:
            db.executemany("INSERT OR IGNORE INTO case_state(coo, file_key, apentry, run_id, synced_at) "
                           "VALUES(?,?,?,?,?)", cases)
            db.executemany("INSERT OR IGNORE INTO case_runs(run_id, scope, started_at, finished_at, status, error) "
                           "VALUES(?,?,?,?,?,?)", runs)
        return True
