"""The FastAPI app over a real assistant: JSON, Server-Sent Events, WebSocket, errors, OpenAPI."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from assistant import Assistant, AssistantConfig, ExtractiveConfig
from tests.conftest import demo_kb_copy, web_login


@pytest.fixture(scope="module")
def client(tmp_path_factory, demo_index, embedder):
    from lotse.settings import load_settings
    from web_ui.app import create_app
    from web_ui.services import Services

    data = tmp_path_factory.mktemp("api")
    kb = demo_kb_copy(demo_index, data, embedder)
    assistant = Assistant(AssistantConfig(), ExtractiveConfig(), kb, f"sqlite:///{data / 'lotse.db'}")
    settings = load_settings(data_dir=data)
    from assistant.accounts import AccountStore

    AccountStore(settings.db_url()).add("sb", "Sachbearbeitung Test", ["sachbearbeitung"], "*", "geheim-genug-1")
    with TestClient(create_app(Services(settings=settings, assistant=assistant))) as c:
        web_login(c, "sb", "geheim-genug-1")
        yield c


def test_rest_json_answer_with_citations_and_conversation(client):
    r = client.post("/api/ask", json={"question": "Wie fordere ich fehlende Unterlagen an?"})
    assert r.status_code == 200
    body = r.json()
    assert not body["refused"] and body["citations"]
    assert body["citations"][0]["url"].startswith("/api/sources/")
    src = client.get(body["citations"][0]["url"])
    assert src.status_code == 200 and src.json()["text"]
    convs = client.get("/api/conversations").json()
    assert body["conversation_id"] in [c["id"] for c in convs]
    assert client.delete(f"/api/conversations/{body['conversation_id']}").status_code == 204
    assert client.get(f"/api/conversations/{body['conversation_id']}").status_code == 404


def test_sse_stream_has_tokens_then_citations_then_done(client):
    with client.stream("POST", "/api/ask/stream", json={"question": "Welche Frist gilt für den Widerspruch?"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line[len("event: "):] for line in r.iter_lines() if line.startswith("event: ")]
    assert events[0] == "conversation" and "token" in events
    assert events.index("citations") > max(i for i, e in enumerate(events) if e == "token")
    assert events.index("done") > events.index("citations")


def test_stream_frames_are_the_event_models_of_assistant_events(client):
    """SSE and WebSocket carry the same events: each frame is exactly an event model's JSON."""
    from assistant.events import DoneEvent, MetaEvent, parse_event

    question = "Welche Frist gilt für den Widerspruch?"
    with client.stream("POST", "/api/ask/stream", json={"question": question}) as r:
        lines = [line for line in r.iter_lines() if line]
    names = [line[len("event: "):] for line in lines if line.startswith("event: ")]
    frames = [json.loads(line[len("data: "):]) for line in lines if line.startswith("data: ")]
    assert [f["type"] for f in frames] == names and names[-1] == "saved"
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "ask", "question": question})
        ws_frames = []
        while not ws_frames or ws_frames[-1]["type"] != "saved":
            ws_frames.append(ws.receive_json())
    for frame in frames + ws_frames:
        assert parse_event(frame).to_dict() == frame
    assert [f["type"] for f in ws_frames] == names
    meta, done = parse_event(frames[1]), parse_event(frames[-2])
    assert isinstance(meta, MetaEvent) and isinstance(done, DoneEvent) and "departments" in frames[1]
    assert set(frames[-2]) == {"type", "answer", "citations", "refused", "provider", "fallback", "timings", "query",
                               "cancelled"}


def test_websocket_streams_tokens_citations_and_timings(client):
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "ask", "question": "Wann ist der Verwendungsnachweis fällig?"})
        seen = []
        while True:
            ev = ws.receive_json()
            seen.append(ev)
            if ev["type"] == "saved":
                break
        kinds = [e["type"] for e in seen]
        assert kinds[:2] == ["conversation", "meta"] and kinds.count("token") > 3
        done = next(e for e in seen if e["type"] == "done")
        assert done["timings"]["total_ms"] >= done["timings"]["first_token_ms"] > 0
        # follow-up on the same socket, same conversation
        ws.send_json({"type": "ask", "question": "Und wer prüft ihn?", "conversation_id": seen[0]["conversation_id"]})
        ev = ws.receive_json()
        assert ev == {"type": "conversation", "conversation_id": seen[0]["conversation_id"]}


def test_websocket_cancel_stops_the_answer(client):
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "ask", "question": "Wie läuft das Zuschussverfahren vom Antrag bis zum Verwendungsnachweis ab?"})
        ws.send_json({"type": "cancel"})
        kinds = []
        while True:
            ev = ws.receive_json()
            kinds.append(ev["type"])
            if ev["type"] == "done":
                assert ev["cancelled"] is True
                break


def test_malformed_requests_get_clear_german_errors(client):
    r = client.post("/api/ask", json={"frage": "falsches Feld"})
    assert r.status_code == 422 and "ungültig" in r.json()["detail"]
    r = client.post("/api/ask", content=b"{kein json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_text("kein json")
        assert "ungültig" in ws.receive_json()["message"]
        ws.send_json({"type": "ask", "question": "   "})
        assert ws.receive_json()["message"] == "Bitte geben Sie eine Frage ein."
        ws.send_json({"type": "raten"})
        assert "Unbekannte Nachricht" in ws.receive_json()["message"]
    assert client.get("/api/sources/gibtsnicht").status_code == 404


def test_openapi_describes_every_endpoint(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for p in ("/api/ask", "/api/ask/stream", "/api/conversations", "/api/conversations/{conversation_id}",
              "/api/sources/{chunk_id}", "/api/search", "/health"):
        assert p in paths, p
        for op in paths[p].values():
            assert op.get("summary"), p
    assert client.get("/health").json()["status"] == "ok"
