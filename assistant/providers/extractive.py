"""The embedded default: an answer composed from the best supporting sentences, no model.

A short lead names the main source and gives its most relevant rule; up to a few
more rules follow as bullet points, each with its numbered citation. Sentences
that address a language model (prompt injection) are never quoted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator

from indexer import Hit, analyze, analyze_query, split_sentences

from .base import looks_like_injection

_EMPHASIS = re.compile(r"(\*\*|__|\*(?=\S)|(?<=\S)\*)")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def _sentences(text: str) -> list[str]:
    out = []
    for raw in (x for line in text.splitlines() for x in split_sentences(line)):
        s = _EMPHASIS.sub("", _LIST_MARK.sub("", raw)).strip()
        if " | " in s:  # table row: keep readable
            s = s.replace(" | ", " – ")
        if 25 <= len(s) <= 600 and not looks_like_injection(s):
            out.append(s if s[-1] in ".!?:)" else s + ".")
    return out


class ExtractiveProvider:
    name = "extractive"
    is_llm = False

    def __init__(self, cfg, prompts, idf: Callable[[str], float] | None = None, **_):
        self.cfg = cfg
        self.phrases = prompts.extractive
        self._idf = idf or (lambda t: 1.0)

    def rank_sentences(self, question: str, hits: list[Hit]) -> list[tuple[float, int, str]]:
        # idf once per query term, not once per sentence and term
        weights = {t: w * self._idf(t) for t, w in analyze_query(question).items()}
        scored: list[tuple[float, int, str]] = []
        for n, hit in enumerate(hits, 1):
            prior = 1.0 / (1 + 0.35 * (n - 1))
            for sentence in _sentences(hit.text):
                terms = set(analyze(sentence))
                overlap = sum(w for t, w in weights.items() if t in terms)
                if overlap <= 0:
                    continue
                scored.append((overlap * prior / math.log(8 + len(terms)), n, sentence))
        scored.sort(key=lambda x: -x[0])
        return scored

    def compose(self, question: str, hits: list[Hit]) -> str:
        if not hits:
            return ""
        ranked = self.rank_sentences(question, hits)
        if not ranked:  # no sentence shares a word with the question: quote the best passage's start
            first = _sentences(hits[0].text)[:2] or [hits[0].text[:300]]
            ranked = [(1.0, 1, s) for s in first]
        best_score, best_n, best_sentence = ranked[0]
        lead_hit = hits[best_n - 1]
        lines = [self.phrases["lead"].format(title=lead_hit.title, section=lead_hit.section)
                 + f" {best_sentence} [{best_n}]"]
        points: list[str] = []
        used = {best_sentence}
        for score, n, sentence in ranked[1:]:
            if len(points) >= self.cfg.max_points - 1 or score < 0.3 * best_score:
                break
            if sentence in used or any(_similar(sentence, u) for u in used):
                continue
            used.add(sentence)
            points.append(f"- {sentence} [{n}]")
        if points:
            lines.append("")
            lines.append(self.phrases["points_heading"])
            lines.extend(points)
        return "\n".join(lines)

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str]:
        text = self.compose(question, hits)
        for piece in re.split(r"(?<=\s)", text):  # word by word, like a model would stream
            if piece:
                yield piece

    def condense(self, question: str, history: list[tuple[str, str]]) -> str | None:
        return None  # the pipeline's rule-based condensing applies


def _similar(a: str, b: str) -> bool:
    ta, tb = set(analyze(a)), set(analyze(b))
    return bool(ta) and len(ta & tb) / len(ta | tb) > 0.7
