"""The services the web app serves, built once (``lotse.factory.build_services``) and kept on
``app.state.services``; the FastAPI dependencies through which the routers read them.

Routers are module-level ``APIRouter``s; their handlers take e.g. ``Depends(get_letters)`` or
``Depends(get_principal)``. A test app sets ``app.state.services = Services(...)`` with the services it
needs and may replace a dependency with ``app.dependency_overrides``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Depends, HTTPException, Request
from starlette.requests import HTTPConnection

from assistant import Principal

from .auth import Auth, require_roles

if TYPE_CHECKING:
    from assistant import Assistant
    from assistant.accounts import AccountStore
    from assistant.letters import LetterService
    from assistant.library import PolicyLibrary
    from assistant.report import ReportService
    from assistant.training import TrainingService


@dataclass
class Services:
    """Everything a request may need; absent services (None) switch their routes off (letters, training,
    report) or answer 501 (policy library, template import). ``assistant_factory`` builds the assistant on
    first use when ``assistant`` is not given."""

    settings: Any = None
    accounts: AccountStore | None = None
    assistant: Assistant | None = None
    assistant_factory: Callable[[], Assistant] | None = None
    letters: LetterService | None = None
    training: TrainingService | None = None
    report: ReportService | None = None
    library: PolicyLibrary | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def get_assistant(self) -> Assistant:
        with self._lock:
            if self.assistant is None:
                self.assistant = self.assistant_factory()
            return self.assistant


# -- dependencies (HTTPConnection: the same for HTTP requests and WebSockets) --------------------------
def get_services(conn: HTTPConnection) -> Services:
    return conn.app.state.services


def get_auth(conn: HTTPConnection) -> Auth:
    return conn.app.state.auth


def get_assistant(services: Services = Depends(get_services)) -> Assistant:
    return services.get_assistant()


def get_letters(services: Services = Depends(get_services)) -> LetterService | None:
    """The letter service or None (routes that need it answer 501 then, see ``require_letters``)."""
    return services.letters


def require_letters(services: Services = Depends(get_services)) -> LetterService:
    if services.letters is None:
        raise HTTPException(status_code=501, detail="Die Schreiben-Funktion ist nicht eingerichtet.")
    return services.letters


def get_training(services: Services = Depends(get_services)) -> TrainingService:
    return services.training


def get_report(services: Services = Depends(get_services)) -> ReportService:
    return services.report


def get_principal(request: Request, auth: Auth = Depends(get_auth)) -> Principal:
    """The logged-in person (401 without a valid session)."""
    return auth.current_principal(request)


def require(*roles: str, message: str | None = None, page: Callable[[str], str] | None = None,
            page_headers: dict[str, str] | None = None):
    """Dependency: the logged-in person, if they have one of ``roles`` (403 otherwise; see
    :func:`web_ui.auth.require_roles`)."""
    return require_roles(get_principal, *roles, message=message, page=page, page_headers=page_headers)
