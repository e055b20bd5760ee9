"""Sentence vectors of the indexed passages (indexer/unit_vectors.py): a cache in the data directory that
the answer and the re-ranking read; filled after indexing, or in the background while the server answers."""

from __future__ import annotations

from indexer import DEMO_CORPUS


def test_units_are_embedded_once_and_kept_across_restarts(make_kb, tmp_path):
    kb = make_kb(tmp_path / "d")
    kb.index(DEMO_CORPUS / "S-Z", progress=False)
    assert not kb.unit_vectors.empty()
    assert kb.warm_unit_vectors() == 0  # everything is stored already
    kb.unit_vectors.close()
    again = make_kb(tmp_path / "d")  # a restart reads the same file
    assert again.warm_unit_vectors() == 0
    q = "Wie berechne ich eine Frist?"
    hit = again.search(q, 1)[0]
    from indexer.passages import units

    sims = again.unit_vectors.similarities(again.searcher.query_vector(q), hit.section, units(hit.text, 1),
                                           compute=False)
    assert sims and all(-1.0 <= s <= 1.0 for s in sims)


def test_a_server_answers_while_the_units_are_embedded_in_the_background(make_kb, tmp_path):
    """First start of `lotse serve`: the passages are indexed, the sentence vectors follow in a background
    thread; a question asked meanwhile is answered, and afterwards every unit is stored."""
    from assistant import Assistant, AssistantConfig, ExtractiveConfig, Principal

    kb = make_kb(tmp_path / "d", unit_rerank=0.8)
    kb.index(DEMO_CORPUS / "S-Z", progress=False, warm_units=False)  # as ensure_demo_corpus does for the server
    assert kb.unit_vectors.empty()
    thread = kb.warm_unit_vectors_in_background()
    a = Assistant(AssistantConfig(), ExtractiveConfig(), kb, f"sqlite:///{tmp_path / 'a.db'}")
    r = a.ask("Wie lange hat jemand Zeit, gegen einen Bescheid Widerspruch einzulegen?", Principal("anna", "Anna"))
    assert not r["refused"] and "Monat" in r["answer"], r["answer"]
    thread.join(timeout=600)
    assert not thread.is_alive()
    assert not kb.unit_vectors.empty() and kb.warm_unit_vectors() == 0


def test_without_unit_vectors_nothing_is_embedded_in_the_background(make_kb, tmp_path):
    kb = make_kb(tmp_path / "d", unit_vectors=False)
    kb.index(DEMO_CORPUS / "S-Z", progress=False)
    assert kb.warm_unit_vectors_in_background() is None
    assert kb.unit_vectors.empty()
