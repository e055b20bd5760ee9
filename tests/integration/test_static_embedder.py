"""The static embedder (LOTSE_INDEX__EMBEDDER=static): token vectors distilled once from the local
sentence-transformers model, cached in the data directory; indexing and search work with it."""

from __future__ import annotations

import pytest

from indexer import DEMO_CORPUS

pytestmark = pytest.mark.slow  # distilling the model's vocabulary takes 15-30 s on 2 cores (MiniLM)


def test_static_embedder_indexes_and_finds_by_meaning(tmp_path):
    from indexer import IndexConfig, KnowledgeBase

    kb = KnowledgeBase(IndexConfig(embedder="static", unit_vectors=False), tmp_path / "d")
    report = kb.index(DEMO_CORPUS / "S-Z", progress=False)
    assert report.errors == [] and report.added > 0
    assert list((tmp_path / "d" / "models").glob("static-*.npy"))  # distilled once, kept for the next start
    hits = kb.search("Widerspruch gegen einen Bescheid einlegen: bis wann?", 3, mode="dense")
    assert any(h.source == "widerspruchsverfahren.md" for h in hits), [h.source for h in hits]
    again = KnowledgeBase(IndexConfig(embedder="static", unit_vectors=False), tmp_path / "d")
    assert again.search("Widerspruch gegen einen Bescheid einlegen: bis wann?", 3, mode="dense") == hits
