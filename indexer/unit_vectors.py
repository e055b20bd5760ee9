"""Vectors of the quotable units of the indexed passages (sentences, list items, table rows).

Search finds the passage; the answer then quotes the unit of it that says what was asked. Choosing
that unit by word overlap misses paraphrases ("Ab wann kriegt sie Geld?" against "Die Leistung wird
ab dem Ersten des Monats erbracht ..."), so each unit is also embedded, in the words it is quoted
with (its section heading, and the lead-in of its list), and compared with the question's vector.

The store is a cache, addressed by the embedding model and the unit's text: any entry can be
computed again, a missing one is computed when a passage is first quoted, and nothing in it has to be
removed or kept in step with the index (:meth:`UnitVectors.warm` fills it after indexing). It is a
SQLite file in the data directory of each host; hosts that share one index each keep their own.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .passages import Unit, units, with_intro

log = logging.getLogger(__name__)

_BATCH = 256
_MEMO_MAX = 20_000  # vectors kept in memory (the units of the passages quoted lately)


def unit_text(section: str, unit: Unit) -> str:
    """What is embedded for ``unit``: its section heading, then the unit as quoted."""
    text = with_intro(unit)
    return f"{section}. {text}" if section else text


class UnitVectors:
    def __init__(self, path: Path, embedder):
        self.path = Path(path)
        self.embedder = embedder
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._memo: dict[str, np.ndarray] = {}

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS unit_vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
            self._db = db
        return self._db

    def empty(self) -> bool:
        with self._lock:
            return self._conn().execute("SELECT 1 FROM unit_vectors LIMIT 1").fetchone() is None

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.embedder.model_id}\x00{text}".encode()).hexdigest()[:32]

    def _remember(self, key: str, vec: np.ndarray) -> None:
        if len(self._memo) >= _MEMO_MAX:
            self._memo.clear()
        self._memo[key] = vec

    def _lookup(self, keys: list[str], remember: bool = True) -> dict[str, np.ndarray]:
        found = {k: self._memo[k] for k in keys if k in self._memo}
        rest = [k for k in keys if k not in found]
        for i in range(0, len(rest), 500):
            part = rest[i:i + 500]
            rows = self._conn().execute(
                f"SELECT key, vec FROM unit_vectors WHERE key IN ({','.join('?' * len(part))})", part).fetchall()
            for k, blob in rows:
                found[k] = np.frombuffer(blob, dtype=np.float32)
                if remember:
                    self._remember(k, found[k])
        return found

    def _embed(self, texts: dict[str, str]) -> dict[str, np.ndarray]:
        """Embed ``texts`` (key -> text); touches neither the store nor the lock."""
        items = list(texts.items())
        vecs = self.embedder.embed_documents([t for _, t in items])
        return {k: np.asarray(v, dtype=np.float32) for (k, _), v in zip(items, vecs)}

    def _store(self, vecs: dict[str, np.ndarray], remember: bool = True) -> None:
        """Keep ``vecs`` (the caller holds the lock)."""
        if remember:
            for k, v in vecs.items():
                self._remember(k, v)
        with self._conn() as db:
            db.executemany("INSERT OR IGNORE INTO unit_vectors (key, vec) VALUES (?, ?)",
                           [(k, v.tobytes()) for k, v in vecs.items()])

    def _compute(self, texts: dict[str, str], remember: bool = True) -> dict[str, np.ndarray]:
        """Embed ``texts`` (key -> text) and store them."""
        out: dict[str, np.ndarray] = {}
        items = list(texts.items())
        for i in range(0, len(items), _BATCH):
            part = self._embed(dict(items[i:i + _BATCH]))
            self._store(part, remember)
            out.update(part)
        return out

    def vectors(self, texts: list[str]) -> list[np.ndarray]:
        """The vectors of ``texts``, computing the ones not stored yet."""
        with self._lock:
            keys = [self._key(t) for t in texts]
            found = self._lookup(keys)
            missing = {k: t for k, t in zip(keys, texts) if k not in found}
            if missing:
                found.update(self._compute(missing))
            return [found[k] for k in keys]

    def stored(self, texts: list[str]) -> list[np.ndarray | None]:
        """The vectors of ``texts`` that are stored (None for the others); computes nothing."""
        with self._lock:
            keys = [self._key(t) for t in texts]
            found = self._lookup(keys)
            return [found.get(k) for k in keys]

    def similarities(self, query_vector: list[float], section: str, seq: tuple[Unit, ...],
                     compute: bool = True) -> list[float] | None:
        """Cosine similarity of the question to each unit of one passage (``seq`` as :func:`units` gives it).
        ``compute=False``: None unless every unit's vector is stored already (a search must not embed)."""
        if not seq:
            return []
        q = np.asarray(query_vector, dtype=np.float32)
        q = q / (np.linalg.norm(q) or 1.0)
        texts = [unit_text(section, u) for u in seq]
        if compute:
            vecs = self.vectors(texts)
        else:
            found = self.stored(texts)
            if any(v is None for v in found):
                return None
            vecs = found
        return [float(v @ q / (np.linalg.norm(v) or 1.0)) for v in vecs]

    def warm(self, passages: Iterable[tuple[str, str]]) -> int:
        """Embed the units of ``passages`` ((section, text) pairs) that are not stored yet; returns how many.
        The lock is held only to look up and to store, never while embedding, so answers that read the
        store are not held up by a warm-up running in the background."""
        texts: dict[str, str] = {}
        for section, text in passages:
            for u in units(text, 1):
                t = unit_text(section, u)
                texts[self._key(t)] = t
        missing: dict[str, str] = {}
        items = list(texts.items())
        for i in range(0, len(items), 2000):
            part = dict(items[i:i + 2000])
            with self._lock:
                stored = self._lookup(list(part), remember=False)
            missing.update({k: t for k, t in part.items() if k not in stored})
        todo = list(missing.items())
        for i in range(0, len(todo), _BATCH):
            vecs = self._embed(dict(todo[i:i + _BATCH]))
            with self._lock:
                self._store(vecs, remember=False)
        if missing:
            log.info("unit vectors: %d new units embedded", len(missing))
        return len(missing)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
