"""Domain adaptation of the embedding model on the indexed corpus (CPU, reproducible).

Training pairs come from the catalog itself: (heading, passage under it) and, for
FAQ documents, (question heading, answer). The model is fine-tuned with in-batch
negatives (MultipleNegativesRankingLoss) and saved to a local folder, which
``LOTSE_INDEX__EMBEDDING_MODEL`` can then point to. Seeds are fixed.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
from pathlib import Path

from .catalog import Catalog

log = logging.getLogger(__name__)
_PARA_PREFIX = re.compile(r"^§+\s*\d+[a-z]?\s*")


def training_pairs(catalog: Catalog, limit: int | None = None, seed: int = 13) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    db = catalog._conn()
    for title, section, heading_path, text in db.execute(
            "SELECT title, section, heading_path, text FROM chunks ORDER BY rowid"):
        anchor = _PARA_PREFIX.sub("", section).strip()
        if len(anchor) < 6 or anchor.lower() in ("inhaltsverzeichnis", "inhalt", title.lower()):
            continue
        path = json.loads(heading_path)
        context = path[-2] if len(path) >= 2 else ""
        if context and not context.startswith("§"):
            anchor = f"{anchor} ({_PARA_PREFIX.sub('', context)})"
        pairs.append((anchor, text[:600]))
    random.Random(seed).shuffle(pairs)
    return pairs[:limit] if limit else pairs


def adapt(catalog: Catalog, base_model: Path, out_dir: Path, *, epochs: int = 1, batch_size: int = 32,
          max_tokens: int = 128, limit: int | None = None) -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(13)
    random.seed(13)
    pairs = training_pairs(catalog, limit)
    if len(pairs) < batch_size:
        raise ValueError("Zu wenige Trainingspaare im Index – zuerst Dokumente indexieren.")
    model = SentenceTransformer(str(base_model), device="cpu", local_files_only=True)
    model.max_seq_length = max_tokens
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)
    steps = epochs * (len(pairs) // batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(1, steps // 10)) * max(0.0, 1 - step / max(1, steps)))
    log.info("adapting %s on %d pairs, %d steps", base_model.name, len(pairs), steps)
    rng = random.Random(13)
    for _ in range(epochs):
        rng.shuffle(pairs)
        for i in range(0, len(pairs) - batch_size + 1, batch_size):
            batch = pairs[i:i + batch_size]
            # in-batch negatives (MultipleNegativesRankingLoss), scale 20 as in sentence-transformers
            a = _embed(model, [x for x, _ in batch])
            p = _embed(model, [y for _, y in batch])
            scores = a @ p.T * 20.0
            loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(batch)))
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    return out_dir


def _embed(model, texts: list[str]):
    import torch

    features = model.tokenize(texts)
    out = model(features)["sentence_embedding"]
    return torch.nn.functional.normalize(out, dim=-1)
