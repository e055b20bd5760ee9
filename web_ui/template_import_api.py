"""Administration: import an office's own Word letter as a template (``/api/admin/templates/import``).

Two calls, no state on the server between them: ``.../analyze`` lists the placeholders with a
suggested mapping; the administrator maps them and sends the same file again with the mapping to
``.../import``, which converts, checks and stores the template and answers with the German import
report (taken, skipped and why, to decide). Errors: 422 with a German message, 403 without the role
Administration, 501 when letters are not set up (business errors: statuses from :mod:`web_ui.errors`).
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool

from assistant import Principal
from assistant.letters.template_import import MAX_BYTES, ImportOptions

from .services import Services, get_services, require


router = APIRouter(prefix="/api/admin/templates/import", tags=["Verwaltung"])
admin = require("administration")


def _letters(services: Services):
    if services.letters is None:
        raise HTTPException(status_code=501, detail="Die Schreiben-Funktion ist nicht eingerichtet.")
    return services.letters


async def read(file: UploadFile) -> bytes:
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise HTTPException(status_code=413, detail=f"Die Datei ist größer als {MAX_BYTES // 2**20} MB.")
    if not (file.filename or "").lower().endswith(".docx"):
        raise HTTPException(status_code=422, detail="Bitte eine Word-Datei (.docx) hochladen; ältere "
                            ".doc-Dateien in Word als .docx speichern.")
    return data


@router.post("/analyze", summary="Word-Vorlage prüfen: Platzhalter und Zuordnungsvorschläge")
async def analyze(file: UploadFile = File(...), _: Principal = Depends(admin),
                  services: Services = Depends(get_services)):
    data = await read(file)
    return await run_in_threadpool(_letters(services).analyze_template, data, file.filename or "vorlage.docx")


@router.post("", status_code=201, summary="Word-Vorlage umwandeln und speichern (mit Importbericht)")
async def import_(file: UploadFile = File(...), name: str = Form(..., max_length=61),
                  title: str = Form(..., max_length=200), description: str = Form("", max_length=2000),
                  case_types: str = Form("", description="Verfahrensarten, durch Komma getrennt; leer: alle"),
                  four_eyes: bool = Form(False), mapping: str = Form("{}", description="JSON: Platzhalter -> "
                                                                         "Zuordnung {kind, target, type, ...}"),
                  replace: bool = Form(False), principal: Principal = Depends(admin),
                  services: Services = Depends(get_services)):
    data = await read(file)
    try:
        spec = json.loads(mapping or "{}")
        if not isinstance(spec, dict):
            raise ValueError
    except ValueError as exc:
        raise HTTPException(status_code=422, detail="Die Zuordnung ist kein gültiges JSON-Objekt.") from exc
    options = ImportOptions(name=name.strip(), title=title.strip(), description=description.strip(),
                            case_types=[c.strip() for c in case_types.split(",") if c.strip()],
                            four_eyes=four_eyes)
    return await run_in_threadpool(_letters(services).import_template, principal, data, file.filename or "",
                                   options, spec, replace)
