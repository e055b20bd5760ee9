"""Errors and the trainer role of the trainer mode (German messages; HTTP statuses: ``web_ui.errors``)."""

from __future__ import annotations

from ..errors import AssistantError
from ..identity import Principal

TRAINER_ROLE = "schulung"


class TrainingError(AssistantError):
    """A request the trainer mode cannot fulfil (German message; no HTTP status: see ``web_ui.errors``)."""


class TrainingConflict(TrainingError):
    """The request came too late for the object's state (a quiz already graded)."""


class ForbiddenError(TrainingError):
    """The function needs the role Schulung."""

    default_message = "Diese Funktion ist nur für Trainerinnen und Trainer (Rolle Schulung)."

    def __init__(self, message: str = default_message):
        super().__init__(message)


def require_trainer(principal: Principal) -> None:
    if TRAINER_ROLE not in principal.roles:
        raise ForbiddenError()
