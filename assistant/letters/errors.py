"""Errors of the letter workflow; every ``message`` is German and safe to show to caseworkers.
They carry no HTTP status: the web layer's table (``web_ui.errors.STATUS``) maps each class to one.

    AssistantError                       (assistant.errors)
     └── LetterError
          ├── LetterNotFound             (also a NotFoundError)
          ├── TemplateUnavailable        unknown or broken template
          ├── TemplateImportError        an uploaded Word letter cannot be imported as a template
          ├── LetterValidationError      field values wrong or missing
          ├── LetterStateError           action not allowed in the letter's state
          ├── LetterConflict             optimistic locking: somebody saved in between
          ├── FourEyesViolation          author may not approve a four-eyes letter
          ├── FilingError                the e-file refused the filing (not retried)
          ├── FeatureUnavailable         PDF without LibreOffice, rewrite without LLM
          ├── ReasonCatalogError         the catalog of reason blocks is broken (reasons.py)
          └── RulesError                 the office's rules file is broken (rules.py)
"""

from __future__ import annotations

from ..errors import AssistantError, NotFoundError

__all__ = ["LetterError", "LetterNotFound", "TemplateUnavailable", "TemplateImportError", "LetterValidationError",
           "LetterStateError", "LetterConflict", "FourEyesViolation", "FilingError", "FeatureUnavailable"]


class LetterError(AssistantError):
    """Base class of the letter workflow's errors."""


class LetterNotFound(LetterError, NotFoundError):
    pass


class TemplateUnavailable(LetterError):
    pass


class TemplateImportError(LetterError):
    pass


class LetterValidationError(LetterError):
    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


class LetterStateError(LetterError):
    pass


class LetterConflict(LetterError):
    """Raised by ``save`` when ``expected_version`` is stale; the losing edit is stored anyway."""

    def __init__(self, message: str, current_version: int, stored_as: int):
        super().__init__(message)
        self.current_version = current_version
        self.stored_as = stored_as  # sequence number of the stored (not adopted) edit


class FourEyesViolation(LetterError):
    pass


class FilingError(LetterError):
    pass


class FeatureUnavailable(LetterError):
    pass
