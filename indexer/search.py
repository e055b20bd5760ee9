"""Hybrid retrieval: German BM25 + dense vectors, score-normalised fusion, one hit per section."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

from .analysis import analyze_query
from .catalog import Catalog
from .config import IndexConfig
from .lexical import LexicalIndex

log = logging.getLogger(__name__)

CASE_DOC_TYPE = "akte"  # case records (indexer/cases.py) never become visible outside their department


@dataclass(frozen=True)
class SourceRef:
    """The one shape of a citation: from search results to answers, letters and the UI."""

    source: str
    title: str
    section: str
    page: int | None
    chunk_id: str


@dataclass(frozen=True)
class Hit:
    source: str
    title: str
    section: str
    page: int | None
    score: float
    text: str
    chunk_id: str
    department: str
    doc_type: str
    heading_path: tuple[str, ...]
    lexical: float = 0.0  # raw BM25 score
    dense: float = 0.0  # raw cosine similarity

    @property
    def ref(self) -> SourceRef:
        return SourceRef(self.source, self.title, self.section, self.page, self.chunk_id)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["heading_path"] = list(self.heading_path)
        d["score"] = round(self.score, 4)
        return d


class HybridSearcher:
    def __init__(self, cfg: IndexConfig, catalog: Catalog, vectors, embedder, lexical: LexicalIndex | None = None):
        self.cfg, self.catalog, self.vectors, self.embedder = cfg, catalog, vectors, embedder
        self.lexical = lexical or LexicalIndex(catalog)
        self._query_vectors: dict[str, list[float]] = {}

    def query_vector(self, query: str) -> list[float]:
        """The query's embedding; the last few are kept (the answer compares the same question's vector
        with the units of the passages found)."""
        vec = self._query_vectors.get(query)
        if vec is None:
            if len(self._query_vectors) >= 256:
                self._query_vectors.clear()
            vec = self._query_vectors[query] = self.embedder.embed_query(query)
        return vec

    def search(self, query: str, k: int = 5, *, departments: list[str] | None = None,
               doc_types: list[str] | None = None, mode: str = "hybrid",
               dense_weight: float | None = None) -> list[Hit]:
        t0 = time.perf_counter()
        w = self.cfg.dense_weight if dense_weight is None else dense_weight
        if mode == "lexical":
            w = 0.0
        elif mode == "dense":
            w = 1.0
        n = max(self.cfg.candidates, k * 4)
        own = departments
        departments = self.visible_departments(departments)
        lex: list[tuple[str, float]] = []
        dense: list[tuple[str, float]] = []
        if w < 1.0:
            lex = self.lexical.search(analyze_query(query), n, departments, doc_types)
        if w > 0.0:
            where = _where(departments, doc_types)
            dense = self.vectors.query(self.query_vector(query), n, where)
        scores: dict[str, float] = {}
        raw_lex = dict(lex)
        raw_dense = dict(dense)
        if lex:
            top = lex[0][1] or 1.0
            for cid, s in lex:
                scores[cid] = (1 - w) * s / top
        if dense:
            hi, lo = dense[0][1], min(s for _, s in dense)
            span = (hi - lo) or 1.0
            for cid, s in dense:
                scores[cid] = scores.get(cid, 0.0) + w * (s - lo) / span
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        rows = self.catalog.chunks([cid for cid, _ in ranked[: n * 2]])
        hits: list[Hit] = []
        seen_sections: set[tuple[str, str]] = set()
        for cid, s in ranked:
            row = rows.get(cid)
            if row is None:  # vector without catalog row (interrupted run): ignore
                continue
            if departments is not None and not self.may_see(own, row.department, row.doc_type):
                continue
            key = (row.source, " > ".join(row.heading_path) or row.section)
            if key in seen_sections:
                continue
            seen_sections.add(key)
            hits.append(Hit(row.source, row.title, row.section, row.page, s, row.text, cid, row.department,
                            row.doc_type, row.heading_path, raw_lex.get(cid, 0.0), raw_dense.get(cid, 0.0)))
            if len(hits) >= k:
                break
        log.debug("search mode=%s hits=%d in %.1f ms", mode, len(hits), (time.perf_counter() - t0) * 1000)
        return hits

    def visible_departments(self, departments: list[str] | None) -> list[str] | None:
        """The departments whose documents a user of ``departments`` sees: their own plus the shared ones."""
        if departments is None:
            return None
        return list(dict.fromkeys([*departments, *self.cfg.shared_departments]))

    def may_see(self, departments: list[str] | tuple[str, ...] | None, department: str, doc_type: str) -> bool:
        """Own departments see everything of theirs; shared departments' policy documents (not case
        records) are visible to everyone."""
        if departments is None or department in departments:
            return True
        return department in self.cfg.shared_departments and doc_type != CASE_DOC_TYPE


def support_score(searcher: "HybridSearcher", query: str, hits: list[Hit]) -> float:
    """How well the best passage supports the query, 0..1.

    The best passage's BM25 score over the best possible one, damped by the share of
    the query's weight (idf) that the corpus knows at all: a question whose main words
    never occur in the approved sources ("Wetter", "Bundesliga") scores low even when
    a few common words match. Calibrated in benchmarks/calibrate_refusal.py.
    """
    if not hits:
        return 0.0
    weights = analyze_query(query)
    own = {t: w for t, w in weights.items() if w >= 1.0}
    if not own:
        return 0.0
    lexical = searcher.lexical
    best = max(h.lexical for h in hits)
    relative = min(1.0, best / lexical.max_score(weights))
    total = sum(lexical.idf(t) * w for t, w in own.items())
    known = sum(lexical.idf(t) * w for t, w in own.items() if lexical.document_frequency(t) > 0) / total
    return relative * known ** 0.5


def _where(departments: list[str] | None, doc_types: list[str] | None) -> dict | None:
    clauses = []
    if departments is not None:
        clauses.append({"department": {"$in": list(departments) or ["\x00"]}})
    if doc_types is not None:
        clauses.append({"doc_type": {"$in": list(doc_types) or ["\x00"]}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
