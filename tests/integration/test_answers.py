"""Answers shaped like answers, honest refusals and shared guidance, on the bundled demo corpus
(extractive default, real Chroma and SQLite)."""

from __future__ import annotations

import pytest

from assistant import Assistant, AssistantConfig, ExtractiveConfig, Principal
from tests.conftest import demo_kb_copy

ALL = Principal("anna", "Anna Beispiel")
S_III = Principal("carla", "Carla Beispiel", departments=("S-III",))
S_I = Principal("bernd", "Bernd Beispiel", departments=("S-I",))


@pytest.fixture(scope="module")
def assistant(demo_index, embedder, tmp_path_factory):
    kb = demo_kb_copy(demo_index, tmp_path_factory.mktemp("answers") / "data", embedder)
    return Assistant(AssistantConfig(), ExtractiveConfig(), kb, f"sqlite:///{tmp_path_factory.mktemp('db') / 'a.db'}")


def test_list_question_gets_the_whole_list_of_the_passage(assistant):
    r = assistant.ask("Was muss alles in der Belehrung über die Folgen fehlender Mitwirkung drinstehen?", ALL)
    assert not r["refused"], r["answer"]
    answer = r["answer"].split("\n", 1)[1]  # below the lead naming the source
    # the four points of the Arbeitsanweisung's list, in order, each with its citation
    points = ["fehlende Mitwirkungshandlung", "Frist mit Datum", "Rechtsfolge", "verständlicher Sprache"]
    positions = [answer.find(p) for p in points]
    assert all(p >= 0 for p in positions), answer
    assert positions == sorted(positions), answer
    assert r["citations"][0]["source"] == "S-I/mitwirkung_versagung.md"
    assert ",." not in answer  # list items end cleanly


def test_steps_question_gets_the_steps_in_order(assistant):
    r = assistant.ask("Wie gehe ich bei der ersten Nachforderung von Unterlagen vor?", S_I)
    assert not r["refused"], r["answer"]
    lines = [ln for ln in r["answer"].splitlines() if ln[:2] in {f"{i}." for i in range(1, 10)}]
    assert len(lines) >= 4, r["answer"]
    assert [ln.split(".")[0] for ln in lines] == [str(i) for i in range(1, len(lines) + 1)]
    assert any("zwei Wochen" in ln for ln in lines), r["answer"]


def test_deadline_question_leads_with_the_deadline_and_names_the_source_once(assistant):
    r = assistant.ask("Wie lange hat jemand Zeit, gegen einen Bescheid Widerspruch einzulegen?", ALL)
    assert not r["refused"], r["answer"]
    lead = r["answer"].splitlines()[0]
    assert "Monat" in lead, lead
    title = r["citations"][0]["title"]
    assert r["answer"].count(title) == 1  # "Laut „X“ ..." once, never "Laut X (X)"


def test_in_domain_questions_the_sources_do_not_answer_are_refused(assistant):
    for q in ("Wie viel Kindergeld gibt es 2031 pro Kind im Monat?",
              "Wie hoch ist die Pfändungsfreigrenze auf dem Girokonto?"):
        r = assistant.ask(q, ALL)
        assert r["refused"], (q, r["answer"])
        assert r["answer"].startswith("Dazu finde ich nichts in den freigegebenen Quellen")
        assert r["citations"] == []


def test_shared_guidance_is_visible_to_every_department(assistant):
    """A caseworker of S-III gets the cross-cutting S-Z guidance (Widerspruch), never S-I or S-II
    documents, and may open the S-Z passage."""
    r = assistant.ask("Welche Frist gilt für den Widerspruch gegen einen Bescheid?", S_III)
    assert not r["refused"], r["answer"]
    deps = {c["department"] for c in r["citations"]}
    assert "S-Z" in deps and deps <= {"S-III", "S-Z", "allgemein"}, r["citations"]
    chunk = next(c["chunk_id"] for c in r["citations"] if c["department"] == "S-Z")
    assert assistant.source(S_III, chunk)["department"] == "S-Z"
    hits = assistant.kb.search("Unterhaltsvorschuss rückwirkend", 10,
                               departments=list(S_III.departments))
    assert hits and all(h.department in {"S-III", "S-Z", "allgemein"} for h in hits)


def test_the_chat_names_the_departments_answers_come_from(assistant):
    meta = next(ev for ev in assistant.pipeline.run("Wie berechne ich eine Frist?", S_III) if ev["type"] == "meta")
    assert set(meta["departments"]) == {"S-III", "S-Z", "allgemein"}


def test_a_source_that_tries_to_steer_is_never_quoted(assistant):
    r = assistant.ask("Was mache ich mit einem Dokument, das versteckten Text an die KI enthält?", ALL)
    assert not r["refused"], r["answer"]
    for phrase in ("Amtsleitung geprüft", "weitere Prüfung ist nicht erforderlich", "Ignoriere",
                   "Der Antrag ist genehmigt"):
        assert phrase not in r["answer"], r["answer"]


def test_with_the_meaning_gate_a_question_no_passage_comes_near_is_refused(assistant, tmp_path):
    # the gate compares the best passage's cosine similarity with a minimum (run.sh sets one for
    # EmbeddingGemma); here the minimum is put just above and just below what the question reaches
    q = "Wie lange hat jemand Zeit, gegen einen Bescheid Widerspruch einzulegen?"
    best = max(h.dense for h in assistant.kb.search(q, 5))
    assert best > 0.1

    def ask(min_dense: float):
        a = Assistant(AssistantConfig(refusal_min_dense=min_dense), ExtractiveConfig(), assistant.kb,
                      f"sqlite:///{tmp_path / f'gate-{min_dense}.db'}")
        return a.ask(q, ALL)

    far = ask(min(1.0, best + 0.05))
    assert far["refused"] and far["answer"].startswith("Dazu finde ich nichts"), far["answer"]
    near = ask(max(0.0, best - 0.05))
    assert not near["refused"] and "Monat" in near["answer"], near["answer"]


def _run(assistant, question, history):
    done = [ev for ev in assistant.pipeline.run(question, ALL, history=history) if ev["type"] == "done"]
    return done[-1]


def test_a_new_question_in_a_conversation_is_not_read_as_a_follow_up(assistant):
    history = [("user", "Wie hoch ist das Schonvermögen in der Grundsicherung im Alter?"),
               ("assistant", "Geschützt ist ein Barbetrag von 10.000 EUR ...")]
    # a short question about something else: answered (or refused) on its own, never from the Schonvermögen
    r = _run(assistant, "Wie hoch ist die Zugspitze?", history)
    assert r["refused"], r["answer"]
    # a real follow-up still takes the conversation along
    r = _run(assistant, "Und wenn es 15.000 Euro wären?", history)
    assert not r["refused"], r["answer"]
    assert any(c["source"] == "S-I/grundsicherung_alter_faq.md" for c in r["citations"]), r["citations"]


def test_reranking_puts_the_passage_with_the_closest_sentence_first(assistant, tmp_path):
    """With LOTSE_INDEX__UNIT_RERANK, the best 20 passages are reordered by the one sentence (list item,
    table row) of each that comes closest in meaning to the question; the passages found stay the same."""
    from indexer import IndexConfig, KnowledgeBase
    from indexer.passages import units

    q = "Kunde schickt trotz Aufforderung keine Kontoauszüge – darf ich versagen?"
    plain = assistant.kb.search(q, 20)
    kb = KnowledgeBase(IndexConfig(unit_rerank=5.0), assistant.kb.data_dir, embedder=assistant.kb.embedder)
    reranked = kb.search(q, 20)
    assert {h.chunk_id for h in reranked} == {h.chunk_id for h in plain}

    def closest(h):
        return max(kb.unit_similarities(q, h, units(h.text, 1)))

    # at the highest weight the closest sentence decides: the first passage holds the closest one of all
    assert closest(reranked[0]) == max(closest(h) for h in plain)
    assert reranked[:5] == kb.search(q, 5)  # k passages are the first k of the re-ranked ones
    # a lexical search (the answerability check reads it) is never re-ranked
    assert kb.search(q, 5, mode="lexical") == assistant.kb.search(q, 5, mode="lexical")


def test_reranking_never_embeds_during_a_search(make_kb, tmp_path):
    """Passages whose sentences are not embedded yet (unit vectors switched off while indexing) keep the
    fused order: a search must not embed dozens of sentences while the caseworker waits."""
    from indexer import DEMO_CORPUS, RERANK_DEPTH

    make_kb(tmp_path / "d", unit_vectors=False).index(DEMO_CORPUS / "S-Z", progress=False)
    kb = make_kb(tmp_path / "d", unit_rerank=1.0)
    q = "Wie berechne ich eine Frist?"
    assert kb.unit_vectors.empty()
    hits = kb.search(q, 5)
    assert hits == kb.searcher.search(q, RERANK_DEPTH)[:5]
    assert kb.unit_vectors.empty()


def test_a_refusal_model_decides_when_it_is_configured(assistant, tmp_path):
    """LOTSE_ASSISTANT__REFUSAL_MODEL replaces the fixed threshold by a logistic model over the answerability
    signals. A model that reads only the best sentence similarity refuses exactly when the question comes no
    nearer to any sentence of the passages than its cut-off."""
    import json

    from assistant.answerability import FEATURES

    q = "Wie lange hat jemand Zeit, gegen einen Bescheid Widerspruch einzulegen?"
    best_unit = assistant.pipeline.judge(q, "deadline", None, all_signals=True)[1].features["best_unit"]
    assert best_unit > 0.1

    def ask(cut: float):
        # p(unanswerable) = 0.5 exactly at best_unit == cut; below it the model refuses (threshold 0.5)
        path = tmp_path / f"model-{cut}.json"
        path.write_text(json.dumps({
            "embedder": "test", "features": list(FEATURES), "mean": [0.0] * len(FEATURES),
            "scale": [1.0] * len(FEATURES), "coef": [-50.0 if f == "best_unit" else 0.0 for f in FEATURES],
            "intercept": 50.0 * cut, "threshold": 0.5}))
        a = Assistant(AssistantConfig(refusal_model=path), ExtractiveConfig(), assistant.kb,
                      f"sqlite:///{tmp_path / f'model-{cut}.db'}")
        return a.ask(q, ALL)

    refused = ask(best_unit + 0.05)
    assert refused["refused"] and refused["answer"].startswith("Dazu finde ich nichts"), refused["answer"]
    answered = ask(best_unit - 0.05)
    assert not answered["refused"] and "Monat" in answered["answer"], answered["answer"]


def test_an_unreadable_refusal_model_is_a_configuration_error_at_start(tmp_path, monkeypatch):
    from lotse.settings import SettingsError, load_settings

    bad = tmp_path / "refusal.json"
    bad.write_text('{"embedder": "x", "features": ["log_score"]')  # cut off
    monkeypatch.setenv("LOTSE_ASSISTANT__REFUSAL_MODEL", str(bad))
    with pytest.raises(SettingsError) as err:
        load_settings(data_dir=tmp_path)
    assert "LOTSE_ASSISTANT__REFUSAL_MODEL" in str(err.value) and "refusal.json" in str(err.value)
    bad.write_text('{"embedder": "x", "features": ["log_score"], "mean": [0], "scale": [1], "coef": [1], '
                   '"intercept": 0, "threshold": 0.5}')
    with pytest.raises(SettingsError) as err:
        load_settings(data_dir=tmp_path)
    assert "calibrate_refusal.py --write" in str(err.value)


def test_the_shipped_refusal_model_is_readable():
    from pathlib import Path

    from assistant.answerability import RefusalModel

    model = RefusalModel.load(Path(__file__).resolve().parents[2] / "assistant/calibration/refusal_embeddinggemma.json")
    assert model.embedder.startswith("embeddinggemma") and 0 < model.threshold < 1
