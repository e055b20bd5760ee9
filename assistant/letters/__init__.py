"""Routine letters (issue 6): Word templates with YAML sidecars, prefill from the e-file, text
proposals from the knowledge base, review with four eyes, idempotent filing into the e-file.

Entry point: :class:`LetterService` (``workflow``). Import direction: assistant.letters uses
indexer (KnowledgeBase) and connectors (EFileConnector); web_ui and lotse use this package.
"""

from .calendar import bavarian_holidays, deadline, easter_sunday, is_working_day, next_working_day
from .config import BehoerdeConfig, LetterConfig, PersonConfig
from . import errors
from .errors import *  # noqa: F403  (every letter error, as listed in errors.__all__)
from .templates import TEMPLATES_DIR, FieldSpec, LetterTemplate, TemplateProblem, TemplateRegistry
from .workflow import LetterService

__all__ = [
    "LetterService", "LetterConfig", "BehoerdeConfig", "PersonConfig", "TemplateRegistry", "LetterTemplate",
    "FieldSpec", "TemplateProblem", "TEMPLATES_DIR", *errors.__all__,
    "bavarian_holidays", "deadline", "easter_sunday", "is_working_day", "next_working_day",
]
