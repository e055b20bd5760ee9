"""Taking over older index state into the catalog (:mod:`indexer.catalog`), once.

Two kinds of older state: the e-file sync's own ``cases.sqlite3`` from before its state moved into
the catalog (:func:`adopt_case_state`), and an SQLite catalog file (``index.sqlite3``) when the
catalog has moved into the SQL database (:func:`adopt_file_catalog`). Both read the old file and
never change it, and both act only while the catalog holds nothing of that kind yet.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .catalog_db import CatalogDatabase


def fix_sequences(catalog: CatalogDatabase, db: Connection) -> None:
    """After rows with explicit ids were copied in: PostgreSQL's sequences continue above them."""
    if catalog.dialect != "postgresql":
        return
    for table, col in ((catalog.t.case_runs, "run_id"), (catalog.t.pending, "id")):
        db.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence(:t, :c), coalesce((SELECT max({col}) FROM {table.name}), 0) + 1,"
            " false)"), {"t": table.name, "c": col})


def adopt_case_state(catalog: CatalogDatabase, old: Path) -> bool:
    """Take over the sync state of a data dir from before it moved into the catalog (``cases.sqlite3``:
    tables ``cases`` and ``runs``; their digest column is not needed, the catalog has the digests).
    Only when the catalog holds no case state yet; the old file is read, never changed. True when
    something was taken over."""
    old = Path(old)
    if not old.is_file():
        return False
    if not catalog._empty(catalog.t.case_state, catalog.t.case_runs):
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
    with catalog._tx() as db:
        if cases:
            db.execute(catalog._insert(catalog.t.case_state).on_conflict_do_nothing(), [
                dict(zip(("coo", "file_key", "apentry", "run_id", "synced_at"), r)) for r in cases])
        if runs:
            db.execute(catalog._insert(catalog.t.case_runs).on_conflict_do_nothing(), [
                dict(zip(("run_id", "scope", "started_at", "finished_at", "status", "error"), r)) for r in runs])
        fix_sequences(catalog, db)
    return True


def adopt_file_catalog(catalog: CatalogDatabase, old: Path) -> bool:
    """Take over an SQLite catalog file (``index.sqlite3`` of the data directory) into this catalog in
    the database, once: only when this one holds no file yet and the file holds some. The file is
    read, never changed. Every taken-over chunk id is journaled, so the next writer's recovery
    embeds the chunks the vector store does not hold (e.g. a Chroma server that replaced the
    embedded store). True when something was taken over."""
    old = Path(old)
    if not catalog.shared or not old.is_file() or not catalog._empty(catalog.t.files):
        return False
    src = CatalogDatabase(old)
    try:
        if src._empty(src.t.files):
            return False
        with catalog.write_lock(), catalog._tx() as db, src._auto.connect() as s:
            if not catalog._empty(catalog.t.files):  # another process was quicker
                return False
            for name in ("files", "chunks", "pending", "errors", "warnings", "case_state", "case_runs"):
                table, theirs = getattr(catalog.t, name), getattr(src.t, name)
                order = sa.literal_column("rowid")
                batch: list[dict] = []
                for row in s.execute(sa.select(theirs).order_by(order)).mappings():
                    batch.append({k: catalog._text(v) for k, v in row.items()})
                    if len(batch) == 1000:
                        db.execute(catalog._insert(table).on_conflict_do_nothing(), batch)
                        batch = []
                if batch:
                    db.execute(catalog._insert(table).on_conflict_do_nothing(), batch)
            m = catalog.t.meta
            for key, value in s.execute(sa.select(src.t.meta.c.key, src.t.meta.c.value)):
                if key != "generation":
                    db.execute(*catalog._upsert(m, ["key"], [{"key": key, "value": value}]))
            ids = [r[0] for r in s.execute(sa.select(src.t.chunks.c.chunk_id))]
            if ids:
                db.execute(sa.insert(catalog.t.pending).values(ids=sorted(ids)))
            fix_sequences(catalog, db)
            catalog._bump(db)
    finally:
        src.engine.dispose()
    return True

