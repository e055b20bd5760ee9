"""Technical users of the double and the Basic-auth check (pure ASGI middleware).

Like the real EAI: GET needs READ, POST/PUT need WRITE (so the search POSTs need
WRITE too). Missing or wrong credentials answer 401 with a plain-text body;
a known user without the right answers 403.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

DEFAULT_USERS = "lotse-tech:lotse-secret:rw,lotse-lesen:lotse-lesen-secret:r"
BAD_CREDENTIALS = b"Falscher oder fehlender technischer Nutzer."


@dataclass(frozen=True)
class TechUser:
    name: str
    password: str
    read: bool
    write: bool


def parse_users(spec: str) -> dict[str, TechUser]:
    """``"name:password:rw,other:pw:r"`` -> users; rights ``r``, ``w`` or ``rw``."""
    users: dict[str, TechUser] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, sep, rest = item.partition(":")
        password, _, rights = rest.rpartition(":")
        if not sep or not name or not password or not set(rights) <= {"r", "w"} or not rights:
            raise ValueError(f"Ungültige Nutzerangabe (erwartet name:passwort:rw): {name or item!r}")
        users[name] = TechUser(name, password, "r" in rights, "w" in rights)
    return users


def users_from_env_or(spec: str | None) -> dict[str, TechUser]:
    return parse_users(spec or os.environ.get("EAKTE_DOUBLE_USERS") or DEFAULT_USERS)


class AuthMiddleware:
    def __init__(self, app: Any, users: dict[str, TechUser]):
        self.app = app
        self.users = users

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return
        user = self._user(scope)
        if user is None:
            await _answer(send, 401, BAD_CREDENTIALS, b"text/plain;charset=UTF-8")
            return
        method = scope.get("method", "GET")
        allowed = user.read if method in ("GET", "HEAD") else user.write
        if not allowed:
            body = json.dumps({"status": 403, "error": "Forbidden", "path": scope.get("path", "")}).encode()
            await _answer(send, 403, body, b"application/json")
            return
        await self.app(scope, receive, send)

    def _user(self, scope: dict[str, Any]) -> TechUser | None:
        header = next((v for k, v in scope.get("headers", []) if k == b"authorization"), b"")
        if not header.startswith(b"Basic "):
            return None
        try:
            name, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user = self.users.get(name)
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            return None
        return user


async def _answer(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
