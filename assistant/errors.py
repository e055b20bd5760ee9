"""Errors of the assistant layer (the business layer). They carry German messages, never HTTP statuses:
the web layer maps each class to a status in one table (:mod:`web_ui.errors`).

    AssistantError
     ├── ProviderError          an LLM backend failed (unreachable, timeout, garbage); triggers fallback
     ├── ConfigurationError     a provider or prompt is misconfigured (operator must fix)
     ├── NotFoundError          a conversation or other object does not exist (or is not the user's)
     ├── SourceUnavailableError a connected system (the e-file) cannot be reached right now
     └── SourceRefusedError     a connected system refused the request or answered with an error

Errors of the connectors layer (:mod:`connectors.errors`) do not leave the business layer: they are
translated with :func:`translate_connector_error` / :func:`connector_errors` (``NotFound`` ->
``NotFoundError``, ``SourceUnavailable`` -> ``SourceUnavailableError``, any other -> ``SourceRefusedError``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class AssistantError(Exception):
    """Base class; ``message`` is German and safe to show to users."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ProviderError(AssistantError):
    pass


class ConfigurationError(AssistantError):
    pass


class NotFoundError(AssistantError):
    pass


class SourceUnavailableError(AssistantError):
    """A connected system (the e-file) cannot be reached; trying again later may help."""


class SourceRefusedError(AssistantError):
    """A connected system refused the request (rights, its own rules, an internal error there)."""


def translate_connector_error(exc: Exception) -> AssistantError:
    """The business error for a connector error (same German message); other errors are returned unchanged
    only if they are already business errors, else a TypeError says the caller passed something else."""
    from connectors.errors import ConnectorError, NotFound, SourceUnavailable

    if isinstance(exc, AssistantError):
        return exc
    if isinstance(exc, NotFound):
        return NotFoundError(exc.message)
    if isinstance(exc, SourceUnavailable):
        return SourceUnavailableError(exc.message)
    if isinstance(exc, ConnectorError):
        return SourceRefusedError(exc.message)
    raise TypeError(f"not a connector error: {type(exc).__name__}")


@contextmanager
def connector_errors() -> Iterator[None]:
    """Run a block whose connector errors leave it as business errors (see :func:`translate_connector_error`)."""
    from connectors.errors import ConnectorError

    try:
        yield
    except ConnectorError as exc:
        raise translate_connector_error(exc) from exc
