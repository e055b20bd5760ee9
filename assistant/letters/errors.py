"""Errors of the letter workflow; every ``message`` is German and safe to show to caseworkers.

    AssistantError                       (assistant.errors)
     └── LetterError
          ├── LetterNotFound             (also a NotFoundError: 404)
          ├── TemplateUnavailable        unknown or broken template
          ├── TemplateImportError        an uploaded Word letter cannot be imported as a template
          ├── LetterValidationError      field values wrong or missing
          ├── LetterStateError           action not allowed in the letter's state
          ├── LetterConflict             optimistic locking: somebody saved in between
          ├── FourEyesViolation          author may not approve a four-eyes letter
          ├── FilingError                the e-file refused the filing (not retried)
          └── FeatureUnavailable         PDF without LibreOffice, rewrite without LLM
"""

from __future__ import annotations

from ..errors import AssistantError, NotFoundError


class LetterError(AssistantError):
    status_code = 400


class LetterNotFound(LetterError, NotFoundError):
    status_code = 404


class TemplateUnavailable(LetterError):
    status_code = 404


class TemplateImportError(LetterError):
    status_code = 422


class LetterValidationError(LetterError):
    status_code = 422

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


class LetterStateError(LetterError):
    status_code = 409


class LetterConflict(LetterError):
    """Raised by ``save`` when ``expected_version`` is stale; the losing edit is stored anyway."""

    status_code = 409

    def __init__(self, message: str, current_version: int, stored_as: int):
        super().__init__(message)
        self.current_version = current_version
        self.stored_as = stored_as  # sequence number of the stored (not adopted) edit


class FourEyesViolation(LetterError):
    status_code = 403


class FilingError(LetterError):
    status_code = 502


class FeatureUnavailable(LetterError):
    status_code = 501
