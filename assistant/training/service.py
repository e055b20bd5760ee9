"""The trainer mode's front: :class:`TrainingService` over the assistant's database and knowledge base."""

from __future__ import annotations

import random
import secrets
from datetime import date
from pathlib import Path

from sqlalchemy import update

from ..db import AuditEvent, utcnow
from ..errors import NotFoundError
from ..identity import Principal
from ..training_models import TrainingQuiz, TrainingResult
from . import insights as _insights, quiz, results as _results
from .errors import TrainingConflict, TrainingError
from .model_answers import MATCH_THRESHOLD, ModelAnswerStore
from .paths import PathSteps, load_learning_paths


class TrainingService:
    """The trainer mode over the assistant's database (``Session``) and knowledge base (``kb``)::

        training = TrainingService(assistant.Session, assistant.kb)
    """

    def __init__(self, Session, kb, *, paths_file: Path | None = None, match_threshold: float = MATCH_THRESHOLD):
        self.Session, self.kb = Session, kb
        self.catalog = load_learning_paths(paths_file)
        self.model_answers = ModelAnswerStore(Session, kb, match_threshold)
        self.learning_paths = PathSteps(kb, self.catalog)

    # -- learning paths ---------------------------------------------------------------------
    def paths(self, principal: Principal) -> list[dict]:
        return self.learning_paths.overview(principal)

    def path(self, principal: Principal, path_id: str) -> dict:
        return self.learning_paths.detail(principal, path_id)

    # -- quizzes ----------------------------------------------------------------------------
    def create_quiz(self, principal: Principal, path_id: str, count: int = 6, seed: int | None = None) -> dict:
        lp = self.learning_paths
        spec = lp.spec(principal, path_id)
        if not 1 <= count <= quiz.MAX_QUESTIONS:
            raise TrainingError(f"Ein Quiz hat 1 bis {quiz.MAX_QUESTIONS} Fragen.")
        seed = secrets.randbelow(2**31) if seed is None else seed
        rng = random.Random(seed)
        cands = quiz.candidates(lp.steps(spec, principal), self.catalog.key_terms)
        # values of every kind from all paths the principal may see (for distractors)
        pool = quiz.value_pool([st for other in lp.visible(principal) for st in lp.steps(other, principal)],
                               self.catalog.key_terms)
        chosen = quiz.choose(self.kb, rng, cands, pool, count)
        if not chosen:
            raise TrainingError("Zu diesem Lernpfad lassen sich aus Ihren freigegebenen Dokumenten gerade keine "
                                "Quizfragen bilden.")
        with self.Session() as s:
            row = TrainingQuiz(user_id=principal.user_id, path_id=spec.id, seed=seed,
                               questions=chosen)
            s.add(row)
            s.flush()
            s.add(AuditEvent(user_id=principal.user_id, action="training_quiz_started", object_id=row.id,
                             outcome=spec.id[:60]))
            s.commit()
            quiz_id = row.id
        return {"quiz_id": quiz_id, "path_id": spec.id, "title": spec.title, "seed": seed,
                "questions": [quiz.public(q) for q in chosen]}

    def grade(self, principal: Principal, quiz_id: str, answers: dict[str, str]) -> dict:
        with self.Session() as s:
            row = s.get(TrainingQuiz, quiz_id)
            if row is None or row.user_id != principal.user_id:
                raise NotFoundError("Dieses Quiz gibt es nicht (mehr).")
            questions = row.questions
            known = {q["id"] for q in questions}
            unknown = sorted(set(answers) - known)
            if unknown:
                raise TrainingError(f"Unbekannte Frage-ID: {', '.join(unknown)}.")
            done = s.execute(update(TrainingQuiz).where(TrainingQuiz.id == quiz_id, TrainingQuiz.graded_at.is_(None))
                             .values(graded_at=utcnow()))
            if done.rowcount != 1:
                raise TrainingConflict("Dieses Quiz wurde bereits ausgewertet.")
            results, details = quiz.grade_questions(questions, answers)
            score = sum(r["correct"] for r in results)
            spec = self.catalog.get(row.path_id)
            s.add(TrainingResult(quiz_id=quiz_id, user_id=principal.user_id, display_name=principal.display_name,
                                 path_id=row.path_id, path_title=spec.title if spec else row.path_id,
                                 score=score, total=len(questions), details=details))
            s.add(AuditEvent(user_id=principal.user_id, action="training_quiz_taken", object_id=quiz_id,
                             outcome=f"{score}/{len(questions)}"))
            s.commit()
        return {"quiz_id": quiz_id, "score": score, "total": len(questions), "results": results}

    # -- results (see .results) -------------------------------------------------------------
    def name_consent(self, principal: Principal) -> bool:
        return _results.name_consent(self.Session, principal)

    def set_name_consent(self, principal: Principal, share_name: bool) -> bool:
        return _results.set_name_consent(self.Session, principal, share_name)

    def results(self, principal: Principal, all_learners: bool = False) -> dict:
        return _results.results(self.Session, principal, all_learners)

    # -- model answers (see .model_answers) -------------------------------------------------
    def list_model_answers(self, principal: Principal) -> list[dict]:
        return self.model_answers.visible(principal)

    def create_model_answer(self, principal: Principal, **kw) -> dict:
        return self.model_answers.create(principal, **kw)

    def delete_model_answer(self, principal: Principal, answer_id: int) -> None:
        self.model_answers.delete(principal, answer_id)

    # -- insights (see .insights) -----------------------------------------------------------
    def insights(self, principal: Principal, date_from: date | None = None, date_to: date | None = None,
                 limit: int = 20) -> dict:
        return _insights.insights(self.Session, principal, date_from, date_to, limit)
