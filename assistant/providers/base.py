"""What every answer provider offers, and the shared context format."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

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


class Provider(Protocol):
    """Streams an answer text (with [n] citations) for a question and numbered passages."""

    name: str
    is_llm: bool

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str]: ...

    def condense(self, question: str, history: list[tuple[str, str]]) -> str | None: ...
