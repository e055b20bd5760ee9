"""Chroma vector store (embedded or client/server), always fed with Lotse's own embeddings."""

from __future__ import annotations

import logging
from pathlib import Path

from .config import ChromaConfig
from .errors import StoreError

log = logging.getLogger(__name__)


class VectorStore:
    def __init__(self, cfg: ChromaConfig, data_dir: Path, model_id: str):
        try:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
            if cfg.mode == "server":
                self._client = chromadb.HttpClient(host=cfg.host, port=cfg.port, settings=settings)
                self._client.heartbeat()
            else:
                path = Path(data_dir) / "chroma"
                path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(path), settings=settings)
            # embedding_function=None: Chroma's default would download a model at run time
            self._col = self._client.get_or_create_collection(
                cfg.collection, embedding_function=None,
                metadata={"hnsw:space": "cosine", "embedding_model": model_id},
            )
        except StoreError:
            raise
        except Exception as exc:
            where = f"{cfg.host}:{cfg.port}" if cfg.mode == "server" else str(data_dir)
            raise StoreError(f"Vektorspeicher (Chroma, {cfg.mode}) nicht erreichbar unter {where}: {exc}") from exc
        stored = (self._col.metadata or {}).get("embedding_model")
        if stored and stored != model_id:
            raise StoreError(
                f"Der Index wurde mit dem Embedding-Modell {stored} gebaut, konfiguriert ist {model_id}. "
                "Bitte `lotse index --rebuild PFAD` ausführen oder das Modell zurückstellen.")

    def count(self) -> int:
        return self._col.count()

    def upsert(self, ids: list[str], embeddings: list[list[float]], metadatas: list[dict]) -> None:
        for i in range(0, len(ids), 2000):
            self._col.upsert(ids=ids[i:i + 2000], embeddings=embeddings[i:i + 2000],
                             metadatas=metadatas[i:i + 2000])

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 2000):
            if ids[i:i + 2000]:
                self._col.delete(ids=ids[i:i + 2000])

    def existing_embeddings(self, ids: list[str]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for i in range(0, len(ids), 2000):
            got = self._col.get(ids=ids[i:i + 2000], include=["embeddings"])
            for cid, emb in zip(got["ids"], got["embeddings"]):
                out[cid] = list(map(float, emb))
        return out

    def has_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 2000):
            found.update(self._col.get(ids=ids[i:i + 2000], include=[])["ids"])
        return found

    def all_ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        while True:
            got = self._col.get(include=[], limit=5000, offset=offset)
            if not got["ids"]:
                break
            out.update(got["ids"])
            offset += len(got["ids"])
        return out

    def query(self, embedding: list[float], n: int, where: dict | None) -> list[tuple[str, float]]:
        # no count() first: at 100k vectors it costs more than the HNSW query itself
        try:
            res = self._col.query(query_embeddings=[embedding], n_results=n, where=where, include=["distances"])
        except Exception as exc:  # noqa: BLE001 - Chroma raises plain errors for an empty collection
            if self._col.count() == 0:
                return []
            raise StoreError(f"Vektorsuche fehlgeschlagen: {exc}") from exc
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]
