"""The ``/api`` routes of the double (a subset of EAI v1.2.5, same paths and shapes)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from . import views
from .casefile import TZ, content_object
from .store import DOCUMENT_KINDS, Obj, Store

log = logging.getLogger(__name__)

CLOSED_STATES = ("Abgeschlossen", "Archiviert")
MAX_SEARCH_HITS = 500


class DmsError(Exception):
    """Answered as 400 (or ``http_status``) with the EAI error body."""

    def __init__(self, text: str, source: str = "DMS", status: int = -1, http_status: int = 400):
        super().__init__(text)
        self.text, self.source, self.status, self.http_status = text, source, status, http_status

    def response(self) -> JSONResponse:
        return JSONResponse({"fehlerQuelle": self.source, "status": self.status, "text": self.text},
                            status_code=self.http_status)


def _userlogin(request: Request) -> str:
    user = request.headers.get("userlogin", "").strip()
    if not user:
        raise DmsError("Benutzer-Login (Header userlogin) fehlt; der DMS-Aufruf ist nicht möglich.")
    return user


def _need(store: Store, coo: str, kinds: tuple[str, ...], label: str) -> Obj:
    obj = store.visible(coo)
    if obj is None:
        raise DmsError(f"Das Objekt {coo} existiert nicht oder wurde storniert.")
    if obj.kind not in kinds:
        raise DmsError(f"Das Objekt {coo} ist kein(e) {label}.")
    return obj


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise DmsError("Der Request-Body ist kein gültiges JSON.", source="INTERN", status=2) from exc
    if not isinstance(body, dict):
        raise DmsError("Der Request-Body muss ein JSON-Objekt sein.", source="INTERN", status=2)
    return body


async def _multipart(request: Request) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """The ``params`` part (JSON) and every other file part as (file name, bytes)."""
    if not request.headers.get("content-type", "").startswith("multipart/"):
        raise DmsError("Erwartet wird multipart/form-data mit einem Teil 'params'.", source="INTERN", status=2)
    form = await request.form()
    params: dict[str, Any] | None = None
    files: list[tuple[str, bytes]] = []
    for name, value in form.multi_items():
        if name == "params":
            raw = await value.read() if isinstance(value, UploadFile) else value.encode("utf-8")
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                raise DmsError("Der Teil 'params' ist kein gültiges JSON.", source="INTERN", status=2) from exc
            if not isinstance(parsed, dict):
                raise DmsError("Der Teil 'params' muss ein JSON-Objekt sein.", source="INTERN", status=2)
            params = parsed
        elif isinstance(value, UploadFile):
            files.append((value.filename or "unbenannt", await value.read()))
    await form.close()
    if params is None:
        raise DmsError("Der Teil 'params' fehlt im multipart-Request.", source="INTERN", status=2)
    return params, files


def _now() -> str:
    return datetime.now(TZ).isoformat(timespec="seconds")


def _date(value: Any, field: str) -> str:
    if not value:
        return _now()
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise DmsError(f"Ungültiges Datum in {field}: ISO-8601 mit Zeitzone erwartet.") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    return dt.isoformat(timespec="seconds")


def _str(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    return "" if value is None else str(value)


def build_router(store: Store) -> APIRouter:
    r = APIRouter(prefix="/api")

    def object_view(coo: str, kinds: tuple[str, ...], label: str,
                    view: Callable[[Obj, list[Obj]], dict[str, Any]], child_kinds: tuple[str, ...]) -> JSONResponse:
        """An object of one of ``kinds`` rendered with its visible children of ``child_kinds``."""
        obj = _need(store, coo, kinds, label)
        return JSONResponse(view(obj, store.children(coo, child_kinds)))

    def child_refs(coo: str, kinds: tuple[str, ...], label: str, child_kinds: tuple[str, ...]) -> JSONResponse:
        """The references to an object's visible children of ``child_kinds``."""
        _need(store, coo, kinds, label)
        return JSONResponse({"giobjecttype": [views.ref(o) for o in store.children(coo, child_kinds)]})

    @r.get("/files/{coo}")
    async def read_file(coo: str, request: Request) -> JSONResponse:
        _userlogin(request)
        return object_view(coo, ("file",), "Akte", views.file_view, ("procedure",))

    @r.post("/files/search")
    async def search_files(request: Request) -> JSONResponse:
        _userlogin(request)
        body = await _json_body(request)
        crit = {k: str(body.get(k) or "").strip() for k in ("apentry", "filereference", "objmlname", "filesubj")}
        if not any(crit.values()):
            raise DmsError("Es wurde kein Suchkriterium angegeben.")
        hits = store.search("file", parent=crit["apentry"] or None, objname=crit["filereference"] or None,
                            name_like=crit["objmlname"] or None, subj_like=crit["filesubj"] or None,
                            limit=MAX_SEARCH_HITS)
        return JSONResponse({"giobjecttype": [views.ref(o) for o in hits]})

    @r.get("/procedures/{coo}")
    async def read_procedure(coo: str, request: Request) -> JSONResponse:
        _userlogin(request)
        return object_view(coo, ("procedure",), "Vorgang", views.procedure_view, DOCUMENT_KINDS)

    @r.post("/procedures/search")
    async def search_procedures(request: Request) -> JSONResponse:
        _userlogin(request)
        body = await _json_body(request)
        crit = {k: str(body.get(k) or "").strip()
                for k in ("referrednumber", "filereference", "objmlname", "filesubj")}
        if not any(crit.values()):
            raise DmsError("Es wurde kein Suchkriterium angegeben.")
        hits = store.search("procedure", parent=crit["referrednumber"] or None,
                            name_like=crit["objmlname"] or None, subj_like=crit["filesubj"] or None,
                            limit=MAX_SEARCH_HITS if not crit["filereference"] else 100_000)
        if crit["filereference"]:
            hits = [o for o in hits if o.data.get("reference") == crit["filereference"]][:MAX_SEARCH_HITS]
        return JSONResponse({"giobjecttype": [views.ref(o) for o in hits]})

    @r.get("/procedureObjects/{coo}")
    async def procedure_objects(coo: str, request: Request) -> JSONResponse:
        _userlogin(request)
        return child_refs(coo, ("procedure",), "Vorgang", DOCUMENT_KINDS)

    @r.get("/readDocumentObjectsMetaData/{coo}")
    async def documents_metadata(coo: str, request: Request) -> JSONResponse:
        _userlogin(request)
        proc = _need(store, coo, ("procedure",), "Vorgang")
        docs = store.children(coo, DOCUMENT_KINDS)
        ou = proc.data.get("objowngroup")
        return JSONResponse({"businessobjecttype": [views.document_metadata_view(o, ou) for o in docs]})

    @r.get("/documentObjects/{coo}")
    async def document_objects(coo: str, request: Request) -> JSONResponse:
        _userlogin(request)
        return child_refs(coo, DOCUMENT_KINDS, "Dokument", ("content",))

    @r.get("/contentObjects/{coo}")
    async def read_content(coo: str, request: Request) -> JSONResponse:
        _userlogin(request)
        return JSONResponse(views.content_view(_need(store, coo, ("content",), "Schriftstück")))

    @r.get("/contentObjectMetaData/{coo}")
    async def content_metadata(coo: str, request: Request) -> JSONResponse:
        _userlogin(request)
        obj = _need(store, coo, ("content",), "Schriftstück")
        return JSONResponse({"referrednumber": obj.parent, "gimetadatatype": views.metadata_view(obj)})

    @r.get("/outgoings/{coo}")
    async def read_outgoing(coo: str, request: Request) -> JSONResponse:
        _userlogin(request)
        return object_view(coo, ("outgoing",), "Erledigung", views.outgoing_view, ("content",))

    @r.get("/apentries/{coo}")
    async def read_apentry(coo: str, request: Request) -> JSONResponse:
        _userlogin(request)
        return child_refs(coo, ("apentry",), "Aktenplaneintrag", ("apentry",))

    @r.post("/apentries/search")
    async def search_apentries(request: Request) -> JSONResponse:
        _userlogin(request)
        body = await _json_body(request)
        basenr = str(body.get("basenr") or "").strip()
        if not basenr:
            raise DmsError("Es wurde kein Suchkriterium angegeben.")
        hits = store.search("apentry", objname_prefix=basenr)
        return JSONResponse({"giobjecttype": [views.ref(o) for o in hits]})

    @r.post("/outgoings")
    async def create_outgoing(request: Request) -> JSONResponse:
        user = _userlogin(request)
        params, files = await _multipart(request)
        return JSONResponse(_create_document(store, "outgoing", params, files, user))

    @r.post("/incomings")
    async def create_incoming(request: Request) -> JSONResponse:
        user = _userlogin(request)
        params, files = await _multipart(request)
        return JSONResponse(_create_document(store, "incoming", params, files, user))

    @r.post("/contentObjects")
    async def create_content(request: Request) -> JSONResponse:
        user = _userlogin(request)
        params, files = await _multipart(request)
        doc_coo = _str(params, "referrednumber")
        doc = _need(store, doc_coo, DOCUMENT_KINDS, "Dokument")
        _writable(store, doc.parent)
        if len(files) != 1:
            raise DmsError("Es muss genau ein Schriftstück übergeben werden.")
        subj = params.get("filesubj") or []
        subj = [str(s) for s in subj] if isinstance(subj, list) else [str(subj)]
        name, content = files[0]
        obj = content_object(store.new_coo(), doc.coo, name, content, subj, _now())
        obj.data["objcreatedby"] = user
        store.insert(obj)
        return JSONResponse({"objid": obj.coo})

    return r


def _writable(store: Store, procedure_coo: str | None) -> Obj | None:
    if not procedure_coo:
        return None
    proc = _need(store, procedure_coo, ("procedure",), "Vorgang")
    if proc.state in CLOSED_STATES:
        raise DmsError(f"Der Vorgang {proc.coo} ist {proc.state.lower()}; es können keine Dokumente "
                       "hinzugefügt werden.")
    return proc


def _create_document(store: Store, kind: str, params: dict[str, Any], files: list[tuple[str, bytes]],
                     user: str) -> dict[str, Any]:
    proc = _writable(store, _str(params, "referrednumber") or None)
    if kind == "outgoing" and params.get("referredincoming"):
        _need(store, _str(params, "referredincoming"), ("incoming",), "Eingang")
    shortname = _str(params, "shortname") or ("Erledigung" if kind == "outgoing" else "Eingang")
    terms = [t.strip() for t in _str(params, "objterms").split(";") if t.strip()]
    data: dict[str, Any] = {
        "objterms": "; ".join(store.known_terms(terms)),  # unknown terms are dropped silently
        "accdef": params.get("accdef") or "Aktengebunden",
        "objcreatedby": user,
        "objcreatedat": _now(),
        "incattachments": params.get("incattachments"),
    }
    if kind == "outgoing":
        data.update(outgoingdate=_date(params.get("outgoingdate"), "outgoingdate"),
                    referredincoming=params.get("referredincoming"), doctemplate=params.get("doctemplate"),
                    subfiletype=params.get("subfiletype"))
    else:
        data.update(delivery=_date(params.get("delivery"), "delivery"), foreignnr=params.get("foreignnr"))
    doc_coo = store.new_coo()
    if proc is not None:
        n = store.count_children(proc.coo) + 1  # cancelled ones keep their number
        objname = f"{shortname} ({proc.data.get('reference', proc.objname)}-{n:04d})"
    else:
        objname = shortname  # no Vorgang: lands on the user's desk
    doc = Obj(doc_coo, kind, proc.coo if proc else None, "In Bearbeitung", objname, shortname,
              _str(params, "filesubj"), data=data)
    contents = []
    for name, content in files:
        c = content_object(store.new_coo(), doc_coo, name, content, [], data["objcreatedat"])
        c.data["objcreatedby"] = user
        contents.append(c)
    store.insert_many([doc, *contents])
    log.info("%s %s filed (%d file(s))", kind, doc_coo, len(contents))
    return {"objid": doc_coo, "objname": objname, "giobjecttype": [views.ref(c) for c in contents]}

