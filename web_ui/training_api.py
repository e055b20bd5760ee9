"""REST endpoints of the trainer mode under ``/api/training`` (OpenAPI tag "Schulung").

``create_app`` includes the module-level ``router`` when the app has a training service
(``app.state.services.training``, read through :func:`web_ui.services.get_training`); the acting
person comes from :func:`web_ui.services.get_principal`. Learning paths, quizzes and own
results are open to every logged-in person; creating/deleting model answers, everyone's results and
the insights need the role ``schulung``. Errors: ``{"detail": "<German message>"}`` with 403 (role
missing), 404 (unknown id), 409 (quiz already graded), 422 (malformed input); the statuses of business
errors come from the app's error handlers (:func:`web_ui.errors.install`), which an app including this
router must have.

Response shapes beyond docs/web_api.md: ``GET /paths`` gives ``steps`` as the number of steps;
``POST /paths/{id}/quiz`` (201) also returns ``seed`` (same seed, same quiz) and per question a German
``hint``; grading results also carry ``given``; ``GET /results`` returns ``{"results": [...],
"learners": [...]}`` (one summary row per learner); ``GET /insights`` also echoes ``from``/``to``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from assistant import Principal
from assistant.training import MAX_QUESTIONS, TRAINER_ROLE, ForbiddenError, TrainingService

from .auth import require_roles
from .limits import DB_INT_MAX
from .services import get_principal, get_training


class QuizRequest(BaseModel):
    count: int = Field(6, ge=1, le=MAX_QUESTIONS, description="Anzahl der Fragen")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Gleicher Startwert, gleiches Quiz "
                             "(leer: zufällig)")


class AnswersRequest(BaseModel):
    answers: dict[str, str] = Field(..., description='Antworten je Frage-ID, z. B. {"q1": "zwei Wochen"}')


class ConsentRequest(BaseModel):
    share_name: bool = Field(..., description="Ergebnisse für Trainerinnen und Trainer mit Namen zeigen")


class ModelAnswerRequest(BaseModel):
    question: str | None = Field(None, max_length=2000, description="Frage (leer: die Frage zur Chat-Antwort)")
    answer: str | None = Field(None, max_length=20000, description="Antworttext, ggf. korrigiert "
                               "(leer: der Text der Chat-Antwort)")
    citations: list[Any] | None = Field(None, description="Quellen: Objekte mit chunk_id (und n) oder chunk_ids "
                                        "(leer: die Quellen der Chat-Antwort)")
    message_id: int | None = Field(None, ge=1, le=DB_INT_MAX, description="ID der Chat-Antwort, die übernommen wird")


router = APIRouter(prefix="/api/training", tags=["Schulung"])
# the service checks the role too; here it is checked before anything else of the request
trainer = require_roles(get_principal, TRAINER_ROLE, message=ForbiddenError.default_message)


def results_viewer(all: bool = Query(False, description="Ergebnisse aller Lernenden (Rolle Schulung)"),  # noqa: A002
                   principal: Principal = Depends(get_principal)) -> Principal:
    """Own results for everybody; everyone's (``all=true``) only with the role Schulung."""
    return trainer(principal) if all else principal


@router.get("/paths", summary="Lernpfade (nur freigegebene Fachbereiche)")
def paths(service: TrainingService = Depends(get_training), principal: Principal = Depends(get_principal)):
    return service.paths(principal)


@router.get("/paths/{path_id}", summary="Lernpfad mit Schritten, Erklärungen und Quellen")
def path(path_id: str, service: TrainingService = Depends(get_training),
         principal: Principal = Depends(get_principal)):
    return service.path(principal, path_id)


@router.post("/paths/{path_id}/quiz", status_code=201, summary="Quiz zu einem Lernpfad erzeugen",
             description="Lückentext- und Auswahlfragen aus den Dokumenten, jede mit Quelle; die richtigen "
             "Antworten bleiben bis zur Auswertung auf dem Server.")
def quiz(path_id: str, req: QuizRequest | None = None, service: TrainingService = Depends(get_training),
         principal: Principal = Depends(get_principal)):
    req = req or QuizRequest()
    return service.create_quiz(principal, path_id, count=req.count, seed=req.seed)


@router.post("/quizzes/{quiz_id}/answers", summary="Quiz auswerten (einmalig)")
def answers(quiz_id: str, req: AnswersRequest, service: TrainingService = Depends(get_training),
            principal: Principal = Depends(get_principal)):
    if any(len(v) > 500 for v in req.answers.values()):
        raise HTTPException(status_code=422, detail="Eine Antwort darf höchstens 500 Zeichen lang sein.")
    return service.grade(principal, quiz_id, req.answers)


@router.get("/results", summary="Ergebnisse: eigene, mit all=true (Rolle Schulung) die der eigenen "
            "Fachbereiche, mit Namen nur bei Einwilligung, sonst pseudonym und je Lernpfad")
def results(all: bool = Query(False, description="Ergebnisse aller Lernenden (Rolle Schulung)"),  # noqa: A002
            service: TrainingService = Depends(get_training), principal: Principal = Depends(results_viewer)):
    return service.results(principal, all)


@router.get("/consent", summary="Eigene Einwilligung: Ergebnisse mit Namen für die Schulung sichtbar?")
def consent(service: TrainingService = Depends(get_training), principal: Principal = Depends(get_principal)):
    return {"share_name": service.name_consent(principal)}


@router.put("/consent", summary="Einwilligung erteilen oder widerrufen",
            description="share_name=true: Trainerinnen und Trainer sehen Ihre Quiz-Ergebnisse mit Ihrem Namen; "
            "false (Standard): nur unter einem Pseudonym und je Lernpfad zusammengefasst.")
def set_consent(req: ConsentRequest, service: TrainingService = Depends(get_training),
                principal: Principal = Depends(get_principal)):
    return {"share_name": service.set_name_consent(principal, req.share_name)}


@router.get("/model-answers", summary="Geprüfte Musterantworten (nur freigegebene Fachbereiche)")
def model_answers(service: TrainingService = Depends(get_training),
                  principal: Principal = Depends(get_principal)):
    return service.list_model_answers(principal)


@router.post("/model-answers", status_code=201, summary="Musterantwort anlegen (Rolle Schulung)",
             description="Aus einer Chat-Antwort (message_id) oder einem korrigierten Text mit Quellen.")
def create_model_answer(req: ModelAnswerRequest, service: TrainingService = Depends(get_training),
                        principal: Principal = Depends(trainer)):
    return service.create_model_answer(principal, question=req.question, answer=req.answer,
                                       citations=req.citations, message_id=req.message_id)


@router.delete("/model-answers/{answer_id}", status_code=204, summary="Musterantwort löschen (Rolle Schulung)")
def delete_model_answer(answer_id: int = Path(..., ge=1, le=DB_INT_MAX),
                        service: TrainingService = Depends(get_training),
                        principal: Principal = Depends(trainer)):
    service.delete_model_answer(principal, answer_id)
    return Response(status_code=204)


@router.get("/insights", summary="Häufige und unbeantwortete Fragen (Rolle Schulung)",
            description="Zeitraum from/to (JJJJ-MM-TT, Standard: die letzten 30 Tage); personenbezogene "
            "Angaben in den Fragen sind maskiert.")
def insights(date_from: date | None = Query(None, alias="from"), date_to: date | None = Query(None, alias="to"),
             limit: int = Query(20, ge=1, le=200), service: TrainingService = Depends(get_training),
             principal: Principal = Depends(trainer)):
    return service.insights(principal, date_from, date_to, limit)
