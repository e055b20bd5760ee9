"""Indexer layer: loaders, chunking, the index (catalog + Chroma) and hybrid search.

The assistant uses :class:`KnowledgeBase` and the data shapes below; nothing else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from .catalog import Catalog
from .catalog_schema import FileRecord, FileWarning, IndexRecord
from .config import ChromaConfig, IndexConfig
from .embeddings import LocalEmbedder, StaticEmbedder
from .errors import IndexingError, LoaderError, StoreError
from .pipeline import Indexer, IndexReport, IndexWriter
from .analysis import analyze, analyze_query
from .search import CASE_DOC_TYPE, Hit, HybridSearcher, SourceRef, support_score
from .text import split_sentences
from .passages import units
from .unit_vectors import UnitVectors

log = logging.getLogger(__name__)

RERANK_DEPTH = 20  # passages of the fused ranking that the unit re-ranking reorders

DEMO_CORPUS = Path(__file__).resolve().parent / "demo_corpus"


class KnowledgeBase:
    """Front of the indexer layer: index folders, search, report status, and write records.

    Every write to the index (folders through :meth:`index`, e-file cases through
    :class:`indexer.cases.CaseSync`) goes through :meth:`write_records` and :meth:`remove`: one
    crash-safe protocol for catalog and vector store (:class:`indexer.pipeline.IndexWriter`).

    Collaborators can be injected (tests, benchmarks); by default they are built
    from the configuration and ``data_dir``.
    """

    def __init__(self, cfg: IndexConfig, data_dir: Path, *, embedder=None, catalog: Catalog | None = None,
                 vectors=None, database_url: str | None = None, engine=None):
        """``database_url`` / ``engine``: keep the catalog in that SQL database (``lotse.factory`` gives the
        PostgreSQL database of ``LOTSE_DATABASE_URL``) instead of ``index.sqlite3`` in ``data_dir``; a
        catalog file already in ``data_dir`` is taken over once (:meth:`Catalog.adopt_file_catalog`)."""
        from .vectors import VectorStore

        self.cfg = cfg
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if embedder is None:
            if cfg.embedder == "static":
                embedder = StaticEmbedder(cfg.embedding_model, self.data_dir / "models")
            else:
                embedder = LocalEmbedder(cfg.embedding_model, cfg.embedding_max_tokens, cfg.embedding_batch_size)
        self.embedder = embedder
        if catalog is None and (database_url or engine is not None):
            catalog = Catalog(url=database_url, engine=engine)
            if catalog.adopt_file_catalog(self.data_dir / "index.sqlite3"):
                log.info("index catalog taken over from %s into the database", self.data_dir / "index.sqlite3")
        self.catalog = catalog or Catalog(self.data_dir / "index.sqlite3")
        self.vectors = vectors or VectorStore(cfg.chroma, self.data_dir, self.embedder.model_id,
                                              catalog=self.catalog)
        self.writer = IndexWriter(self.catalog, self.vectors, self.embedder)
        self.indexer = Indexer(cfg, self.catalog, self.vectors, self.embedder, writer=self.writer)
        self.searcher = HybridSearcher(cfg, self.catalog, self.vectors, self.embedder)
        self.unit_vectors = UnitVectors(self.data_dir / "unit_vectors.sqlite3", self.embedder)

    def index(self, path: Path, *, warm_units: bool = True, **kw) -> IndexReport:
        """Index the folder ``path``. ``warm_units=False``: leave the unit vectors to
        :meth:`warm_unit_vectors_in_background` (the server starts answering first)."""
        report = self.indexer.index_path(Path(path), **kw)
        # an unchanged folder needs no pass over every chunk (on start-up, for instance); a store still
        # empty (an index built before unit vectors existed) is filled once
        if warm_units and self.cfg.unit_vectors and (report.chunks_written or self.unit_vectors.empty()):
            self.warm_unit_vectors()
        return report

    def warm_unit_vectors_in_background(self) -> threading.Thread | None:
        """Embed the missing unit vectors in a background thread (a pass over every chunk, cheap when
        nothing is missing). Until it is done, answers compute the units of the passages they quote and
        the re-ranking keeps the fused order for passages not embedded yet."""
        if not self.cfg.unit_vectors:
            return None
        thread = threading.Thread(target=self.warm_unit_vectors, name="lotse-unit-vectors", daemon=True)
        thread.start()
        return thread

    def warm_unit_vectors(self) -> int:
        """Embed the quotable units of every indexed policy passage not embedded yet (see
        :mod:`indexer.unit_vectors`); returns how many were new. Failures only cost the semantic choice
        of the quoted sentence, never the index: they are logged."""
        try:
            ids = sorted(self.catalog.all_chunk_ids())
            new = 0
            for i in range(0, len(ids), 500):
                rows = self.catalog.chunks(ids[i:i + 500]).values()
                new += self.unit_vectors.warm((r.section, r.text) for r in rows if r.doc_type != CASE_DOC_TYPE)
            return new
        except Exception:  # noqa: BLE001 - a cache; the answer falls back to word overlap
            log.exception("unit vectors could not be computed")
            return 0

    def unit_similarities(self, query: str, hit: Hit, seq) -> list[float] | None:
        """Cosine similarity of ``query`` to each unit ``seq`` of ``hit`` (None: not available)."""
        if not self.cfg.unit_vectors or not seq:
            return None
        try:
            return self.unit_vectors.similarities(self.searcher.query_vector(query), hit.section, seq)
        except Exception:  # noqa: BLE001 - a cache; the answer falls back to word overlap
            log.exception("unit vectors unavailable")
            return None

    # -- writing records (crash-safe; see IndexWriter) ---------------------------------------------
    def write_records(self, records: Sequence[IndexRecord]) -> int:
        """Store ``records`` in catalog and vector store, each replacing what its ``file_key`` held;
        returns the number of chunks written. Crash-safe: after ``kill -9`` the next writer (or
        :meth:`recover`) completes or rolls back the interrupted write."""
        return self.writer.write(records)

    def remove(self, file_keys: Iterable[str]) -> int:
        """Remove the records under ``file_keys`` from catalog and vector store (crash-safe like
        :meth:`write_records`); returns how many of them were indexed."""
        return self.writer.remove(file_keys)

    def recover(self) -> int:
        """Replay the journal of interrupted writes; returns how many were replayed."""
        return self.writer.recover()

    def generation(self) -> int:
        """A number that grows with every committed write or removal (also by other processes)."""
        return self.catalog.generation()

    def records_under(self, root: str) -> dict[str, FileRecord]:
        """file_key -> (digest, chunk ids) of every record stored under ``root``."""
        return self.catalog.files_under(root)

    def ensure_demo_corpus(self, progress: bool = False, warm_units: bool = True) -> IndexReport | None:
        """Index the bundled demo corpus when the index is empty (first start)."""
        if self.catalog.stats()["documents"] > 0:
            return None
        log.info("index empty: indexing the bundled demo corpus")
        return self.index(DEMO_CORPUS, progress=progress, warm_units=warm_units)

    def search(self, query: str, k: int = 5, **kw) -> list[Hit]:
        weight = self.cfg.unit_rerank
        if weight <= 0 or not self.cfg.unit_vectors or kw.get("mode", "hybrid") == "lexical":
            return self.searcher.search(query, k, **kw)
        return self.rerank(query, self.searcher.search(query, max(k, RERANK_DEPTH), **kw), weight)[:k]

    def rerank(self, query: str, hits: list[Hit], weight: float) -> list[Hit]:
        """Reorder ``hits`` by fused score (min-max) + ``weight`` x the best similarity of one of the
        passage's units (sentence, list item, table row) to the question (min-max). A passage that covers
        several topics is found by the one sentence that answers, not diluted by the rest. Uses stored unit
        vectors only: a passage whose units are not embedded yet (a case record) gets the average."""
        if len(hits) < 2:
            return hits
        try:
            qv = self.searcher.query_vector(query)
            best: list[float | None] = []
            for h in hits:
                sims = self.unit_vectors.similarities(qv, h.section, units(h.text, 1), compute=False)
                best.append(max(sims) if sims else None)
        except Exception:  # noqa: BLE001 - a cache; the fused ranking stands
            log.exception("unit vectors unavailable for re-ranking")
            return hits
        known = [b for b in best if b is not None]
        if not known:
            return hits
        lo, hi = min(known), max(known)
        mean = sum(known) / len(known)
        s_lo, s_hi = min(h.score for h in hits), max(h.score for h in hits)

        def combined(i: int) -> float:
            fused = (hits[i].score - s_lo) / ((s_hi - s_lo) or 1.0)
            unit = ((mean if best[i] is None else best[i]) - lo) / ((hi - lo) or 1.0)
            return fused + weight * unit

        return [hits[i] for i in sorted(range(len(hits)), key=lambda i: -combined(i))]

    def support(self, query: str, hits: list[Hit]) -> float:
        return support_score(self.searcher, query, hits)

    def may_see(self, departments, department: str, doc_type: str) -> bool:
        return self.searcher.may_see(departments, department, doc_type)

    def visible_departments(self, departments: list[str] | None) -> list[str] | None:
        return self.searcher.visible_departments(departments)

    def idf(self, term: str) -> float:
        return self.searcher.lexical.idf(term)

    def chunk(self, chunk_id: str):
        return self.catalog.chunks([chunk_id]).get(chunk_id)

    def stats(self) -> dict:
        s = self.catalog.stats()
        s["vectors"] = self.vectors.count()
        s["embedding_model"] = self.embedder.model_id
        return s


__all__ = ["KnowledgeBase", "IndexRecord", "FileRecord", "FileWarning", "IndexConfig", "ChromaConfig", "Hit", "SourceRef",
           "IndexReport",
           "IndexingError", "LoaderError", "StoreError", "DEMO_CORPUS", "analyze", "analyze_query", "split_sentences"]
