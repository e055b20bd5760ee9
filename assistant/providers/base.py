"""What every answer provider offers, and the shared context format."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from indexer import Hit
from indexer.text import looks_like_steering


def neutralize(text: str) -> str:
    """Paragraphs that address a language model or vouch for their own approval are replaced by a
    marker before they reach one (the whole paragraph: a quoted instruction often spans sentences)."""
    return "\n".join("[Textstelle entfernt: enthält eine an ein Sprachmodell gerichtete Anweisung]"
                     if looks_like_steering(line) else line for line in text.splitlines())


def format_context(hits: list[Hit]) -> str:
    blocks = []
    for i, h in enumerate(hits, 1):
        page = f", Seite {h.page}" if h.page else ""
        blocks.append(f"[{i}] {h.title} – {h.section}{page}\n<<<\n{neutralize(h.text)}\n>>>")
    return "\n\n".join(blocks)


@dataclass
class ProviderInfo:
    name: str
    is_llm: bool


#: seconds an answer may take when a provider does not say (``Provider.timeout_s``)
DEFAULT_TIMEOUT_S = 120.0


@runtime_checkable
class Provider(Protocol):
    """Streams an answer text (with [n] citations) for a question and numbered passages.

    Everything the answer pipeline (:mod:`assistant.answering`), the assistant
    (:mod:`assistant.service`) and the letters (``lotse.factory``) read of a provider is declared here."""

    #: shown to users (``meta.provider``, ``done.provider``), e.g. ``extractive``, ``openai``
    name: str
    #: a language model (condensing follow-ups, citation check, fallback to the extractive answer)
    is_llm: bool
    #: the longest an answer may stream before it counts as failed (ProviderError: fallback); the
    #: assistant sets it from ``LOTSE_LLM__TIMEOUT_S``
    timeout_s: float

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str]:
        """The answer text in pieces; raises ProviderError when the backend fails."""
        ...

    def condense(self, question: str, history: list[tuple[str, str]]) -> str | None:
        """A follow-up question rewritten as a standalone one, or None (rules take over)."""
        ...

    def rewrite_plain(self, text: str) -> str:
        """A letter text in plain language (letters' plain-language proposal, used when ``is_llm``);
        raises ProviderError when it cannot."""
        ...
