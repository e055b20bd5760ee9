"""What every answer provider offers, and the shared context format."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from indexer import Hit

_INJECTION = re.compile(
    r"(ignorier\w*|vergiss|missachte\w*)\s+(alle\s+|sämtliche\s+)?(vorherigen|bisherigen|obigen|früheren)?\s*"
    r"(anweisungen|instruktionen|regeln|vorgaben)"
    r"|ignore\s+(all\s+)?(previous|prior|above)\s+instructions"
    r"|\b(system\s*prompt|du\s+bist\s+(jetzt|ab\s+sofort)|you\s+are\s+now)\b",
    re.I,
)


def looks_like_injection(text: str) -> bool:
    return bool(_INJECTION.search(text))


def neutralize(text: str) -> str:
    """Sentences that address a language model are replaced by a marker before they reach one."""
    parts = re.split(r"(?<=[.!?])\s+", text)
    return " ".join("[Textstelle entfernt: enthält eine an ein Sprachmodell gerichtete Anweisung]"
                    if looks_like_injection(p) else p for p in parts)


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
