"""The FastAPI app: REST, Server-Sent Events and WebSocket over the assistant; serves the UI."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool

from assistant import Assistant, AssistantError, NotFoundError, Principal
from assistant.accounts import AccountStore
from assistant.events import ErrorEvent, StreamEvent

from . import messages as msg
from .auth import Auth, install as install_auth
from .errors import install as install_errors
from .limits import DB_INT_MAX
from .templates import render

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=2000, description="Die Frage in Alltagsdeutsch")
    conversation_id: str | None = Field(None, description="Gespräch fortsetzen (ID aus einer früheren Antwort)")


class Citation(BaseModel):
    n: int
    source: str
    title: str
    section: str
    page: int | None
    chunk_id: str
    url: str


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


def create_app(settings, assistant: Assistant | None = None, assistant_factory=None, letters=None,
               accounts: AccountStore | None = None, training=None, report=None, library=None) -> FastAPI:
    """Build the app around an assistant, or a factory that builds it on first use (``lotse serve``).

    ``letters``, ``training``, ``report`` and ``library`` (policy document administration) are optional
    services; their routers are included when given."""
    # API docs only behind login (or off, LOTSE_AUTH__API_DOCS): the routes are added below
    app = FastAPI(title="Lotse API", version="0.1.0", docs_url=None, redoc_url=None, openapi_url=None,
                  description="Antworten mit Quellen aus den freigegebenen Dokumenten des Sozialreferats. "
                  "Alle Endpunkte außer /health verlangen eine Anmeldung (Sitzungscookie); ändernde "
                  "Anfragen zusätzlich den Kopf X-CSRF-Token (siehe /api/me).")
    state = {"assistant": assistant}
    lock = threading.Lock()
    accounts = accounts or AccountStore(settings.db_url())
    auth = Auth(settings.auth, accounts)
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

    def get_assistant() -> Assistant:
        with lock:
            if state["assistant"] is None:
                state["assistant"] = assistant_factory()
            return state["assistant"]

    get_principal = auth.current_principal

    @app.get("/health", tags=["Betrieb"], summary="Lebenszeichen und Indexstatus (ohne Anmeldung)")
    def health():
        a = get_assistant()
        s = a.kb.stats()
        return {"status": "ok", "documents": s["documents"], "chunks": s["chunks"], "provider": a.provider.name}

    @app.post("/api/ask", response_model=AnswerResponse, tags=["Antworten"],
              summary="Frage beantworten (komplette Antwort als JSON)")
    def ask(req: AskRequest, principal: Principal = Depends(get_principal)):
        result = get_assistant().ask(req.question, principal, req.conversation_id)
        return result

    @app.post("/api/ask/stream", tags=["Antworten"], summary="Frage beantworten als Server-Sent Events",
              response_description="text/event-stream: conversation, meta, token*, replace?, citations, done, saved")
    def ask_stream(req: AskRequest, principal: Principal = Depends(get_principal)):
        a = get_assistant()
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

    @app.post("/api/questions/check", tags=["Antworten"], summary="Frage vor dem Senden auf personenbezogene "
              "Daten prüfen", description="Nichts wird gespeichert; Antwort: gefundene Arten, maskierte Frage, Hinweis.")
    def check_question(req: CheckRequest, _: Principal = Depends(get_principal)):
        from assistant.privacy import check_question

        return check_question(req.question)

    @app.get("/api/conversations", tags=["Gespräche"], summary="Eigene Gespräche auflisten")
    def conversations(principal: Principal = Depends(get_principal)):
        return get_assistant().list_conversations(principal)

    @app.get("/api/conversations/{conversation_id}", tags=["Gespräche"], summary="Ein Gespräch mit allen Nachrichten")
    def conversation(conversation_id: str, principal: Principal = Depends(get_principal)):
        return get_assistant().get_conversation(principal, conversation_id)

    @app.delete("/api/conversations/{conversation_id}", status_code=204, tags=["Gespräche"],
                summary="Gespräch löschen")
    def delete_conversation(conversation_id: str, principal: Principal = Depends(get_principal)):
        get_assistant().delete_conversation(principal, conversation_id)

    @app.get("/api/sources/{chunk_id}", tags=["Quellen"], summary="Zitierte Textstelle öffnen")
    def source(chunk_id: str, principal: Principal = Depends(get_principal)):
        return get_assistant().source(principal, chunk_id)

    @app.get("/api/search", tags=["Quellen"], summary="Quellen suchen (ohne Antwort)")
    def search(q: str = Query(..., min_length=1, max_length=2000), k: int = Query(5, ge=1, le=50),
               principal: Principal = Depends(get_principal)):
        deps = list(principal.departments) if principal.departments is not None else None
        hits = get_assistant().kb.search(q, k, departments=deps)
        return [{k2: v for k2, v in h.as_dict().items() if k2 not in ("lexical", "dense")} for h in hits]

    @app.get("/api/index/status", tags=["Betrieb"], summary="Indexstatus: Dokumente, Abschnitte, Fehler")
    def index_status(_: Principal = Depends(get_principal)):
        return get_assistant().kb.stats()

    @app.post("/api/feedback", status_code=201, tags=["Antworten"], summary="Antwort bewerten (Daumen hoch/runter)")
    def feedback(req: FeedbackRequest, principal: Principal = Depends(get_principal)):
        from assistant.feedback import FeedbackStore

        return FeedbackStore(get_assistant().Session).add(principal, req.message_id, req.rating, req.comment)

    @app.get("/api/cases/{aktenzeichen:path}", tags=["Akten"], summary="Akte aus der E-Akte (ohne Personendaten)",
             description="Verfahren, Status, vorhandene Unterlagen und passende Vorlagen einer Akte.")
    def case(aktenzeichen: str, principal: Principal = Depends(get_principal)):
        from assistant.casework import read_case

        a = get_assistant()
        if a.efile is None:
            raise HTTPException(status_code=503, detail=msg.EFILE_OFF)
        try:
            facts = read_case(a.efile, aktenzeichen, a.kb.cfg.default_department)
        except NotFoundError:
            facts = None
        if facts is None or not principal.may_see(facts.department):  # unknown or foreign: the same answer
            raise HTTPException(status_code=404, detail=msg.CASE_NOT_VISIBLE)
        body = {"aktenzeichen": facts.aktenzeichen, "procedure_type": facts.procedure_type, "state": facts.state,
                "department": facts.department, "documents": list(facts.present), "templates": []}
        if letters is not None:
            body["templates"] = letters.templates_for(facts.procedure_type)
        return body

    @app.websocket("/ws/chat")
    async def chat(ws: WebSocket):
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
                    for ev in get_assistant().ask_stream(question, asker, conversation_id, cancel):
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

    if letters is not None:
        from .letters_api import letters_router

        app.include_router(letters_router(lambda: letters, get_principal, auth.require))
    if training is not None:
        from .training_api import training_router

        app.include_router(training_router(lambda: training, get_principal))
    if report is not None:
        from .report_api import report_router

        app.include_router(report_router(lambda: report, get_principal))
    from .admin_api import admin_router

    app.include_router(admin_router(auth, get_assistant, lambda: library, lambda: letters))
    from .template_import_api import template_import_router

    app.include_router(template_import_router(auth, lambda: letters))

    if settings.auth.api_docs == "login":
        from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

        @app.get("/openapi.json", include_in_schema=False)
        def openapi_schema(_: Principal = Depends(get_principal)):
            return JSONResponse(app.openapi())

        @app.get("/docs", include_in_schema=False)
        def swagger(_: Principal = Depends(get_principal)):
            return get_swagger_ui_html(openapi_url="/openapi.json", title="Lotse API")

        @app.get("/redoc", include_in_schema=False)
        def redoc(_: Principal = Depends(get_principal)):
            return get_redoc_html(openapi_url="/openapi.json", title="Lotse API")

    def page_route(path: str, file: str, roles: frozenset[str]):
        # no session: the login page; a missing role: the HTML page FORBIDDEN_PAGE (web_ui.errors)
        visitor = auth.require(*sorted(roles), page=lambda _: FORBIDDEN_PAGE) if roles else get_principal

        def page(_: Principal = Depends(visitor)):
            target = STATIC / file
            if not target.exists():
                target = STATIC / "index.html"
            return FileResponse(target, headers={"Cache-Control": "no-cache"})

        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)

    for path, (file, roles) in PAGES.items():
        page_route(path, file, roles)
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
