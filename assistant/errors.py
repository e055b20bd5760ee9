"""Errors of the assistant layer.

    AssistantError
     ├── ProviderError        an LLM backend failed (unreachable, timeout, garbage); triggers fallback
     ├── ConfigurationError   a provider or prompt is misconfigured (operator must fix)
     └── NotFoundError        a conversation or other object does not exist (or is not the user's)
"""

from __future__ import annotations


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
