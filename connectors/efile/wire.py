"""Parsing EAI JSON answers into the protocol's dataclasses.

Object references in lists are ``{"objname", "objaddress"}`` in the running EAI
(v1.2.5 api-doc); the hand-written spec documents ``{"name", "id"}``. Both are read.
"""

from __future__ import annotations

import base64
import mimetypes
from datetime import datetime
from typing import Any

from .procedures import procedure_type_of
from .protocol import Case, CaseRef, ContentFile, DocumentRef, Procedure, ProcedureRef

_KIND_BY_CLASS = {
    "Eingangsdokument": "Eingang",
    "Eingang": "Eingang",
    "Erledigung": "Erledigung",
    "Internes Dokument": "Intern",
    "Intern": "Intern",
}

_EXTRA_MIME = {"json": "application/json", "md": "text/markdown", "txt": "text/plain"}


def parse_datetime(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def split_terms(value: Any) -> tuple[str, ...]:
    if not value or not isinstance(value, str):
        return ()
    return tuple(t.strip() for t in value.split(";") if t.strip())


def refs(items: Any) -> list[tuple[str, str]]:
    """(coo, name) pairs of an ``giobjecttype`` list."""
    out: list[tuple[str, str]] = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        coo = item.get("objaddress") or item.get("id")
        if coo:
            out.append((str(coo), str(item.get("objname") or item.get("name") or "")))
    return out


def case_from(coo: str, body: dict[str, Any]) -> Case:
    aktenzeichen = str(body.get("objname") or "")
    apentry = str(body.get("apentry") or "")
    return Case(
        coo=coo,
        aktenzeichen=aktenzeichen,
        title=str(body.get("shortname") or ""),
        subject=str(body.get("filesubj") or ""),
        keywords=split_terms(body.get("objterms")),
        apentry=apentry,
        procedure_type=procedure_type_of(apentry, aktenzeichen),
        org_unit=body.get("fileouobj") or None,
        runtime_from=parse_datetime(body.get("fileruntimefrom")),
        runtime_till=parse_datetime(body.get("fileruntimetill")),
        procedures=tuple(ProcedureRef(c, n) for c, n in refs(body.get("giobjecttype"))),
    )


def case_refs_from(body: dict[str, Any]) -> list[CaseRef]:
    return [CaseRef(c, n) for c, n in refs(body.get("giobjecttype"))]


def procedure_from(coo: str, body: dict[str, Any]) -> Procedure:
    return Procedure(
        coo=coo,
        case_coo=str(body.get("referrednumber") or ""),
        name=str(body.get("objname") or ""),
        title=str(body.get("shortname") or ""),
        subject=str(body.get("filesubj") or ""),
        keywords=split_terms(body.get("objterms")),
        state=body.get("objdocstate"),
        processing_state=body.get("bostate"),
        remark=body.get("procremark"),
        filetype=body.get("filetype"),
        documents=tuple(DocumentRef(c, n) for c, n in refs(body.get("giobjecttype"))),
    )


def documents_from_metadata(body: dict[str, Any]) -> list[DocumentRef]:
    out = []
    for item in body.get("businessobjecttype") or []:
        coo = item.get("objaddress")
        if not coo:
            continue
        out.append(
            DocumentRef(
                coo=str(coo),
                name=str(item.get("objname") or ""),
                kind=_KIND_BY_CLASS.get(str(item.get("objclass") or "")),
                created_at=parse_datetime(item.get("objcreatedat")),
            )
        )
    return out


def mime_type_for(extension: str) -> str:
    ext = extension.lower().lstrip(".")
    if ext in _EXTRA_MIME:
        return _EXTRA_MIME[ext]
    guessed, _ = mimetypes.guess_type(f"x.{ext}")
    return guessed or "application/octet-stream"


def content_file_from(coo: str, body: dict[str, Any]) -> ContentFile:
    att = body.get("giattachmenttype") or {}
    name = str(att.get("fileName") or "")
    ext = str(att.get("fileExtention") or att.get("fileExtension") or "")
    raw = att.get("fileContent") or ""
    content = base64.b64decode(raw) if raw else b""
    subj = att.get("filesubj") or {}
    subject = tuple(subj.get("string") or []) if isinstance(subj, dict) else ()
    return ContentFile(
        coo=coo,
        document_coo=str(body.get("referrednumber") or ""),
        file_name=f"{name}.{ext}" if ext else name,
        extension=ext,
        mime_type=mime_type_for(ext),
        content=content,
        subject=subject,
    )
