"""Trainer mode (on-the-job learning aid): learning paths, quizzes, results, model answers, insights.

Everything is built from the approved policy documents at request time and works without any LLM:

- **Learning paths** (:mod:`.paths`, ``prompts/learning_paths.yaml``): per process a list of steps in
  processing order; each step is a search query whose best hit among the path's documents becomes the
  step (a short explanation drawn from the section plus its citation). Only departments the principal
  may see.
- **Quizzes** (:mod:`.quiz`, text rules in :mod:`.text`): cloze and multiple-choice questions cut from
  sentences of those sections (deadlines, dates, amounts, § references, key terms). A question is
  offered only after it was checked against its source: the expected answer occurs literally in the
  cited chunk and the prompt with the blank filled in is a sentence of that chunk. Quizzes are stored,
  expected answers stay on the server until the quiz is graded. Deterministic per seed.
- **Results** (:mod:`.results`) per learner; trainers (role ``schulung``) see those of their
  departments, by learning path and per learner under a pseudonym, by name only where the learner agreed.
- **Model answers** (:mod:`.model_answers`): a trainer turns a chat answer or a corrected text into a
  curated answer; :class:`CuratedAnswers` (the step before the answer pipeline) prefers it for similar
  questions.
- **Insights** (:mod:`.insights`) for trainers: most asked and unanswered questions, with personal data
  masked.

:class:`TrainingService` (:mod:`.service`) is the front; errors and the trainer role are in
:mod:`.errors`. Audit events carry ids and outcomes only, never question text.
"""

from __future__ import annotations

from .errors import TRAINER_ROLE, ForbiddenError, TrainingConflict, TrainingError, require_trainer
from .model_answers import CURATED_NOTICE, CURATED_PROVIDER, MATCH_THRESHOLD, CuratedAnswers, ModelAnswerStore
from .paths import PATHS_FILE, LearningPaths, PathSpec, StepSpec, load_learning_paths
from .quiz import BLANK, HINTS, MAX_QUESTIONS
from .results import CONSENT_ACTION
from .service import TrainingService
from .text import Term, bold_terms, explanation, extract_terms, norm_answer, norm_question, plain_text, quiz_sentences

__all__ = [
    "BLANK", "CONSENT_ACTION", "CURATED_NOTICE", "CURATED_PROVIDER", "HINTS", "MATCH_THRESHOLD", "MAX_QUESTIONS",
    "PATHS_FILE", "TRAINER_ROLE", "ForbiddenError", "LearningPaths", "ModelAnswerStore", "PathSpec", "StepSpec",
    "Term", "TrainingConflict", "TrainingError", "TrainingService", "bold_terms", "CuratedAnswers", "explanation",
    "extract_terms", "load_learning_paths", "norm_answer", "norm_question", "plain_text", "quiz_sentences",
    "require_trainer",
]
