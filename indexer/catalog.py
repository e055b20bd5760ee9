"""The index catalog: files, chunks (text, metadata, lexical terms), per-file errors and warnings,
and a crash journal.

SQLite in WAL mode. Chroma holds the vectors of the same chunk ids; the journal
(``pending``) makes the pair crash-safe: before Chroma is touched for a file, the
ids that may change are written down; after the catalog commit the stale ones are
removed from Chroma and the journal entry is cleared. A rerun after ``kill -9``
first replays the journal, so both stores agree again.
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
        ids = list(ids)
        found: set[str] = set()
        db = self._conn()
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            q = "SELECT chunk_id FROM chunks WHERE chunk_id IN (%s)" % ",".join("?" * len(part))
            found.update(r[0] for r in db.execute(q, part))
        return found

    # -- writes -------------------------------------------------------------
    def replace_file(self, *, file_key: str, root: str, source: str, digest: str, title: str,
                     department: str, doc_type: str, chunks: list[Chunk], terms: list[str],
                     warnings: Iterable[FileWarning] = ()) -> None:
        """Store a file's chunks; its warnings are replaced by ``warnings`` in the same transaction."""
        with self._tx() as db:
            db.execute("DELETE FROM chunks WHERE file_key=?", (file_key,))
            db.executemany(
                "INSERT INTO chunks(chunk_id, file_key, source, title, section, heading_path, page, "
                "department, doc_type, text, terms, ordinal) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                [(c.chunk_id, file_key, c.source, c.title, c.section, json.dumps(list(c.heading_path),
                  ensure_ascii=False), c.page, c.department, c.doc_type, c.text, t, c.ordinal)
                 for c, t in zip(chunks, terms)],
            )
            db.execute(
                "INSERT OR REPLACE INTO files(file_key, root, source, digest, title, department, doc_type, "
                "chunk_count, indexed_at) VALUES(?,?,?,?,?,?,?,?,?)",
                (file_key, root, source, digest, title, department, doc_type, len(chunks), time.time()),
            )
            db.execute("DELETE FROM errors WHERE file_key=?", (file_key,))
            self._write_warnings(db, file_key, source, warnings)
            self._bump(db)

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

    def remove_file(self, file_key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM chunks WHERE file_key=?", (file_key,))
            db.execute("DELETE FROM files WHERE file_key=?", (file_key,))
            db.execute("DELETE FROM errors WHERE file_key=?", (file_key,))
            db.execute("DELETE FROM warnings WHERE file_key=?", (file_key,))
            self._bump(db)

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
