"""The FastAPI app: REST, Server-Sent Events and WebSocket over the assistant; serves the UI."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool

from assistant import Assistant, AssistantError, Principal
from assistant.accounts import AccountStore
from assistant.events import Citation, ErrorEvent, StreamEvent

from . import messages as msg
from .auth import Auth, install as install_auth
from .errors import install as install_errors
from .limits import DB_INT_MAX
from .services import Services, get_assistant, get_auth, get_letters, get_principal, get_services, require
from .templates import render

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=2000, description="Die Frage in Alltagsdeutsch")
    conversation_id: str | None = Field(None, description="Gespräch fortsetzen (ID aus einer früheren Antwort)")


class AnswerResponse(BaseModel):
    answer: str
    citations: list[Citation]
    refused: bool
    provider: str
    fallback: str | None = None
    conversation_id: str
    message_id: int | None = None
    notice: str | None = None
    timings: dict
    suggestions: list[dict] | None = None


class CheckRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=2000, description="Die Frage vor dem Senden")


class FeedbackRequest(BaseModel):
    message_id: int = Field(..., ge=1, le=DB_INT_MAX, description="ID der Antwort (aus dem Ereignis 'saved')")
    rating: str = Field(..., pattern="^(up|down)$", description="up = hilfreich, down = nicht hilfreich")
    comment: str | None = Field(None, max_length=2000, description="Optionaler Kommentar")


#: page path -> (file in static/, roles of which one is needed; empty: any logged-in user)
PAGES: dict[str, tuple[str, frozenset[str]]] = {
    "/": ("chat.html", frozenset()),
    "/schreiben": ("letters.html", frozenset({"sachbearbeitung", "pruefung"})),
    "/schulung": ("training.html", frozenset()),
    "/verwaltung": ("admin.html", frozenset({"administration"})),
    "/bericht": ("report.html", frozenset({"administration", "schulung"})),
}

#: how ``lotse serve`` runs uvicorn: X-Forwarded-For is read by the app, from LOTSE_AUTH__TRUSTED_PROXIES
#: only (uvicorn would otherwise believe it from any client on 127.0.0.1)
UVICORN_OPTIONS = {"proxy_headers": False, "server_header": False}

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self' http: https:")


router = APIRouter()


@router.get("/health", tags=["Betrieb"], summary="Lebenszeichen und Indexstatus (ohne Anmeldung)")
def health(a: Assistant = Depends(get_assistant)):
    s = a.index_stats()
    return {"status": "ok", "documents": s["documents"], "chunks": s["chunks"], "provider": a.provider.name}


@router.post("/api/ask", response_model=AnswerResponse, tags=["Antworten"],
             response_model_exclude={"citations": {"__all__": {"department"}}},  # the stream's citations carry it
             summary="Frage beantworten (komplette Antwort als JSON)")
def ask(req: AskRequest, principal: Principal = Depends(get_principal), a: Assistant = Depends(get_assistant)):
    result = a.ask(req.question, principal, req.conversation_id)
    return result


@router.post("/api/ask/stream", tags=["Antworten"], summary="Frage beantworten als Server-Sent Events",
             response_description="text/event-stream: conversation, meta, token*, replace?, citations, done, saved")
def ask_stream(req: AskRequest, principal: Principal = Depends(get_principal), a: Assistant = Depends(get_assistant)):
    cancel = threading.Event()

    def events():
        try:
            for ev in a.ask_stream(req.question, principal, req.conversation_id, cancel):
                yield _sse(ev)
        except AssistantError as exc:
            yield _sse(ErrorEvent(message=exc.message))
        finally:
            cancel.set()  # client gone: stop the provider

    return StreamingResponse(iterate_in_threadpool(events()), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/api/questions/check", tags=["Antworten"], summary="Frage vor dem Senden auf personenbezogene "
             "Daten prüfen",
             description="Nichts wird gespeichert; Antwort: gefundene Arten, maskierte Frage, Hinweis.")
def check_question(req: CheckRequest, _: Principal = Depends(get_principal)):
    from assistant.privacy import check_question

    return check_question(req.question)


@router.get("/api/conversations", tags=["Gespräche"], summary="Eigene Gespräche auflisten")
def conversations(principal: Principal = Depends(get_principal), a: Assistant = Depends(get_assistant)):
    return a.list_conversations(principal)


@router.get("/api/conversations/{conversation_id}", tags=["Gespräche"], summary="Ein Gespräch mit allen Nachrichten")
def conversation(conversation_id: str, principal: Principal = Depends(get_principal),
                 a: Assistant = Depends(get_assistant)):
    return a.get_conversation(principal, conversation_id)


@router.delete("/api/conversations/{conversation_id}", status_code=204, tags=["Gespräche"],
               summary="Gespräch löschen")
def delete_conversation(conversation_id: str, principal: Principal = Depends(get_principal),
                        a: Assistant = Depends(get_assistant)):
    a.delete_conversation(principal, conversation_id)


@router.get("/api/sources/{chunk_id}", tags=["Quellen"], summary="Zitierte Textstelle öffnen")
def source(chunk_id: str, principal: Principal = Depends(get_principal), a: Assistant = Depends(get_assistant)):
    return a.source(principal, chunk_id)


@router.get("/api/search", tags=["Quellen"], summary="Quellen suchen (ohne Antwort)")
def search(q: str = Query(..., min_length=1, max_length=2000), k: int = Query(5, ge=1, le=50),
           principal: Principal = Depends(get_principal), a: Assistant = Depends(get_assistant)):
    hits = a.search(principal, q, k)
    return [{k2: v for k2, v in h.as_dict().items() if k2 not in ("lexical", "dense")} for h in hits]


@router.get("/api/index/status", tags=["Betrieb"], summary="Indexstatus: Dokumente, Abschnitte, Fehler")
def index_status(_: Principal = Depends(get_principal), a: Assistant = Depends(get_assistant)):
    return a.index_stats()


@router.post("/api/feedback", status_code=201, tags=["Antworten"], summary="Antwort bewerten (Daumen hoch/runter)")
def feedback(req: FeedbackRequest, principal: Principal = Depends(get_principal),
             a: Assistant = Depends(get_assistant)):
    return a.feedback.add(principal, req.message_id, req.rating, req.comment)


@router.get("/api/cases/{aktenzeichen:path}", tags=["Akten"], summary="Akte aus der E-Akte (ohne Personendaten)",
            description="Verfahren, Status, vorhandene Unterlagen und passende Vorlagen einer Akte.")
def case(aktenzeichen: str, principal: Principal = Depends(get_principal), a: Assistant = Depends(get_assistant),
         letters=Depends(get_letters)):
    if not a.efile_connected:
        raise HTTPException(status_code=503, detail=msg.EFILE_OFF)
    facts = a.case_facts(aktenzeichen)
    if facts is None or not principal.may_see(facts.department):  # unknown or foreign: the same answer
        raise HTTPException(status_code=404, detail=msg.CASE_NOT_VISIBLE)
    body = {"aktenzeichen": facts.aktenzeichen, "procedure_type": facts.procedure_type, "state": facts.state,
            "department": facts.department, "documents": list(facts.present), "templates": []}
    if letters is not None:
        body["templates"] = letters.templates_for(facts.procedure_type)
    return body


@router.websocket("/ws/chat")
async def chat(ws: WebSocket, auth: Auth = Depends(get_auth), services: Services = Depends(get_services)):
    """Send {"type":"ask","question":...,"conversation_id":...}; receive conversation, meta, token*,
    replace?, citations, done, saved. Send {"type":"cancel"} to stop the running answer."""
    principal = auth.websocket_principal(ws)
    await ws.accept()

    async def send(ev: StreamEvent) -> None:
        await ws.send_json(ev.to_dict())

    if principal is None:
        await send(ErrorEvent(message=msg.SESSION_EXPIRED, code="unauthenticated"))
        await ws.close(code=4401)
        return
    loop = asyncio.get_running_loop()
    running: dict = {"task": None, "cancel": None}

    async def session_ended() -> bool:
        """Re-check the session on every message: logout, a locked account, a new password and the
        idle/absolute timeouts end an open socket too (frame 'error' with code 'unauthenticated',
        then close code 4401)."""
        nonlocal principal
        current = await loop.run_in_executor(None, auth.principal_from_session, ws.session)
        if current is not None:
            principal = current  # roles and departments as they are now
            return False
        if running["cancel"] is not None:
            running["cancel"].set()
        if running["task"] is not None:
            running["task"].cancel()
        log.info("websocket closed: session ended")
        await send(ErrorEvent(message=msg.SESSION_EXPIRED, code="unauthenticated"))
        await ws.close(code=4401, reason="Sitzung beendet")
        return True

    async def answer(question: str, conversation_id: str | None, cancel: threading.Event, asker):
        queue: asyncio.Queue = asyncio.Queue()

        def produce():
            try:
                for ev in services.get_assistant().ask_stream(question, asker, conversation_id, cancel):
                    loop.call_soon_threadsafe(queue.put_nowait, ev)
            except AssistantError as exc:
                loop.call_soon_threadsafe(queue.put_nowait, ErrorEvent(message=exc.message))
            except Exception:  # noqa: BLE001 - never a stack trace to the user
                log.exception("answer failed")
                loop.call_soon_threadsafe(queue.put_nowait, ErrorEvent(message=msg.INTERNAL_ERROR))
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = loop.run_in_executor(None, produce)
        while True:
            ev = await queue.get()
            if ev is None:
                break
            await send(ev)
        await worker

    try:
        while True:
            try:
                data = await ws.receive_json()
            except (json.JSONDecodeError, ValueError, KeyError):
                await send(ErrorEvent(message=msg.MALFORMED.format(detail="kein JSON")))
                continue
            kind = data.get("type") if isinstance(data, dict) else None
            if await session_ended():
                return
            if kind == "cancel":
                if running["cancel"] is not None:
                    running["cancel"].set()
                continue
            if kind != "ask":
                await send(ErrorEvent(message=msg.UNKNOWN_MESSAGE))
                continue
            question = str(data.get("question") or "").strip()
            if not question:
                await send(ErrorEvent(message=msg.EMPTY_QUESTION))
                continue
            if len(question) > 2000:
                await send(ErrorEvent(message=msg.QUESTION_TOO_LONG))
                continue
            if running["task"] is not None and not running["task"].done():
                await send(ErrorEvent(message=msg.BUSY))
                continue
            cancel = threading.Event()
            running["cancel"] = cancel
            running["task"] = asyncio.create_task(answer(question, data.get("conversation_id"), cancel,
                                                         principal))
    except WebSocketDisconnect:
        if running["cancel"] is not None:
            running["cancel"].set()


#: the API docs behind login (LOTSE_AUTH__API_DOCS=login)
docs_router = APIRouter(include_in_schema=False)


@docs_router.get("/openapi.json")
def openapi_schema(request: Request, _: Principal = Depends(get_principal)):
    return JSONResponse(request.app.openapi())


@docs_router.get("/docs")
def swagger(_: Principal = Depends(get_principal)):
    from fastapi.openapi.docs import get_swagger_ui_html

    return get_swagger_ui_html(openapi_url="/openapi.json", title="Lotse API")


@docs_router.get("/redoc")
def redoc(_: Principal = Depends(get_principal)):
    from fastapi.openapi.docs import get_redoc_html

    return get_redoc_html(openapi_url="/openapi.json", title="Lotse API")


#: the HTML pages of PAGES
pages_router = APIRouter(include_in_schema=False)


def _page_route(path: str, file: str, roles: frozenset[str]) -> None:
    # no session: the login page; a missing role: the HTML page FORBIDDEN_PAGE (web_ui.errors)
    visitor = require(*sorted(roles), page=lambda _: FORBIDDEN_PAGE) if roles else get_principal

    def page(_: Principal = Depends(visitor)):
        target = STATIC / file
        if not target.exists():
            target = STATIC / "index.html"
        return FileResponse(target, headers={"Cache-Control": "no-cache"})

    pages_router.add_api_route(path, page, methods=["GET"], include_in_schema=False)


for _path, (_file, _roles) in PAGES.items():
    _page_route(_path, _file, _roles)


def create_app(services: Services) -> FastAPI:
    """Build the app around the services (``lotse.factory.build_services``), kept on ``app.state.services``.

    ``letters``, ``training`` and ``report`` routes are included when their services are given; without
    ``services.accounts`` an account store on ``settings.db_url()`` is opened."""
    settings = services.settings
    # API docs only behind login (or off, LOTSE_AUTH__API_DOCS): the routes are added below
    app = FastAPI(title="Lotse API", version="0.1.0", docs_url=None, redoc_url=None, openapi_url=None,
                  description="Antworten mit Quellen aus den freigegebenen Dokumenten des Sozialreferats. "
                  "Alle Endpunkte außer /health verlangen eine Anmeldung (Sitzungscookie); ändernde "
                  "Anfragen zusätzlich den Kopf X-CSRF-Token (siehe /api/me).")
    if services.accounts is None:
        services.accounts = AccountStore(settings.db_url())
    auth = Auth(settings.auth, services.accounts)
    app.state.services = services
    app.state.auth = auth

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    install_errors(app)
    install_auth(app, auth, settings.data_dir)
    app.include_router(router)
    if services.letters is not None:
        from . import letters_api

        app.include_router(letters_api.router)
        letters_api.install_filing_retry(app)
    if services.training is not None:
        from .training_api import router as training_router

        app.include_router(training_router)
    if services.report is not None:
        from .report_api import router as report_router

        app.include_router(report_router)
    from .admin_api import router as admin_router

    app.include_router(admin_router)
    from .template_import_api import router as template_import_router

    app.include_router(template_import_router)
    if settings.auth.api_docs == "login":
        app.include_router(docs_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _document_german_errors(app)
    return app


def _sse(ev: StreamEvent) -> str:
    """One Server-Sent Event: the event's type as ``event:``, its JSON (assistant.events) as ``data:``."""
    return f"event: {ev.type}\ndata: {ev.to_json()}\n\n"


def _document_german_errors(app: FastAPI) -> None:
    """The OpenAPI schema says what a 422 really carries: ``{"detail": "<German text>"}`` (web_ui.errors),
    not FastAPI's default list of pydantic errors."""
    build = app.openapi

    def openapi():
        if app.openapi_schema is None:
            spec = build()
            schemas = spec.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = {
                    "title": "HTTPValidationError", "type": "object", "required": ["detail"],
                    "properties": {"detail": {"type": "string", "title": "Detail",
                                              "description": "Was an der Anfrage ungültig ist, auf Deutsch"}}}
                schemas.pop("ValidationError", None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi


#: the page for a logged-in person without the page's role (templates/forbidden.html)
FORBIDDEN_PAGE = render("forbidden.html")
