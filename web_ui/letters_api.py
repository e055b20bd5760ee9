"""REST endpoints of the routine-letter workflow under ``/api/letters`` (OpenAPI tag "Schreiben").

``create_app`` includes the module-level ``router`` when the app has a letter service
(``app.state.services.letters``, read through :func:`web_ui.services.require_letters`); the acting
person comes from :func:`web_ui.services.get_principal`, with the roles of ``author``, ``reviewer`` and
``staff``. Errors come back as ``{"detail": "<German message>"}`` with 404 (unknown), 409 (stale
version / wrong state / filing already in progress), 403 (four eyes, missing role), 422 (invalid or
incomplete), 501 (not available), 502 (e-file refused), 503 (e-file unreachable): the statuses come
from the app's error handlers (:func:`web_ui.errors.install`), which an app including this router must
have.

:func:`install_filing_retry` (``create_app`` calls it) starts the service's background filing retry
when the app starts (``lotse serve``) and stops it on shutdown: letters waiting in ``to_be_filed`` are
filed automatically, with backoff, as soon as the e-file answers again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from assistant import Principal
from assistant.errors import connector_errors
from assistant.letters import LetterService

from .limits import DB_INT_MAX
from .services import require, require_letters

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class DraftRequest(BaseModel):
    aktenzeichen: str = Field(..., min_length=3, max_length=100, description="Aktenzeichen der Akte, "
                              "z. B. S-III-WG/2026/001234")
    template: str = Field(..., min_length=1, max_length=100, description="Name der Vorlage (siehe /templates)")
    fields: dict[str, Any] | None = Field(None, description="Optionale Feldwerte, die den Vorschlag überschreiben")


class SaveRequest(BaseModel):
    fields: dict[str, Any] = Field(..., description="Geänderte Felder (nicht genannte bleiben unverändert)")
    expected_version: int = Field(..., ge=1, le=DB_INT_MAX, description="Version, auf der die Bearbeitung beruht "
                                  "(optimistisches Sperren: veraltet -> 409)")


class AcceptRequest(BaseModel):
    expected_version: int = Field(..., ge=1, le=DB_INT_MAX)
    value: Any = Field(None, description="Geänderter Text; leer: Vorschlag unverändert übernehmen")


class TransitionRequest(BaseModel):
    expected_version: int | None = Field(None, ge=1, le=DB_INT_MAX, description="Version, die geprüft wurde (empfohlen)")
    comment: str | None = Field(None, max_length=4000, description="Kommentar (bei Rückgabe Pflicht)")


class CommentRequest(BaseModel):
    text: str = Field(..., min_length=1, max_length=4000)


class PlainLanguageRequest(BaseModel):
    field: str = Field(..., min_length=1, max_length=100)


class TemplateListing(BaseModel):
    templates: list[dict[str, Any]] = Field(description="Nutzbare Vorlagen mit Feldern")
    problems: list[dict[str, Any]] = Field(description="Fehlerhafte Vorlagen und Hinweise (deutsche Meldungen)")


router = APIRouter(prefix="/api/letters", tags=["Schreiben"])
#: drafting needs Sachbearbeitung, reviewing Prüfung, reading and filing either (403 otherwise)
author, reviewer, staff = require("sachbearbeitung"), require("pruefung"), require("sachbearbeitung", "pruefung")


def install_filing_retry(app) -> None:
    """Start the letter service's background filing retry when ``app`` starts (``lotse serve``) and stop it
    on shutdown: letters waiting in ``to_be_filed`` are filed automatically, with backoff, as soon as the
    e-file answers again."""

    def start_retry() -> None:
        app.state.services.letters.start_filing_retry()

    def stop_retry() -> None:
        app.state.services.letters.stop_filing_retry()

    app.router.add_event_handler("startup", start_retry)
    app.router.add_event_handler("shutdown", stop_retry)


def call(fn, *args, **kw):
    with connector_errors():  # e-file errors leave as business errors; their statuses: web_ui.errors
        return fn(*args, **kw)


@router.get("/templates", response_model=TemplateListing, summary="Vorlagen auflisten (mit Problemen)")
def templates(service: LetterService = Depends(require_letters), _: Principal = Depends(staff)):
    return service.template_listing()


@router.get("", summary="Schreiben auflisten",
            description="Filter: Zustand (draft, submitted, returned, approved, to_be_filed, filed), "
            "Aktenzeichen, nur eigene.")
def list_letters(state: str | None = Query(None), aktenzeichen: str | None = Query(None),
                 mine: bool = Query(False), service: LetterService = Depends(require_letters),
                 principal: Principal = Depends(staff)):
    return service.list_letters(principal, state=state, aktenzeichen=aktenzeichen, mine=mine)


@router.get("/review-queue", summary="Prüfkorb: eingereichte Schreiben",
            description="Älteste zuerst; `may_approve` ist bei eigenen Vier-Augen-Schreiben false.")
def review_queue(service: LetterService = Depends(require_letters), principal: Principal = Depends(reviewer)):
    return service.review_queue(principal)


@router.post("", status_code=201, summary="Entwurf aus einer Akte erstellen",
             description="Liest die Akte live aus der E-Akte, füllt Empfänger, Aktenzeichen, Fristen und "
             "Textvorschläge (proposal: true) vor.")
def create(req: DraftRequest, service: LetterService = Depends(require_letters),
           principal: Principal = Depends(author)):
    return call(service.create_draft, principal, req.aktenzeichen, req.template, req.fields)


@router.get("/next", summary="Nächstes Schreiben nach den Amtsregeln",
            description="Welche Vorlage die Amtsregeln (regeln/amtsregeln.yaml) für den Stand der Akte in der "
            "E-Akte vorsehen, mit Grund; je passender Vorlage Hinweise, wenn sie jetzt nicht vorgesehen ist.")
def next_letter(aktenzeichen: str = Query(..., min_length=3, max_length=100),
                service: LetterService = Depends(require_letters), principal: Principal = Depends(staff)):
    return call(service.next_letter, principal, aktenzeichen)


@router.get("/{letter_id}", summary="Schreiben mit aktuellen Feldwerten, Vorschlägen und Kommentaren")
def get(letter_id: str, service: LetterService = Depends(require_letters),
        principal: Principal = Depends(staff)):
    return call(service.get, principal, letter_id)


@router.put("/{letter_id}", summary="Felder speichern (neue Version)",
            responses={409: {"description": "Veraltete Version (auch bei gleichzeitigem Speichern): Ihre "
                             "Änderungen wurden als eigene, nicht übernommene Bearbeitung im Verlauf "
                             "gespeichert."}})
def save(letter_id: str, req: SaveRequest, service: LetterService = Depends(require_letters),
         principal: Principal = Depends(author)):
    return call(service.save, principal, letter_id, req.fields, req.expected_version)


@router.post("/{letter_id}/proposals/{field}/accept", summary="Textvorschlag übernehmen (ggf. geändert)")
def accept(letter_id: str, field: str, req: AcceptRequest, service: LetterService = Depends(require_letters),
           principal: Principal = Depends(author)):
    return call(service.accept_proposal, principal, letter_id, field, req.expected_version, req.value)


@router.post("/{letter_id}/submit", summary="Zur Prüfung einreichen")
def submit(letter_id: str, req: TransitionRequest | None = None, service: LetterService = Depends(require_letters),
           principal: Principal = Depends(author)):
    return call(service.submit, principal, letter_id, req.expected_version if req else None)


@router.post("/{letter_id}/approve", summary="Freigeben (Vier-Augen-Prinzip laut Vorlage)",
             responses={403: {"description": "Wer eine Fassung eines Vier-Augen-Schreibens verfasst hat "
                              "(Verfasser/in oder Bearbeiter/in), darf es nicht freigeben"}})
def approve(letter_id: str, req: TransitionRequest | None = None, service: LetterService = Depends(require_letters),
            principal: Principal = Depends(reviewer)):
    return call(service.approve, principal, letter_id, req.expected_version if req else None,
                req.comment if req else None)


@router.post("/{letter_id}/return", summary="Mit Kommentar zurückgeben")
def return_(letter_id: str, req: TransitionRequest, service: LetterService = Depends(require_letters),
            principal: Principal = Depends(reviewer)):
    return call(service.return_with_comment, principal, letter_id, req.comment or "", req.expected_version)


@router.post("/{letter_id}/comments", summary="Kommentar hinzufügen")
def comment(letter_id: str, req: CommentRequest, service: LetterService = Depends(require_letters),
            principal: Principal = Depends(staff)):
    return call(service.add_comment, principal, letter_id, req.text)


@router.post("/{letter_id}/file", summary="In der E-Akte ablegen (genau einmal)",
             description="Das Schreiben wird genau einmal abgelegt, auch bei gleichzeitigen Anfragen "
             "(Doppelklick): die weiteren Anfragen warten auf die erste und erhalten dieselbe Quittung, "
             "oder nach längerer Wartezeit 409 „wird bereits abgelegt“. Ist die E-Akte nicht erreichbar, "
             "wartet das Schreiben im Zustand to_be_filed und wird automatisch erneut abgelegt "
             "(Hintergrundjob mit wachsendem Abstand, höchstens etwa 50 s; nächster Versuch in "
             "filing.next_attempt_at).",
             responses={409: {"description": "Ablage läuft bereits (nur einmal abgelegt)"},
                        502: {"description": "Die E-Akte hat die Ablage abgelehnt"}})
def file(letter_id: str, service: LetterService = Depends(require_letters),
         principal: Principal = Depends(staff)):
    return call(service.file, principal, letter_id)


@router.post("/retry-filing", summary="Wartende Ablagen jetzt erneut versuchen",
             description="Sonst geschieht das automatisch im Hintergrund.")
def retry(service: LetterService = Depends(require_letters), principal: Principal = Depends(staff)):
    return call(service.retry_pending, principal)


@router.get("/{letter_id}/versions", summary="Versionsverlauf (jede Bearbeitung, auch nicht übernommene)")
def versions(letter_id: str, service: LetterService = Depends(require_letters),
             principal: Principal = Depends(staff)):
    return call(service.versions, principal, letter_id)


@router.get("/{letter_id}/preview", summary="Das Schreiben, wie es gedruckt wird (HTML aus dem Word-Dokument)",
            description="seq: eine frühere Bearbeitung (Versionsverlauf); ohne: die aktuelle Version.")
def preview(letter_id: str, seq: int | None = Query(None, ge=1, le=DB_INT_MAX), service: LetterService = Depends(require_letters),
            principal: Principal = Depends(staff)):
    return call(service.preview, principal, letter_id, seq)


@router.get("/{letter_id}/compare", summary="Änderungen im Brieftext zwischen zwei Bearbeitungen",
            description="a, b: Nummern der Bearbeitungen (seq im Versionsverlauf).")
def compare(letter_id: str, a: int = Query(..., ge=1, le=DB_INT_MAX), b: int = Query(..., ge=1, le=DB_INT_MAX),
            service: LetterService = Depends(require_letters), principal: Principal = Depends(staff)):
    return call(service.compare_versions, principal, letter_id, a, b)


@router.post("/{letter_id}/plain-language", summary="Vorschlag in einfacher Sprache (nur mit Sprachmodell)")
def plain(letter_id: str, req: PlainLanguageRequest, service: LetterService = Depends(require_letters),
          principal: Principal = Depends(author)):
    return call(service.plain_language, principal, letter_id, req.field)


@router.get("/{letter_id}/docx", summary="Als Word-Dokument herunterladen",
            response_class=Response, responses={200: {"content": {DOCX_MIME: {}}}})
def docx(letter_id: str, service: LetterService = Depends(require_letters),
         principal: Principal = Depends(staff)):
    view = call(service.get, principal, letter_id)
    data = call(service.render_docx, letter_id, principal)
    return _download(data, service.file_name(view), DOCX_MIME)


@router.get("/{letter_id}/pdf", summary="Als PDF herunterladen (nur mit LibreOffice)",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}},
                                                501: {"description": "PDF nicht verfügbar"}})
def pdf(letter_id: str, service: LetterService = Depends(require_letters),
        principal: Principal = Depends(staff)):
    view = call(service.get, principal, letter_id)
    data = call(service.render_pdf, letter_id, principal)
    return _download(data, service.file_name(view, "pdf"), "application/pdf")
def _download(data: bytes, name: str, mime: str) -> Response:
    return Response(content=data, media_type=mime,
                    headers={"Content-Disposition": f"attachment; filename=\"{name}\"; "
                             f"filename*=UTF-8''{quote(name)}"})
