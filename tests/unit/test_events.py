"""The answer stream's events (assistant.events) serialise to the JSON the browser reads, and back; the
Provider protocol declares what the pipeline reads."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from assistant.events import (
    CitationsEvent,
    ConversationEvent,
    DoneEvent,
    ErrorEvent,
    MetaEvent,
    ReplaceEvent,
    SavedEvent,
    StreamEvent,
    TokenEvent,
    parse_event,
)

ROOT = Path(__file__).resolve().parents[2]

CITATION = {"n": 1, "source": "gesetze/sgb_x.md", "title": "SGB X", "section": "§ 84 Widerspruchsfrist",
            "page": None, "chunk_id": "c-1", "department": "allgemein", "url": "/api/sources/c-1"}
SUGGESTION = {"source": "a.md", "title": "A", "section": "B", "page": 3, "chunk_id": "c-2", "url": "/api/sources/c-2"}

#: the events exactly as the stream carried them as plain dicts (pipeline, refusal, curated answer, web layer)
WIRE = [
    {"type": "conversation", "conversation_id": "7f0c"},
    {"type": "meta", "query": "Frist Widerspruch", "support": 0.4121, "question_type": "frist", "provider": "extractive",
     "departments": ["S-III", "S-Z", "allgemein"]},
    {"type": "meta", "query": "Frist", "support": 0.1, "question_type": "other", "provider": "openai",
     "departments": None},
    {"type": "meta", "query": "Frist", "support": 1.0, "provider": "kuratiert",
     "notice": "Geprüfte Musterantwort aus der Schulung", "model_answer_id": 3},
    {"type": "token", "text": "Die Frist beträgt "},
    {"type": "replace", "text": "Ersatz [1]\n\nHinweis", "reason": "Antwort ohne gültige Quellenangabe verworfen"},
    {"type": "citations", "citations": [CITATION]},
    {"type": "citations", "citations": []},
    {"type": "done", "answer": "Ein Monat [1].", "citations": [CITATION], "refused": False, "provider": "extractive",
     "fallback": None, "timings": {"retrieval_ms": 12.5, "first_token_ms": 13.0, "total_ms": 20.1},
     "query": "Frist", "cancelled": False},
    {"type": "done", "answer": "Dazu finde ich nichts", "citations": [], "refused": True,
     "suggestions": [SUGGESTION], "provider": "extractive", "fallback": None,
     "timings": {"retrieval_ms": 1.0, "first_token_ms": 2.0, "total_ms": 2.0}, "cancelled": False},
    {"type": "done", "answer": "Kuratiert [1].", "citations": [CITATION], "refused": False, "provider": "kuratiert",
     "fallback": None, "notice": "Geprüfte Musterantwort aus der Schulung", "model_answer_id": 3, "query": "Frist",
     "cancelled": False, "timings": {"retrieval_ms": 0.0, "first_token_ms": 0.1, "total_ms": 0.2}},
    {"type": "saved", "message_id": 42, "conversation_id": "7f0c"},
    {"type": "error", "message": "Es läuft bereits eine Antwort. Bitte warten oder abbrechen."},
    {"type": "error", "message": "Ihre Sitzung ist abgelaufen.", "code": "unauthenticated"},
]


@pytest.mark.parametrize("wire", WIRE, ids=lambda w: w["type"])
def test_events_round_trip_the_json_the_browser_reads(wire):
    ev = parse_event(json.loads(json.dumps(wire)))
    assert type(ev).__name__.lower().startswith(wire["type"])
    assert ev.to_dict() == wire
    assert json.loads(ev.to_json()) == wire
    assert list(ev.to_dict())[0] == "type"
    assert parse_event(ev.to_dict()) == ev
    if "ä" in json.dumps(wire, ensure_ascii=False):
        assert "ä" in ev.to_json()  # non-ASCII kept as is, like json.dumps(..., ensure_ascii=False)


def test_events_built_in_code_serialise_like_the_old_dicts():
    """How the pipeline, the assistant and the web layer build them."""
    timings = {"retrieval_ms": 1.0, "first_token_ms": 2.0, "total_ms": 3.0}
    built = [
        (ConversationEvent(conversation_id="c"), {"type": "conversation", "conversation_id": "c"}),
        (MetaEvent(query="q", support=0.5, question_type="frist", provider="extractive", departments=None),
         {"type": "meta", "query": "q", "support": 0.5, "question_type": "frist", "provider": "extractive",
          "departments": None}),
        (TokenEvent(text="Hallo "), {"type": "token", "text": "Hallo "}),
        (ReplaceEvent(text="t", reason="r"), {"type": "replace", "text": "t", "reason": "r"}),
        (CitationsEvent(citations=[CITATION]), {"type": "citations", "citations": [CITATION]}),
        (DoneEvent(answer="a", citations=[], refused=False, provider="openai", fallback=None, timings=timings,
                   query="q", cancelled=True),
         {"type": "done", "answer": "a", "citations": [], "refused": False, "provider": "openai", "fallback": None,
          "timings": timings, "query": "q", "cancelled": True}),
        (SavedEvent(message_id=1, conversation_id="c"), {"type": "saved", "message_id": 1, "conversation_id": "c"}),
        (ErrorEvent(message="m"), {"type": "error", "message": "m"}),
        (ErrorEvent(message="m", code="unauthenticated"), {"type": "error", "message": "m", "code": "unauthenticated"}),
    ]
    for ev, wire in built:
        assert ev.to_dict() == wire
        assert ev["type"] == wire["type"] and ev.get("nothing") is None  # read like the old dicts
    done = built[5][0]
    assert done["fallback"] is None and done["timings"]["total_ms"] == 3.0


def test_every_field_the_browser_reads_is_in_an_event_model():
    js = (ROOT / "web_ui" / "static" / "chat.js").read_text(encoding="utf-8")
    handler = js[js.index("function handle(ev)"):]
    handler = handler[:handler.index("\n  }\n")]
    read = set(re.findall(r"\bev\.(\w+)", handler))
    assert {"type", "conversation_id", "text", "answer", "citations", "message_id"} <= read
    fields = set()
    for cls in StreamEvent.__subclasses__():
        fields |= set(cls.model_fields)
    assert read - fields == set()
    # and every event type the browser handles is one of the models
    cases = set(re.findall(r'case "(\w+)":', handler))
    types = {cls.model_fields["type"].default for cls in StreamEvent.__subclasses__()}
    assert cases <= types


def test_an_unknown_event_or_field_is_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        parse_event({"type": "teleport"})
    with pytest.raises(ValidationError):
        parse_event({"type": "token", "text": "x", "extra": 1})


# -- the Provider protocol ---------------------------------------------------------------------

def _protocol_attributes() -> set[str]:
    from assistant.providers.base import Provider

    names = set(Provider.__annotations__) | {n for n, v in vars(Provider).items()
                                              if callable(v) and not n.startswith("_")}
    return names


def test_the_provider_protocol_declares_what_the_pipeline_reads():
    declared = _protocol_attributes()
    assert {"name", "is_llm", "timeout_s", "stream", "condense", "rewrite_plain"} <= declared
    read = set()
    for rel in ("assistant/answering.py", "assistant/service.py", "lotse/factory.py"):
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "provider" and isinstance(node.value.value, ast.Name) \
                    and node.value.value.id == "self":
                read.add(node.attr)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "provider":
                read.add(node.attr)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "getattr" and len(node.args) >= 2 \
                    and "provider" in ast.unparse(node.args[0]) and isinstance(node.args[1], ast.Constant):
                read.add(node.args[1].value)
    assert read, "the scan finds the provider reads"
    assert read - declared == set()


def test_the_builtin_providers_have_every_declared_attribute():
    from assistant.providers.extractive import ExtractiveProvider
    from assistant.providers.llamacpp import LlamaCppProvider
    from assistant.providers.openai import LangChainProvider, OpenAIProvider

    for cls in (ExtractiveProvider, LangChainProvider, OpenAIProvider, LlamaCppProvider):
        missing = {a for a in _protocol_attributes() if not hasattr(cls, a)}
        assert missing == set(), cls.__name__
