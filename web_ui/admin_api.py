"""Administration endpoints under ``/api/admin`` (role Administration; feedback also for Schulung).

Business errors (unknown object 404, invalid account or upload 422) get their statuses from the app's
error handlers (:mod:`web_ui.errors`).

Feedback and audit events are those of people of the viewer's departments (:mod:`assistant.visibility`)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile
from pydantic import BaseModel, Field

from assistant import Assistant, Principal
from assistant.visibility import visible_user_ids

from .auth import Auth
from .services import Services, get_assistant, get_auth, get_letters, get_services, require


class NewUser(BaseModel):
    id: str = Field(..., min_length=2, max_length=200, description="Benutzername")
    display_name: str = Field(..., min_length=1, max_length=200)
    roles: list[str] = Field(..., min_length=1)
    departments: list[str] | None = Field(None, description="null = alle Fachbereiche")
    password: str = Field(..., min_length=1, max_length=1000)


class UserUpdate(BaseModel):
    display_name: str | None = Field(None, max_length=200)
    roles: list[str] | None = None
    departments: list[str] | None = Field(None, description="[\"*\"] = alle Fachbereiche")
    active: bool | None = None
    password: str | None = Field(None, max_length=1000)
    kontakt: dict[str, str] | None = Field(None, description="Kontakt auf Briefen: zimmer, telefon (Durchwahl), "
                                           "email; \"\" löscht einen Wert")


router = APIRouter(prefix="/api/admin", tags=["Verwaltung"])
admin = require("administration")


def _library(services: Services):
    if services.library is None:
        raise HTTPException(status_code=501, detail="Die Dokumentverwaltung ist nicht eingerichtet.")
    return services.library


@router.get("/index", summary="Indexstatus mit Fehlern und Hinweisen je Datei")
def index(_: Principal = Depends(admin), a: Assistant = Depends(get_assistant)):
    return a.index_stats()


@router.get("/documents", summary="Indizierte Dokumente")
def documents(_: Principal = Depends(admin), services: Services = Depends(get_services)):
    return _library(services).documents()


@router.post("/documents", status_code=201, summary="Richtliniendokument hochladen und indizieren")
async def upload(file: UploadFile = File(...), department: str = Form(...), doc_type: str | None = Form(None),
                 principal: Principal = Depends(admin), services: Services = Depends(get_services)):
    lib = _library(services)
    data = await file.read(lib.max_bytes + 1)
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(lib.upload, principal, file.filename or "", data, department.strip(),
                                   (doc_type or "").strip() or None)


@router.delete("/documents/{source:path}", summary="Hochgeladenes Dokument entfernen")
def remove(source: str, principal: Principal = Depends(admin), services: Services = Depends(get_services)):
    return _library(services).remove(principal, source)


@router.post("/reindex", status_code=202, summary="Neu indizieren (im Hintergrund)")
def reindex(principal: Principal = Depends(admin), services: Services = Depends(get_services)):
    return _library(services).start_reindex(principal)


@router.get("/reindex/{job_id}", summary="Fortschritt der Neuindizierung")
def reindex_status(job_id: str, _: Principal = Depends(admin), services: Services = Depends(get_services)):
    return _library(services).job(job_id)


@router.get("/templates", summary="Status der Briefvorlagen")
def templates(_: Principal = Depends(admin), letters=Depends(get_letters)):
    if letters is None:
        return {"templates": [], "problems": [], "available": False}
    return dict(letters.template_listing(), available=True)


@router.get("/users", summary="Benutzer und Rollen")
def users(principal: Principal = Depends(admin), auth: Auth = Depends(get_auth)):
    open_sessions = auth.accounts.active_sessions()
    with auth.accounts.Session() as s:
        visible = visible_user_ids(s, principal)
    return [dict(u, sessions=open_sessions.get(u["id"], 0)) for u in auth.accounts.list()
            if visible is None or u["id"] in visible or u["id"] == principal.user_id]


@router.post("/users", status_code=201, summary="Lokales Konto anlegen")
def add_user(req: NewUser, principal: Principal = Depends(admin), auth: Auth = Depends(get_auth)):
    return auth.accounts.add(req.id, req.display_name, req.roles,
                             "*" if req.departments is None else req.departments, req.password,
                             actor=principal.user_id)


@router.put("/users/{user_id}", summary="Konto ändern (Rollen, Fachbereiche, gesperrt, Passwort)")
def update_user(user_id: str, req: UserUpdate, principal: Principal = Depends(admin),
                auth: Auth = Depends(get_auth)):
    if user_id == principal.user_id and (req.active is False or (
            req.roles is not None and "administration" not in req.roles)):
        raise HTTPException(status_code=422, detail="Sie können sich nicht selbst sperren oder die "
                            "Rolle Administration entziehen.")
    kw = {"display_name": req.display_name, "roles": req.roles, "active": req.active, "password": req.password,
          "contact": req.kontakt}
    if req.departments is not None:
        kw["departments"] = req.departments
    return auth.accounts.update(user_id, actor=principal.user_id, **kw)


@router.get("/feedback", summary="Bewertungen der Antworten")
def feedback(rating: str | None = Query(None, pattern="^(up|down)$"), limit: int = Query(200, ge=1, le=2000),
             principal: Principal = Depends(require("administration", "schulung")),
             a: Assistant = Depends(get_assistant)):
    return a.feedback.list(limit, rating, viewer=principal)


@router.get("/audit", summary="Protokoll durchsuchen (ohne Frage- und Brieftexte)")
def audit(user: str | None = Query(None, max_length=200), action: str | None = Query(None, max_length=60),
          from_: date | None = Query(None, alias="from"), to: date | None = Query(None),
          limit: int = Query(500, ge=1, le=5000), principal: Principal = Depends(admin),
          a: Assistant = Depends(get_assistant)):
    return a.audit_events(principal, user=user, action=action, limit=limit,
                          start=datetime.combine(from_, time.min, timezone.utc) if from_ else None,
                          end=datetime.combine(to + timedelta(days=1), time.min, timezone.utc) if to else None)
