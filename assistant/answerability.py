"""Does the best passage answer the question? Refuse by answerability, not by word overlap.

Signals, computed on the retrieved passages (calibrated on the dev split of
benchmarks/questions/answers_dev.jsonl with benchmarks/calibrate_refusal.py):

- ``support``: the best passage's BM25 score relative to the best possible one, damped by
  how much of the question's weight the corpus knows at all (off-topic words);
- ``coverage``: the idf-weighted share of the question's own terms that the best passage
  (text, title, heading) contains; a passage about another topic covers little;
- ``anchor``: whether the question's most specific term that the corpus knows occurs in
  the top passages;
- ``missing_year``: the question asks about a year no passage mentions (e.g. a Regelsatz
  of a year the sources do not cover);
- ``fact``: for deadline/amount questions, whether any top passage carries a fact of that type.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from indexer import Hit, KnowledgeBase, analyze, analyze_query

from .question_types import FACT_PATTERNS

_YEAR = re.compile(r"\b(19[5-9]\d|20[0-9]\d)\b")


@dataclass(frozen=True)
class Verdict:
    answerable: bool
    score: float
    support: float
    coverage: float
    anchor: bool
    reason: str


def _passage_terms(hit: Hit) -> set[str]:
    return set(analyze(hit.text)) | set(analyze(hit.title)) | set(analyze(" ".join(hit.heading_path)))


def assess(question: str, hits: list[Hit], kb: KnowledgeBase, qtype: str, threshold: float) -> Verdict:
    if not hits:
        return Verdict(False, 0.0, 0.0, 0.0, False, "keine Textstelle gefunden")
    support = kb.support(question, hits)
    weights = analyze_query(question)
    own = {t: w for t, w in weights.items() if w >= 1.0}
    idf = {t: kb.idf(t) for t in own}
    known = {t: v for t, v in idf.items() if kb.searcher.lexical.document_frequency(t) > 0}
    top = hits[:3]
    terms = [_passage_terms(h) for h in top]
    total = sum(idf.values()) or 1.0
    coverage = max(sum(v for t, v in idf.items() if t in ts) / total for ts in terms)
    anchor_term = max(known, key=known.get) if known else None
    anchor = anchor_term is not None and any(anchor_term in ts for ts in terms)
    score = support * (0.5 + coverage) * (1.0 if anchor else 0.6)
    reason = ""
    years = set(_YEAR.findall(question))
    if years and not any(y in h.text or y in h.title for y in years for h in top):
        score *= 0.3
        reason = "Jahr nicht in den Quellen"
    fact = FACT_PATTERNS.get(qtype)
    if fact is not None and not any(fact.search(h.text) for h in top):
        score *= 0.7
        reason = reason or "keine Angabe der gefragten Art"
    ok = score >= threshold
    if not ok and not reason:
        reason = "die gefundenen Textstellen beantworten die Frage nicht"
    return Verdict(ok, round(score, 4), round(support, 4), round(coverage, 4), anchor, reason)


def _unused() -> float:  # pragma: no cover - keeps math imported for calibration tweaks
    return math.e
