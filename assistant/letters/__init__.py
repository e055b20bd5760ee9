"""Routine letters (issue 6): Word templates with YAML sidecars, prefill from the e-file, text
proposals from the knowledge base, review with four eyes, idempotent filing into the e-file.

Entry point: :class:`LetterService` (``workflow``). Import direction: assistant.letters uses
indexer (KnowledgeBase) and connectors (EFileConnector); web_ui and lotse use this package.
"""

from .calendar import bavarian_holidays, deadline, easter_sunday, is_working_day, next_working_day
from .config import BehoerdeConfig, LetterConfig, PersonConfig
from .errors import (
    FeatureUnavailable,
    FilingError,
    FourEyesViolation,
    LetterConflict,
    LetterError,
    LetterNotFound,
    LetterStateError,
    LetterValidationError,
    TemplateUnavailable,
)
from .templates import TEMPLATES_DIR, FieldSpec, LetterTemplate, TemplateProblem, TemplateRegistry
from .workflow import LetterService

__all__ = [
    "LetterService", "LetterConfig", "BehoerdeConfig", "PersonConfig", "TemplateRegistry", "LetterTemplate",
    "FieldSpec", "TemplateProblem", "TEMPLATES_DIR", "LetterError", "LetterNotFound", "LetterConflict",
    "LetterStateError", "LetterValidationError", "FourEyesViolation", "FilingError", "FeatureUnavailable",
    "TemplateUnavailable", "bavarian_holidays", "deadline", "easter_sunday", "is_working_day", "next_working_day",
]
