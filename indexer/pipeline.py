"""Incremental, crash-safe indexing of folders into the catalog and the vector store."""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from connectors import SourceFile, scan_folder

from .analysis import analyze, canonical_law, legal_refs
from .catalog import Catalog
from .catalog_schema import FileWarning, IndexRecord
from .chunking import Chunk, chunk_blocks
from .config import IndexConfig
from .errors import LoaderError
from .loaders import DEFAULT_LIMITS, SUPPORTED_SUFFIXES, LoadLimits, load
from .text import clean_line, looks_like_steering, split_sentences

log = logging.getLogger(__name__)

# Bump when loaders, chunking or analysis change in a way that changes chunks or terms.
PIPELINE_VERSION = "9"
# Bump when the per-file warnings change: files already indexed are scanned again from their stored
# chunk texts (no re-embedding) on the next indexing run.
WARNINGS_VERSION = "1"

STEERING_WARNING = ("Enthält Text, der einem Assistenten Anweisungen gibt oder sich selbst als geprüft ausgibt "
                    "– wird nie zitiert: „{}“")
_QUOTE_CHARS = " \t>\"'„“”‚‘’«»"


def _shorten(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:–-") + " …"


def steering_sentence(texts: Iterable[str]) -> str | None:
    """The first sentence (or list item) of ``texts`` that gives instructions to an assistant or vouches for
    its own approval, shortened for display; lines are judged like the answer providers judge them."""
    for text in texts:
        for line in text.splitlines():
            if not looks_like_steering(line):
                continue
            _, clean = clean_line(line)
            clean = clean.strip(_QUOTE_CHARS)
            sentence = next((s for s in split_sentences(clean) if looks_like_steering(s)), clean)
            return _shorten(sentence.strip(_QUOTE_CHARS).rstrip(",;")) or _shorten(line)
    return None


def file_warnings(texts: Iterable[str]) -> list[FileWarning]:
    """Warnings about a file's indexed text (the file is indexed all the same)."""
    sentence = steering_sentence(texts)
    return [FileWarning("steering", STEERING_WARNING.format(sentence), sentence)] if sentence else []


@dataclass
class FileError:
    source: str
    reason: str


@dataclass
class FileNotice:
    source: str
    reason: str


@dataclass
class IndexReport:
    root: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks_written: int = 0
    errors: list[FileError] = field(default_factory=list)
    warnings: list[FileNotice] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"root": self.root, "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "removed": self.removed, "chunks_written": self.chunks_written, "seconds": round(self.seconds, 2),
                "errors": [{"source": e.source, "reason": e.reason} for e in self.errors],
                "warnings": [{"source": w.source, "reason": w.reason} for w in self.warnings]}


def chunk_terms(chunk: Chunk, law: str | None) -> str:
    """Lexical terms of a chunk: title, heading path (section counted twice), text, law refs."""
    terms = analyze(chunk.title, compounds=False)
    terms += analyze(" ".join(chunk.heading_path[:-1]), compounds=False)
    section_terms = analyze(chunk.section)
    terms += section_terms * 2
    terms += analyze(chunk.text)
    if law:
        terms.append(law)
        for ref in legal_refs(chunk.section):
            if ref.count("§") == 1 and not any(c.isalpha() and c not in "abcdefgh" for c in ref[1:]):
                terms += [ref + law] * 3
    return " ".join(terms)


def file_digest(data: bytes, sf: SourceFile) -> str:
    h = hashlib.sha256(data)
    h.update(sf.sidecar_digest.encode())
    h.update(repr(sorted(sf.meta.items())).encode())
    h.update(PIPELINE_VERSION.encode())
    return h.hexdigest()


class Progress:
    """A tqdm bar on a terminal, plain log lines otherwise."""

    def __init__(self, total: int, label: str, enabled: bool = True):
        self.total, self.label, self.done = total, label, 0
        self._bar = None
        self._last = 0.0
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit="Datei", file=sys.stderr)

    def step(self, source: str) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
        elif time.monotonic() - self._last > 2 or self.done == self.total:
            self._last = time.monotonic()
            log.info("%s: %d/%d Dateien (%s)", self.label, self.done, self.total, source)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class IndexWriter:
    """The one crash-safe write protocol for catalog + vector store (public as
    :meth:`indexer.KnowledgeBase.write_records`, :meth:`~indexer.KnowledgeBase.remove`,
    :meth:`~indexer.KnowledgeBase.recover`).

    A write of records (replacing what is stored under their keys) or a removal of keys:

    1. embeddings for the new chunks (chunks already in the vector store keep their vectors);
    2. the ids that may change (old and new) are journaled in the catalog (``pending``);
    3. the new vectors are upserted;
    4. the catalog changes in one transaction (which also bumps the catalog's generation);
    5. vectors of old ids that are gone now are deleted;
    6. the journal entry is cleared.

    A removal journals the stored ids, removes the keys from the catalog in one transaction, deletes
    the vectors and clears the journal entry.

    Each of these, and the journal replay, holds the catalog's write lock
    (:meth:`indexer.catalog.Catalog.write_lock`), so writers of several processes and hosts never
    interleave and a replay never takes another writer's entry in progress for a crashed one.

    After ``kill -9`` at any point, :meth:`recover` (run before the first write of each writer, and at
    the start of every indexing run and case sync) replays the journal: ids that the catalog does not
    hold lose their vectors (an interrupted write rolls back), ids it holds without a vector are
    embedded again (a committed write is completed). Catalog and vector store then hold exactly the
    chunks of an uninterrupted run.
    """

    def __init__(self, catalog: Catalog, vectors, embedder):
        self.catalog, self.vectors, self.embedder = catalog, vectors, embedder
        self._recovered = False

    def write(self, records: Sequence[IndexRecord]) -> int:
        """Store ``records`` (each replaces what its ``file_key`` held); returns the number of chunks."""
        records = list(records)
        if not records:
            return 0
        with self.catalog.write_lock():  # one writer at a time, across processes and hosts
            return self._write(records)

    def _write(self, records: list[IndexRecord]) -> int:
        self._recover_once()
        chunks = [c for r in records for c in r.chunks]
        vectors = self._vectors_for(chunks)
        old_ids = self.catalog.chunk_ids_of(r.file_key for r in records)
        new_ids = [c.chunk_id for c in chunks]
        pid = self.catalog.begin_change(old_ids + new_ids)
        self.vectors.upsert(new_ids, vectors, [_vector_meta(c) for c in chunks])
        self.catalog.replace_files(records)
        new_set = set(new_ids)
        self.vectors.delete([i for i in old_ids if i not in new_set])
        self.catalog.end_change(pid)
        return len(chunks)

    def remove(self, file_keys: Iterable[str]) -> int:
        """Remove the files (records) under ``file_keys`` with their vectors; returns how many existed."""
        keys = list(dict.fromkeys(file_keys))
        if not keys:
            return 0
        with self.catalog.write_lock():
            return self._remove(keys)

    def _remove(self, keys: list[str]) -> int:
        self._recover_once()
        present = self.catalog.existing_file_keys(keys)
        ids = self.catalog.chunk_ids_of(keys)
        pid = self.catalog.begin_change(ids)
        self.catalog.remove_files(keys)
        self.vectors.delete(ids)
        self.catalog.end_change(pid)
        return len(present)

    def recover(self) -> int:
        """Replay the crash journal so that Chroma holds exactly the catalog's chunk ids."""
        with self.catalog.write_lock():  # never replays the entry of a write another process is doing
            return self._recover()

    def _recover(self) -> int:
        self._recovered = True
        replayed = 0
        for pending_id, ids in self.catalog.pending_changes():
            live = self.catalog.existing_ids(ids)
            stale = [i for i in ids if i not in live]
            self.vectors.delete(stale)
            missing = self._missing_vectors(live)
            if missing:
                self._reembed(missing)
            self.catalog.end_change(pending_id)
            replayed += 1
        if replayed:
            log.info("recovered %d interrupted file changes", replayed)
        return replayed

    def _recover_once(self) -> None:
        if not self._recovered:
            self.recover()

    def verify(self) -> dict:
        """Compare catalog and vector store; repair differences. Returns what was fixed."""
        with self.catalog.write_lock():
            return self._verify()

    def _verify(self) -> dict:
        cat_ids = self.catalog.all_chunk_ids()
        vec_ids = self.vectors.all_ids()
        orphans = sorted(vec_ids - cat_ids)
        missing = sorted(cat_ids - vec_ids)
        self.vectors.delete(orphans)
        if missing:
            self._reembed(missing)
        return {"orphans_removed": len(orphans), "vectors_added": len(missing)}

    def _missing_vectors(self, ids: set[str]) -> list[str]:
        if not ids:
            return []
        got = self.vectors.has_ids(list(ids))
        return [i for i in ids if i not in got]

    def _reembed(self, ids: list[str]) -> None:
        rows = self.catalog.chunks(ids)
        ordered = [rows[i] for i in ids if i in rows]
        vecs = self.embedder.embed_documents([embed_text(r.title, r.section, r.text) for r in ordered])
        self.vectors.upsert([r.chunk_id for r in ordered], vecs, [_vector_meta(r) for r in ordered])

    def _vectors_for(self, chunks: list[Chunk]) -> list[list[float]]:
        """Embeddings for chunks; unchanged chunks (same id = same content) reuse stored vectors."""
        known = self.vectors.existing_embeddings([c.chunk_id for c in chunks])
        todo = [c for c in chunks if c.chunk_id not in known]
        if todo:
            fresh = self.embedder.embed_documents([embed_text(c.title, c.section, c.text) for c in todo])
            known.update({c.chunk_id: v for c, v in zip(todo, fresh)})
        return [known[c.chunk_id] for c in chunks]


def _vector_meta(chunk) -> dict:
    """What the vector store keeps next to a chunk's vector (for its filters)."""
    return {"department": chunk.department, "doc_type": chunk.doc_type, "source": chunk.source}


class Indexer:
    def __init__(self, cfg: IndexConfig, catalog: Catalog, vectors, embedder, writer: IndexWriter | None = None):
        self.cfg, self.catalog, self.vectors, self.embedder = cfg, catalog, vectors, embedder
        self.writer = writer or IndexWriter(catalog, vectors, embedder)
        self.load_limits: LoadLimits = DEFAULT_LIMITS  # bounds per file (zip bombs, huge PDFs, endless lines)

    def recover(self) -> int:
        return self.writer.recover()

    def verify(self) -> dict:
        return self.writer.verify()

    def rescan_warnings(self, force: bool = False) -> int:
        """Compute the warnings of files indexed by an older version from their stored chunk texts
        (once per :data:`WARNINGS_VERSION`). Returns the number of files with a warning."""
        if not force and self.catalog.get_meta("warnings_version") == WARNINGS_VERSION:
            return 0
        flagged = 0
        for key, root, source in self.catalog.file_keys():
            if not Path(root).is_absolute():  # not a policy folder (e.g. e-file case records)
                continue
            warnings = file_warnings(self.catalog.file_texts(key))
            self.catalog.set_warnings(key, source, warnings)
            flagged += bool(warnings)
        self.catalog.set_meta("warnings_version", WARNINGS_VERSION)
        if flagged:
            log.info("%d indexed files contain text that tries to steer an assistant", flagged)
        return flagged

    def index_path(self, root: Path, *, department: str | None = None, doc_type: str | None = None,
                   progress: bool = True, on_file: Callable[[str], None] | None = None) -> IndexReport:
        t0 = time.monotonic()
        root = Path(root).resolve()
        self.recover()
        self.rescan_warnings()
        report = IndexReport(root=str(root))
        files = scan_folder(root, SUPPORTED_SUFFIXES)
        root_key = str(root)
        known = self.catalog.files_under(root_key)
        seen: set[str] = set()
        failed: set[str] = set()
        bar = Progress(len(files), "Indexierung", progress)
        max_bytes = int(self.cfg.max_file_mb * 1024 * 1024)
        try:
            for sf in files:
                key = f"{root_key}::{sf.source}"
                seen.add(key)
                try:
                    self._index_file(sf, key, root_key, known.get(key), report, max_bytes, department, doc_type)
                except LoaderError as exc:
                    failed.add(key)
                    report.errors.append(FileError(sf.source, exc.reason))
                    self.catalog.record_error(key, sf.source, exc.reason)
                    log.warning("skipped %s: %s", sf.source, exc.reason)
                bar.step(sf.source)
                if on_file:
                    on_file(sf.source)
        finally:
            bar.close()
        for key in known:
            if key not in seen:
                self.writer.remove([key])
                report.removed += 1
        self.catalog.clear_errors_under(root_key, failed)
        report.seconds = time.monotonic() - t0
        return report

    def _index_file(self, sf: SourceFile, key: str, root_key: str, previous, report: IndexReport,
                    max_bytes: int, department: str | None, doc_type: str | None) -> None:
        if sf.size > max_bytes:
            raise LoaderError(sf.source, f"Die Datei ist zu groß ({sf.size / 1024 / 1024:.0f} MB, "
                                         f"erlaubt sind {self.cfg.max_file_mb:.0f} MB).")
        try:
            data = sf.path.read_bytes()
        except OSError as exc:
            raise LoaderError(sf.source, f"Die Datei kann nicht gelesen werden ({exc.strerror}).") from exc
        digest = file_digest(data, sf)
        if previous is not None and previous.digest == digest:
            report.unchanged += 1
            return
        parsed = load(sf.source, data, self.load_limits)
        meta = {**parsed.meta, **sf.meta}
        dep = department or meta.get("department") or self.cfg.default_department
        dtype = doc_type or meta.get("doc_type") or ("gesetz" if meta.get("jurabk") else "dokument")
        title = (meta.get("title") or parsed.title).strip().replace("\n", " ")
        chunks = chunk_blocks(parsed.blocks, source=sf.source, title=title, department=dep,
                              doc_type=dtype, max_chars=self.cfg.chunk_max_chars)
        law = canonical_law(meta.get("jurabk"))
        terms = [chunk_terms(c, law) for c in chunks]
        warnings = file_warnings(c.text for c in chunks)
        report.chunks_written += self.writer.write([IndexRecord(
            key, root_key, sf.source, digest, title, dep, dtype, tuple(chunks), tuple(terms), tuple(warnings))])
        log.debug("indexed %s (%d chunks)", sf.source, len(chunks))
        for w in warnings:
            report.warnings.append(FileNotice(sf.source, w.reason))
            log.warning("%s: %s", sf.source, w.reason)
        if previous is None:
            report.added += 1
        else:
            report.updated += 1


def embed_text(title: str, section: str, text: str) -> str:
    return f"{section}. {text}" if section and section != title else f"{title}. {text}"
