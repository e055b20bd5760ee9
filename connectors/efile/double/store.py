"""SQLite storage of the double: every e-file object is one row.

Kinds: ``apentry``, ``file`` (Akte), ``procedure`` (Vorgang), ``incoming``,
``outgoing``, ``internal`` (Dokumente) and ``content`` (Schriftstück).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANCELLED = "Storniert"
DOCUMENT_KINDS = ("incoming", "outgoing", "internal")
FIRST_COO = 1_000_000
COO_PREFIX = "COO.1.2301.1."

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    coo TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    parent TEXT,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    objname TEXT NOT NULL DEFAULT '',
    shortname TEXT NOT NULL DEFAULT '',
    filesubj TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}',
    content BLOB
);
CREATE INDEX IF NOT EXISTS ix_objects_parent ON objects(parent, seq);
CREATE INDEX IF NOT EXISTS ix_objects_kind_name ON objects(kind, objname);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY);
"""


@dataclass
class Obj:
    coo: str
    kind: str
    parent: str | None
    state: str = "In Bearbeitung"
    objname: str = ""
    shortname: str = ""
    filesubj: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    content: bytes | None = None
    seq: int = 0


class Store:
    """Thread-safe access to one SQLite file."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- counters --------------------------------------------------------------

    def _meta_int(self, key: str, default: int) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return int(row[0]) if row else default

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

    def new_coo(self) -> str:
        with self._lock:
            n = self._meta_int("next_coo", FIRST_COO)
            self._set_meta("next_coo", n + 1)
            return f"{COO_PREFIX}{n}"

    def reserve_above(self, coos: Iterable[str]) -> None:
        """Make sure new addresses are above every given COO of our prefix."""
        top = 0
        for coo in coos:
            if coo.startswith(COO_PREFIX):
                tail = coo[len(COO_PREFIX):]
                if tail.isdigit():
                    top = max(top, int(tail))
        with self._lock:
            n = self._meta_int("next_coo", FIRST_COO)
            if top >= n:
                self._set_meta("next_coo", top + 1)

    # -- writing ---------------------------------------------------------------

    def insert_many(self, objs: Iterable[Obj]) -> int:
        with self._lock:
            seq = self._meta_int("next_seq", 1)
            rows = []
            for o in objs:
                o.seq = seq
                seq += 1
                rows.append(
                    (o.coo, o.kind, o.parent, o.seq, o.state, o.objname, o.shortname, o.filesubj,
                     json.dumps(o.data, ensure_ascii=False), o.content)
                )
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO objects(coo, kind, parent, seq, state, objname, shortname, filesubj, data, content)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                self._set_meta("next_seq", seq)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return len(rows)

    def insert(self, obj: Obj) -> None:
        self.insert_many([obj])

    def add_terms(self, terms: Iterable[str]) -> None:
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO terms(term) VALUES (?)", [(t,) for t in terms])

    def known_terms(self, terms: Iterable[str]) -> list[str]:
        out = []
        with self._lock:
            for t in terms:
                if self._db.execute("SELECT 1 FROM terms WHERE term=?", (t,)).fetchone():
                    out.append(t)
        return out

    # -- reading ---------------------------------------------------------------

    @staticmethod
    def _row(row: tuple[Any, ...] | None) -> Obj | None:
        if row is None:
            return None
        coo, kind, parent, seq, state, objname, shortname, filesubj, data, content = row
        return Obj(coo, kind, parent, state, objname, shortname, filesubj, json.loads(data), content, seq)

    _COLS = "coo, kind, parent, seq, state, objname, shortname, filesubj, data, content"

    def get(self, coo: str) -> Obj | None:
        with self._lock:
            row = self._db.execute(f"SELECT {self._COLS} FROM objects WHERE coo=?", (coo,)).fetchone()
        return self._row(row)

    def visible(self, coo: str) -> Obj | None:
        """The object when neither it nor a container of it is cancelled."""
        obj = self.get(coo)
        cur = obj
        depth = 0
        while cur is not None and depth < 8:
            if cur.state == CANCELLED:
                return None
            cur = self.get(cur.parent) if cur.parent else None
            depth += 1
        return obj

    def children(self, coo: str, kinds: tuple[str, ...] | None = None) -> list[Obj]:
        """Visible children (cancelled ones are filtered), in creation order."""
        sql = f"SELECT {self._COLS} FROM objects WHERE parent=? AND state != ?"
        args: list[Any] = [coo, CANCELLED]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args.extend(kinds)
        sql += " ORDER BY seq"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [o for o in (self._row(r) for r in rows) if o is not None]

    def search(self, kind: str, *, parent: str | None = None, objname: str | None = None,
               name_like: str | None = None, subj_like: str | None = None,
               objname_prefix: str | None = None, limit: int = 1000) -> list[Obj]:
        sql = f"SELECT {self._COLS} FROM objects WHERE kind=? AND state != ?"
        args: list[Any] = [kind, CANCELLED]
        if parent:
            sql += " AND parent=?"
            args.append(parent)
        if objname:
            sql += " AND objname=?"
            args.append(objname)
        if objname_prefix:
            sql += " AND objname LIKE ? ESCAPE '\\'"
            args.append(_escape_like(objname_prefix) + "%")
        if name_like:
            sql += " AND shortname LIKE ? ESCAPE '\\'"
            args.append("%" + _escape_like(name_like) + "%")
        if subj_like:
            sql += " AND filesubj LIKE ? ESCAPE '\\'"
            args.append("%" + _escape_like(subj_like) + "%")
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        out = []
        for r in rows:
            o = self._row(r)
            if o is not None and (o.parent is None or self.visible(o.parent) is not None or kind == "file"):
                out.append(o)
        return out

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            if kind:
                return int(self._db.execute("SELECT count(*) FROM objects WHERE kind=?", (kind,)).fetchone()[0])
            return int(self._db.execute("SELECT count(*) FROM objects").fetchone()[0])

    def count_children(self, parent: str) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM objects WHERE parent=?", (parent,)).fetchone()[0])

    def count_cases(self) -> int:
        return self.count("file")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
