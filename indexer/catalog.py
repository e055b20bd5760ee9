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

The catalog in four modules: this one (:class:`Catalog`, what is stored and read), the tables and
record types (:mod:`indexer.catalog_schema`), the database layer with transactions and the writers'
lock (:mod:`indexer.catalog_db`), and the one-time takeover of older state
(:mod:`indexer.catalog_adopt`). Every name is importable from here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import catalog_adopt
from .catalog_db import SCHEMA_LOCK_KEY, WRITE_LOCK_KEY, CatalogDatabase
from .catalog_schema import DB_PREFIX, ChunkRow, FileRecord, FileWarning, IndexRecord, tables
from .chunking import Chunk

BATCH = 500  # parameters per IN (...) query


class Catalog(CatalogDatabase):
    """The catalog on an SQLite file (``Catalog(path)``) or on an SQL database (``Catalog(url=...)`` or
    ``Catalog(engine=...)``, tables prefixed ``index_``); the connection layer, transactions and the
    writers' lock are :class:`~indexer.catalog_db.CatalogDatabase`."""

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
    def adopt_case_state(self, old: Path) -> bool:
        """Take over an older ``cases.sqlite3`` once (:func:`indexer.catalog_adopt.adopt_case_state`)."""
        return catalog_adopt.adopt_case_state(self, old)

    def adopt_file_catalog(self, old: Path) -> bool:
        """Take over an SQLite catalog file into this catalog in the database, once
        (:func:`indexer.catalog_adopt.adopt_file_catalog`)."""
        return catalog_adopt.adopt_file_catalog(self, old)


__all__ = ["BATCH", "DB_PREFIX", "SCHEMA_LOCK_KEY", "WRITE_LOCK_KEY", "Catalog", "CatalogDatabase", "ChunkRow",
           "FileRecord", "FileWarning", "IndexRecord", "tables"]
