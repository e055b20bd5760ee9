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
