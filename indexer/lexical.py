"""In-memory BM25 over the catalog's analysed terms (scipy sparse, per-term query weights).

Built from the catalog on first use and rebuilt when the catalog's generation
changes, so several server processes over one catalog stay consistent.
"""

from __future__ import annotations

import threading

import numpy as np
from scipy import sparse

from .catalog import Catalog


class LexicalIndex:
    def __init__(self, catalog: Catalog, k1: float = 1.2, b: float = 0.75):
        self.catalog = catalog
        self.k1, self.b = k1, b
        self._generation = -1
        self._lock = threading.Lock()
        self.ids: list[str] = []
        self._vocab: dict[str, int] = {}
        self._matrix = None  # CSC: docs x terms, BM25 weights
        self._departments = np.array([], dtype=object)
        self._doc_types = np.array([], dtype=object)

    def _ensure(self) -> None:
        gen = self.catalog.generation()
        if gen == self._generation:
            return
        with self._lock:
            if gen == self._generation:
                return
            ids, terms, deps, types = self.catalog.all_terms()
            vocab: dict[str, int] = {}
            rows: list[int] = []
            cols: list[int] = []
            for i, t in enumerate(terms):
                for term in t.split():
                    j = vocab.setdefault(term, len(vocab))
                    rows.append(i)
                    cols.append(j)
            n_docs, n_terms = len(ids), len(vocab)
            if n_docs:
                tf = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                                       shape=(n_docs, n_terms))
                tf.sum_duplicates()
                dl = np.asarray(tf.sum(axis=1)).ravel()
                avgdl = dl.mean() or 1.0
                df = np.bincount(tf.indices, minlength=n_terms)
                idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
                norm = self.k1 * (1 - self.b + self.b * dl / avgdl)
                row_idx = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
                data = tf.data * (self.k1 + 1) / (tf.data + norm[row_idx]) * idf[tf.indices]
                matrix = sparse.csr_matrix((data.astype(np.float32), tf.indices, tf.indptr),
                                           shape=tf.shape).tocsc()
            else:
                matrix = sparse.csc_matrix((0, 0), dtype=np.float32)
            self.ids, self._vocab, self._matrix = ids, vocab, matrix
            self._departments = np.array(deps, dtype=object)
            self._doc_types = np.array(types, dtype=object)
            self._generation = gen

    def search(self, weights: dict[str, float], n: int, departments: list[str] | None = None,
               doc_types: list[str] | None = None) -> list[tuple[str, float]]:
        self._ensure()
        if not self.ids:
            return []
        cols = [(self._vocab[t], w) for t, w in weights.items() if t in self._vocab]
        if not cols:
            return []
        sub = self._matrix[:, [c for c, _ in cols]]
        scores = np.asarray(sub @ np.array([w for _, w in cols], dtype=np.float32)).ravel()
        if departments is not None:
            scores = np.where(np.isin(self._departments, departments), scores, 0.0)
        if doc_types is not None:
            scores = np.where(np.isin(self._doc_types, doc_types), scores, 0.0)
        nz = np.flatnonzero(scores > 0)
        if nz.size == 0:
            return []
        top = nz[np.argsort(-scores[nz], kind="stable")[:n]]
        return [(self.ids[i], float(scores[i])) for i in top]

    def _df(self, term: str) -> int:
        j = self._vocab.get(term)
        return 0 if j is None else int(self._matrix.indptr[j + 1] - self._matrix.indptr[j])

    def _idf(self, term: str) -> float:
        n = max(1, len(self.ids))
        df = self._df(term)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def idf(self, term: str) -> float:
        self._ensure()
        return self._idf(term)

    def max_score(self, weights: dict[str, float]) -> float:
        """Upper bound of a chunk's BM25 score for these weighted terms (for support scores)."""
        self._ensure()
        return sum(w * self._idf(t) * (self.k1 + 1) for t, w in weights.items()) or 1.0

    def document_frequency(self, term: str) -> int:
        self._ensure()
        return self._df(term)
