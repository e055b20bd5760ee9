"""Common shape of parsed documents: blocks of text under a heading path."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Block:
    """One paragraph, list item run or table, in document order."""

    headings: tuple[str, ...]  # heading path below the document title
    text: str
    page: int | None = None


@dataclass
class ParsedDocument:
    title: str
    blocks: list[Block]
    meta: dict[str, str] = field(default_factory=dict)  # department, doc_type, jurabk, ...


class HeadingTracker:
    """Keeps the current heading path while a loader walks a document."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, text: str) -> None:
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(t for _, t in self._stack)
