"""LLM provider registry: ``kind`` -> factory, backends imported only when selected."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigurationError
from .base import DEFAULT_TIMEOUT_S, Provider, format_context, neutralize

_REGISTRY: dict[str, Callable] = {}


def register(kind: str, factory: Callable) -> None:
    """Register a provider factory ``factory(cfg, prompts) -> Provider`` (also used by tests/plugins)."""
    _REGISTRY[kind] = factory


def _builtin(kind: str) -> Callable | None:
    if kind == "extractive":
        from .extractive import ExtractiveProvider

        return ExtractiveProvider
    if kind == "openai":
        from .openai import OpenAIProvider

        return OpenAIProvider
    if kind == "llamacpp":
        from .llamacpp import LlamaCppProvider

        return LlamaCppProvider
    return None


def build_provider(cfg, prompts, **kw) -> Provider:
    factory = _REGISTRY.get(cfg.kind) or _builtin(cfg.kind)
    if factory is None:
        raise ConfigurationError(f"Unbekannter LLM-Anbieter '{cfg.kind}'. Erlaubt: extractive, openai, llamacpp.")
    return factory(cfg, prompts, **kw)


def available_kinds() -> list[str]:
    return sorted({"extractive", "openai", "llamacpp", *_REGISTRY})


__all__ = ["DEFAULT_TIMEOUT_S", "Provider", "register", "build_provider", "available_kinds", "format_context",
           "neutralize"]
