"""The events of an answer stream, one model each: what the pipeline yields, :meth:`Assistant.ask_stream`
passes on, the CLI (``lotse ask``) prints, and the web layer sends as Server-Sent Events (``/api/ask/stream``)
and WebSocket frames (``/ws/chat``).

Order: ``conversation``, ``meta``, ``token``*, ``replace``?, ``citations``, ``done``, ``saved``; ``error``
(web layer only) ends a stream that failed. On the wire an event is the JSON object of
:meth:`StreamEvent.to_dict`: ``type`` and the fields that were given -- a field left out stays out (the
refusal's ``done`` has ``suggestions``, a curated answer's ``meta`` has ``notice`` and no ``question_type``),
a field given as None is ``null`` (``fallback``). The browser (``web_ui/static/chat.js``) reads exactly
these names.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: the fields that were given (nested models alike)."""
        return self.model_dump(exclude_unset=True)

    # read access like the plain dicts the stream carried before (tests, benchmarks, scripts)
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)


class Citation(_Model):
    """A cited passage; ``n`` is the number in the answer text (``[n]``)."""

    n: int
    source: str
    title: str
    section: str
    page: int | None
    chunk_id: str
    department: str | None = None
    url: str


class Suggestion(_Model):
    """A document close to a refused question (``done.suggestions``)."""

    source: str
    title: str
    section: str
    page: int | None
    chunk_id: str
    url: str


class StreamEvent(_Model):
    """Base class of the events; ``type`` names the event (SSE ``event:`` line, WebSocket ``type``)."""

    type: str

    def to_dict(self) -> dict[str, Any]:
        """The event as sent: ``type`` first, then the fields that were given."""
        return {"type": self.type, **self.model_dump(exclude_unset=True, exclude={"type"})}

    def to_json(self) -> str:
        """The event as one line of JSON (non-ASCII kept), as the SSE ``data:`` line carries it."""
        return json.dumps(self.to_dict(), ensure_ascii=False)


class ConversationEvent(StreamEvent):
    """First event: the conversation the answer belongs to (new or continued)."""

    type: Literal["conversation"] = "conversation"
    conversation_id: str


class MetaEvent(StreamEvent):
    """Before the text: how the question was understood and who answers."""

    type: Literal["meta"] = "meta"
    query: str  # the standalone question that was searched
    support: int | float  # answerability score (1.0 for a curated answer); a number stays as given
    question_type: str | None = None
    provider: str
    departments: list[str] | None = None  # departments whose documents were searched; null: all
    notice: str | None = None  # curated answer: German note shown above it
    model_answer_id: int | None = None


class TokenEvent(StreamEvent):
    """A piece of the answer text (append)."""

    type: Literal["token"] = "token"
    text: str


class ReplaceEvent(StreamEvent):
    """The text so far is replaced (fallback to the extractive answer, visibly, with the reason)."""

    type: Literal["replace"] = "replace"
    text: str
    reason: str


class CitationsEvent(StreamEvent):
    """The passages the answer cites."""

    type: Literal["citations"] = "citations"
    citations: list[Citation]


class DoneEvent(StreamEvent):
    """The complete answer (what ``POST /api/ask`` returns, without ``type``)."""

    type: Literal["done"] = "done"
    answer: str
    citations: list[Citation]
    refused: bool
    provider: str
    fallback: str | None = None
    timings: dict[str, int | float]
    query: str | None = None
    cancelled: bool = False
    suggestions: list[Suggestion] | None = None  # refusal: the closest documents
    notice: str | None = None  # curated answer
    model_answer_id: int | None = None  # curated answer


class SavedEvent(StreamEvent):
    """Last event: the answer is stored (``message_id`` for feedback)."""

    type: Literal["saved"] = "saved"
    message_id: int
    conversation_id: str


class ErrorEvent(StreamEvent):
    """The stream failed or a WebSocket message was refused (German ``message``); ``code``
    ``unauthenticated`` when the session ended."""

    type: Literal["error"] = "error"
    message: str
    code: str | None = None


AnyEvent = Annotated[ConversationEvent | MetaEvent | TokenEvent | ReplaceEvent | CitationsEvent | DoneEvent
                     | SavedEvent | ErrorEvent, Field(discriminator="type")]
_ADAPTER: TypeAdapter = TypeAdapter(AnyEvent)


def parse_event(data: dict[str, Any] | StreamEvent) -> StreamEvent:
    """The model of an event given as a plain dict (e.g. the trainer mode's curated answer, or JSON read
    back from the wire); a model is returned as it is."""
    if isinstance(data, StreamEvent):
        return data
    return _ADAPTER.validate_python(data)
