"""Fault injection and request statistics of the double (pure ASGI middleware).

Faults apply to ``/api`` requests whose ``"METHOD /path"`` contains ``match``
(all when ``match`` is empty). Switch them at run time with ``POST /__faults``.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Scope = dict[str, Any]


class FaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0)
    error_rate_500: float = Field(default=0.0, ge=0, le=1)
    error_401: bool = False
    drop_connection_rate: float = Field(default=0.0, ge=0, le=1)
    fail_next_500: int = Field(default=0, ge=0)  # the next N matching requests answer 500
    drop_next: int = Field(default=0, ge=0)  # the next N matching requests are processed, answer lost
    match: str = ""  # e.g. "POST /api/outgoings" or "GET /api/files"


class FaultState:
    def __init__(self, settings: FaultSettings | None = None, seed: int = 0):
        self._lock = threading.Lock()
        self.settings = settings or FaultSettings()
        self._rng = random.Random(seed)
        self.requests: Counter[str] = Counter()

    def update(self, changes: dict[str, Any], reset: bool = False) -> FaultSettings:
        with self._lock:
            base = {} if reset else self.settings.model_dump()
            base.update(changes)
            self.settings = FaultSettings.model_validate(base)
            return self.settings

    def decide(self, key: str) -> tuple[int, str | None]:
        """(latency_ms, fault) for one request; fault in {None, "401", "500", "drop"}."""
        with self._lock:
            s = self.settings
            if s.match and s.match not in key:
                return 0, None
            fault: str | None = None
            if s.error_401:
                fault = "401"
            elif s.fail_next_500 > 0:
                self.settings = s.model_copy(update={"fail_next_500": s.fail_next_500 - 1})
                fault = "500"
            elif s.drop_next > 0:
                self.settings = s.model_copy(update={"drop_next": s.drop_next - 1})
                fault = "drop"
            elif s.error_rate_500 and self._rng.random() < s.error_rate_500:
                fault = "500"
            elif s.drop_connection_rate and self._rng.random() < s.drop_connection_rate:
                fault = "drop"
            return s.latency_ms, fault

    def count(self, key: str) -> None:
        with self._lock:
            self.requests[key] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": dict(self.requests), "total": sum(self.requests.values())}

    def reset_stats(self) -> None:
        with self._lock:
            self.requests.clear()


class DroppedConnection(Exception):
    """Raised after a partial answer so that uvicorn closes the connection."""


def request_key(scope: Scope) -> str:
    parts = scope.get("path", "").split("/")
    return f"{scope.get('method', '')} {'/'.join(parts[:3])}"


class FaultMiddleware:
    def __init__(self, app: Any, state: FaultState):
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return
        key = request_key(scope)
        self.state.count(key)
        latency_ms, fault = self.state.decide(key)
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        if fault == "401":
            await _send(send, 401, b"Falscher oder fehlender technischer Nutzer.", "text/plain;charset=UTF-8")
        elif fault == "500":
            body = {"fehlerQuelle": "INTERN", "status": 2, "text": "Stabilität gefährdet: simulierter interner Fehler"}
            await _send(send, 500, json.dumps(body, ensure_ascii=False).encode(), "application/json")
        elif fault == "drop":
            await self._drop(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _drop(self, scope: Scope, receive: Any, send: Any) -> None:
        """Process the request fully (side effects happen), then lose the answer."""
        messages: list[dict[str, Any]] = []

        async def capture(message: dict[str, Any]) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        if start is None:
            raise DroppedConnection("no response to drop")
        await send({"type": "http.response.start", "status": start["status"],
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b'{"objid', "more_body": True})
        raise DroppedConnection("simulated connection drop")


async def _send(send: Any, status: int, body: bytes, content_type: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
