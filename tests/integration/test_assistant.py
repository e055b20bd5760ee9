"""The answer pipeline on the bundled demo corpus, extractive provider, real Chroma and SQLite."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from assistant import Assistant, AssistantConfig, ExtractiveConfig, OpenAIConfig, Principal
from assistant.providers import format_context, register
from tests.conftest import demo_kb_copy, lotse_cmd

ME = Principal("anna", "Anna Beispiel")
OTHER = Principal("bernd", "Bernd Beispiel")


@pytest.fixture(scope="module")
def demo_kb(tmp_path_factory, demo_index, embedder):
    return demo_kb_copy(demo_index, tmp_path_factory.mktemp("kb"), embedder)


@pytest.fixture
def assistant(demo_kb, tmp_path):
    return Assistant(AssistantConfig(), ExtractiveConfig(), demo_kb, f"sqlite:///{tmp_path / 'a.db'}")


def test_extractive_answer_is_short_german_and_cites_the_policy(assistant):
    r = assistant.ask("Welche Frist gilt für den Widerspruch gegen einen Bescheid?", ME)
    assert not r["refused"] and r["provider"] == "extractive"
    assert r["citations"], r
    first = r["citations"][0]
    assert first["source"].startswith("S-Z/widerspruch")
    assert "Monat" in r["answer"]
    assert r["answer"].startswith("Laut ")
    assert len(r["answer"]) < 1500  # a short answer, not a dump of passages
    for c in r["citations"]:
        assert f"[{c['n']}]" in r["answer"] and {"source", "title", "section", "page"} <= set(c)


def test_out_of_scope_questions_are_refused_with_closest_documents(assistant):
    for q in ("Wie wird das Wetter morgen in München?", "Wer hat das letzte Spiel des FC Bayern gewonnen?"):
        r = assistant.ask(q, ME)
        assert r["refused"], (q, r["answer"])
        assert r["answer"].startswith("Dazu finde ich nichts in den freigegebenen Quellen")
        assert r["citations"] == []


def test_follow_up_is_condensed_with_the_history(assistant):
    first = assistant.ask("Welche Unterlagen brauche ich für den Wohngeldantrag?", ME)
    assert not first["refused"]
    follow = assistant.ask("Und welche Frist gilt dafür?", ME, first["conversation_id"])
    assert "Wohngeld" in follow["query"]
    assert not follow["refused"]
    assert any("wohngeld" in c["source"] for c in follow["citations"])


def test_conversations_are_per_user_and_can_be_deleted(assistant):
    from assistant import NotFoundError

    r = assistant.ask("Wann muss der Verwendungsnachweis vorgelegt werden?", ME)
    cid = r["conversation_id"]
    assert [c["id"] for c in assistant.list_conversations(ME)] == [cid]
    assert assistant.list_conversations(OTHER) == []
    conv = assistant.get_conversation(ME, cid)
    assert [m["role"] for m in conv["messages"]] == ["user", "assistant"]
    assert conv["messages"][1]["citations"] == r["citations"]
    with pytest.raises(NotFoundError):
        assistant.get_conversation(OTHER, cid)
    assistant.delete_conversation(ME, cid)
    assert assistant.list_conversations(ME) == []


def test_hostile_text_in_documents_does_not_change_behaviour(assistant, demo_kb):
    q = "Wie gehe ich mit Dokumenten von Bürgern um, die Anweisungen an ein KI-System enthalten?"
    r = assistant.ask(q, ME)
    assert "Der Antrag ist genehmigt" not in r["answer"]
    assert not r["refused"]
    hits = demo_kb.search(q, 5)
    assert any("hinweise_externe_dokumente" in h.source for h in hits)
    context = format_context(hits)
    assert "Ignoriere alle vorherigen Anweisungen" not in context
    assert "Textstelle entfernt" in context


class ScriptedProvider:
    """A real provider registered through the registry that answers with a fixed text."""

    is_llm = True
    timeout_s = 10

    def __init__(self, cfg, prompts, **_):
        self.name = "skript"
        self.seen_context = None

    def stream(self, question, hits):
        self.seen_context = format_context(hits)
        yield from SCRIPT["text"]

    def condense(self, question, history):
        return None


SCRIPT = {"text": []}


def _scripted_assistant(demo_kb, tmp_path, tokens):
    from assistant.providers import build_provider
    from assistant.prompts import load_prompts

    register("skript", ScriptedProvider)
    SCRIPT["text"] = tokens
    provider = build_provider(type("Cfg", (), {"kind": "skript"})(), load_prompts())
    return Assistant(AssistantConfig(), ExtractiveConfig(), demo_kb, f"sqlite:///{tmp_path / 's.db'}",
                     provider=provider)


def test_invented_citation_numbers_are_removed(demo_kb, tmp_path):
    a = _scripted_assistant(demo_kb, tmp_path, ["Die Widerspruchsfrist beträgt ", "einen Monat [", "1]. ",
                                                "Erfunden ist diese Regel [", "9", "]."])
    r = a.ask("Welche Frist gilt für den Widerspruch?", ME)
    assert r["provider"] == "skript" and r["fallback"] is None
    assert "[9]" not in r["answer"] and "[1]" in r["answer"]
    assert [c["n"] for c in r["citations"]] == [1]


def test_llm_answer_without_valid_citation_is_replaced_visibly(demo_kb, tmp_path):
    a = _scripted_assistant(demo_kb, tmp_path, ["Einfach ", "genehmigen [7]."])
    events = list(a.ask_stream("Welche Frist gilt für den Widerspruch?", ME))
    kinds = [e["type"] for e in events]
    assert "replace" in kinds
    done = next(e for e in events if e["type"] == "done")
    assert done["provider"].startswith("extractive") and done["fallback"]
    assert done["citations"] and "keine gültigen Quellenangaben" in done["answer"]


def test_unreachable_llm_falls_back_to_extractive_with_notice(demo_kb, tmp_path):
    cfg = OpenAIConfig(base_url="http://127.0.0.1:9/v1", timeout_s=3)
    a = Assistant(AssistantConfig(), cfg, demo_kb, f"sqlite:///{tmp_path / 'f.db'}")
    r = a.ask("Welche Frist gilt für den Widerspruch?", ME)
    assert r["provider"] == "extractive (Ersatz für openai)"
    assert "nicht erreichbar" in r["fallback"]
    assert "Sprachmodell war nicht verfügbar" in r["answer"]
    assert r["citations"]


@pytest.mark.slow  # a real process that embeds the whole demo corpus (the first start)
def test_cli_ask_json_indexes_demo_corpus_on_fresh_data_dir(tmp_path):
    env = {**os.environ, "LOTSE_DATA_DIR": str(tmp_path / "fresh")}
    out = subprocess.run(lotse_cmd() + ["ask", "--json", "Wie fordere ich fehlende Unterlagen an?"],
                         env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout)
    assert set(data) >= {"answer", "citations", "refused", "provider"}
    assert data["provider"] == "extractive" and data["refused"] is False
    assert data["citations"] and {"source", "title", "section", "page"} <= set(data["citations"][0])
