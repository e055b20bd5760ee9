"""The index catalog's schema and the records that go in and out of it (:mod:`indexer.catalog`).

:func:`tables` is the one definition of the catalog's tables (SQLAlchemy Core, for an SQLite file
and for PostgreSQL alike; no migrations: the tables are created at start and
``PIPELINE_VERSION`` in ``indexer/pipeline.py`` forces re-chunking). In a shared SQL database
they are named with :data:`DB_PREFIX`; the SQLite file keeps the plain names.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .chunking import Chunk

#: prefix of the catalog's tables in a shared SQL database (the SQLite file keeps the plain names)
DB_PREFIX = "index_"


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

