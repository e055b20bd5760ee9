"""Errors of the web layer in one place: the table from business errors to HTTP statuses, the 403 of a
missing role, and the exception handlers that turn them into ``{"detail": "<German message>"}``.

The business layer (``assistant``) raises errors with German messages and no HTTP status; :data:`STATUS`
says which status each class gets. :func:`install` adds the handlers to an app (``create_app`` does;
an app that includes one of the routers on its own must call it too). A class that is not in the table
gets the status of its nearest listed base class; ``tests/unit/test_web_errors.py`` checks that every
business error class of the code base is listed itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from assistant.accounts import AccountError
from assistant.errors import (
    AssistantError,
    ConfigurationError,
    NotFoundError,
    ProviderError,
    SourceRefusedError,
    SourceUnavailableError,
)
from assistant.letters import errors as letters
from assistant.letters.reasons import ReasonCatalogError
from assistant.letters.rules import RulesError
from assistant.library import LibraryError
from assistant.report import ReportError
from assistant.training import ForbiddenError, TrainingConflict, TrainingError
from indexer.errors import IndexingError, LoaderError

from . import messages as msg

log = logging.getLogger(__name__)

#: business error class -> HTTP status of the ``{"detail": message}`` answer
STATUS: dict[type[Exception], int] = {
    # assistant.errors
    AssistantError: 503,           # unexpected trouble of the assistant (e.g. e-file not connected)
    ProviderError: 503,
    ConfigurationError: 503,
    NotFoundError: 404,
    SourceUnavailableError: 503,   # the e-file cannot be reached
    SourceRefusedError: 502,       # the e-file refused
    # accounts, policy library, report
    AccountError: 422,
    LibraryError: 422,
    ReportError: 422,
    # trainer mode
    TrainingError: 422,
    TrainingConflict: 409,
    ForbiddenError: 403,
    # letters
    letters.LetterError: 400,
    letters.LetterNotFound: 404,
    letters.TemplateUnavailable: 404,
    letters.TemplateImportError: 422,
    letters.LetterValidationError: 422,
    letters.LetterStateError: 409,
    letters.LetterConflict: 409,
    letters.FourEyesViolation: 403,
    letters.FilingError: 502,
    letters.FeatureUnavailable: 501,
    ReasonCatalogError: 500,
    RulesError: 500,
}


def status_for(exc: BaseException) -> int:
    """The HTTP status of a business error: its class's entry, else its nearest listed base class's."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


class RoleMissing(HTTPException):
    """403: the person lacks every one of the roles a route needs. ``page`` (HTML) is answered instead of
    JSON to a browser's GET of a page (not under ``/api/``)."""

    def __init__(self, message: str, page: Callable[[str], str] | None = None,
                 page_headers: dict[str, str] | None = None):
        super().__init__(status_code=403, detail=message)
        self.page, self.page_headers = page, page_headers


def install(app: FastAPI) -> None:
    """The exception handlers of the web layer: business errors by :data:`STATUS`; a browser's GET of a page
    (outside ``/api/``) without a session goes to the login page, one with a missing role gets the HTML page
    of :class:`RoleMissing`; invalid requests get one German line (422); anything else a German 500."""

    @app.exception_handler(AssistantError)
    async def _business_error(_: Request, exc: AssistantError):
        return JSONResponse({"detail": exc.message}, status_code=status_for(exc))

    @app.exception_handler(IndexingError)
    async def _index_error(_: Request, exc: IndexingError):
        if isinstance(exc, LoaderError):  # one file could not be read: its German reason, nothing lost
            return JSONResponse({"detail": str(exc)}, status_code=422)
        # the vector store or index database failed: the details (paths, hosts) go to the log only
        log.error("knowledge base unavailable: %s", exc)
        return JSONResponse({"detail": msg.INDEX_UNAVAILABLE}, status_code=503)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        page_get = not request.url.path.startswith("/api/") and request.method == "GET"
        if page_get and exc.status_code == 401:
            return login_redirect(request.url.path)
        if page_get and isinstance(exc, RoleMissing) and exc.page is not None:
            return HTMLResponse(exc.page(str(exc.detail)), status_code=exc.status_code, headers=exc.page_headers)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError):
        return JSONResponse({"detail": msg.MALFORMED.format(detail=describe_validation_errors(exc.errors()))},
                            status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception):
        log.exception("unhandled error: %s", type(exc).__name__)
        return JSONResponse({"detail": msg.INTERNAL_ERROR}, status_code=500)


#: pydantic error types in German; others keep pydantic's (English) text after the field name
_VALIDATION_TEXT = {
    "missing": "fehlt",
    "json_invalid": "kein gültiges JSON",
    "model_attributes_type": "muss ein JSON-Objekt sein",
    "dict_type": "muss ein JSON-Objekt sein",
    "model_type": "muss ein JSON-Objekt sein",
    "list_type": "muss eine Liste sein",
    "string_type": "muss Text sein",
    "int_type": "muss eine ganze Zahl sein",
    "int_parsing": "muss eine ganze Zahl sein",
    "int_from_float": "muss eine ganze Zahl sein",
    "float_type": "muss eine Zahl sein",
    "float_parsing": "muss eine Zahl sein",
    "bool_type": "muss true oder false sein",
    "bool_parsing": "muss true oder false sein",
    "string_too_short": "ist zu kurz (mindestens {min_length} Zeichen)",
    "string_too_long": "ist zu lang (höchstens {max_length} Zeichen)",
    "too_short": "hat zu wenige Einträge (mindestens {min_length})",
    "too_long": "hat zu viele Einträge (höchstens {max_length})",
    "greater_than_equal": "muss mindestens {ge} sein",
    "greater_than": "muss größer als {gt} sein",
    "less_than_equal": "darf höchstens {le} sein",
    "less_than": "muss kleiner als {lt} sein",
    "string_pattern_mismatch": "hat nicht die erwartete Form",
    "literal_error": "ist keiner der erlaubten Werte ({expected})",
    "enum": "ist keiner der erlaubten Werte ({expected})",
    "extra_forbidden": "ist nicht vorgesehen",
    "date_parsing": "muss ein Datum sein (JJJJ-MM-TT)",
    "date_from_datetime_parsing": "muss ein Datum sein (JJJJ-MM-TT)",
}
_WHERE = {"body": "Inhalt", "query": "Parameter", "path": "Pfad", "header": "Kopfzeile", "cookie": "Cookie"}


def describe_validation_errors(errors) -> str:
    """FastAPI/pydantic validation errors as one German line: 'question: fehlt; k: muss mindestens 1 sein'."""
    parts = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ())]
        field = ".".join(loc[1:]) if len(loc) > 1 and e.get("type") != "json_invalid" else ""
        text = _VALIDATION_TEXT.get(e.get("type", ""))
        if text:
            try:
                text = text.format(**(e.get("ctx") or {}))
            except (KeyError, IndexError, ValueError):
                text = e.get("msg", "")
        else:
            text = e.get("msg", "")
        if not field:
            field = _WHERE.get(loc[0], "") if loc else ""
        parts.append(f"{field}: {text}" if field else text)
    return "; ".join(dict.fromkeys(parts)) or "unbekannter Fehler"


def login_redirect(path: str) -> RedirectResponse:
    """The login page, coming back to ``path`` afterwards."""
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
