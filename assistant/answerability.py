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
- ``min_dense`` (optional, for retrieval embedders): the best passage's cosine similarity to the
  question; a request no passage comes near in meaning ("Schreib mir ein Gedicht") is off-topic;
- ``fact_anchor``: for deadline/amount questions, how much of the question the best unit that
  carries such a fact (a sentence with an amount, a table row with a Frist) covers, with its
  heading: "Wie viel Kindergeld ..." is refused when no amount in the sources is about Kindergeld;
- ``best_unit`` (optional, for retrieval embedders): the best cosine similarity of the question to one
  sentence, list item or table row of the top passages (:mod:`indexer.unit_vectors`).

Without a refusal model, fixed gates decide (``threshold`` on the score, ``FACT_ANCHOR_MIN``). With one
(:class:`RefusalModel`, setting ``LOTSE_ASSISTANT__REFUSAL_MODEL``), a logistic model over the signals,
fitted on the dev split by ``benchmarks/calibrate_refusal.py --write``, replaces those two gates; the
off-topic and missing-year checks stay.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from indexer import Hit, KnowledgeBase, analyze, analyze_query
from indexer.analysis import STOPWORDS, domain_terms

from indexer.passages import neighbour_steps, units
from .question_types import FACT_PATTERNS

FACT_ANCHOR_MIN = 0.15  # calibrated on the dev split (benchmarks/calibrate_refusal.py)
OFF_TOPIC_MAX_SCORE = 0.15  # above it, strong evidence wins over an unknown word (dev split)

_YEAR = re.compile(r"\b(19[5-9]\d|20[0-9]\d)\b")
# nouns of a German question: capitalised words not at the start of a sentence
_NOUN = re.compile(r"(?<![.?!:]\s)(?<!^)\b([A-ZÄÖÜ][A-ZÄÖÜa-zäöüß]+(?:-[A-ZÄÖÜa-zäöüß]+)*)")


def unknown_nouns(question: str, kb: KnowledgeBase) -> list[str]:
    """Nouns of the question that the indexed sources never use, not even as part of a compound."""
    lexical = kb.searcher.lexical
    out = []
    for noun in _NOUN.findall(question):
        if noun.lower() in STOPWORDS:
            continue
        terms = analyze(noun)
        if not any(lexical.document_frequency(t) > 0 for t in terms):
            out.append(noun)
    return out


@dataclass(frozen=True)
class Verdict:
    answerable: bool
    score: float
    support: float
    coverage: float
    anchor: bool
    fact_anchor: float
    reason: str
    features: dict[str, float] = field(default_factory=dict)  # what a RefusalModel reads
    p_unanswerable: float | None = None  # the RefusalModel's estimate, when one is configured


FEATURES = ("log_score", "coverage", "nearest", "best_unit", "fact_anchor", "unknown_nouns")
NO_ANSWER = "die gefundenen Textstellen beantworten die Frage nicht"
NO_FACT = "keine Angabe der gefragten Art zum Thema der Frage"
# what the refusal model decides; the other reasons (off-topic, missing year) refuse whatever it says
MODEL_REASONS = frozenset({NO_ANSWER, NO_FACT})


def embedder_name(model_id: str) -> str:
    """The name a refusal model records for the embedder it was fitted with (``model_id`` without its folder)."""
    return Path(model_id.rstrip("/")).name


@dataclass(frozen=True)
class RefusalModel:
    """P(the sources do not answer the question) as a logistic function of the signals (standardised);
    refuse above ``threshold``. Fitted for one embedder (the similarities depend on it)."""
    embedder: str
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    features: tuple[str, ...] = FEATURES

    @classmethod
    def load(cls, path: Path) -> "RefusalModel":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            model = cls(embedder=str(data["embedder"]), mean=tuple(map(float, data["mean"])),
                        scale=tuple(map(float, data["scale"])), coef=tuple(map(float, data["coef"])),
                        intercept=float(data["intercept"]), threshold=float(data["threshold"]),
                        features=tuple(data["features"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"Refusal model {path} is not readable: {exc}") from exc
        if model.features != FEATURES or not (len(model.mean) == len(model.scale) == len(model.coef) == len(FEATURES)):
            raise ValueError(f"Refusal model {path} was fitted on other signals ({', '.join(model.features)}); "
                             "fit it again with benchmarks/calibrate_refusal.py --write")
        return model

    def as_json(self) -> str:
        return json.dumps({"embedder": self.embedder, "features": list(self.features), "mean": list(self.mean),
                           "scale": list(self.scale), "coef": list(self.coef), "intercept": self.intercept,
                           "threshold": self.threshold}, indent=2) + "\n"

    def p_unanswerable(self, features: dict[str, float]) -> float:
        z = self.intercept + sum(c * (features[f] - m) / (s or 1.0)
                                 for f, m, s, c in zip(self.features, self.mean, self.scale, self.coef))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@lru_cache(maxsize=4096)
def _terms(text: str) -> frozenset[str]:
    return frozenset(analyze(text))


def _passage_terms(hit: Hit) -> frozenset[str]:
    return _terms(hit.text) | _terms(hit.title) | _terms(" ".join(hit.heading_path))


def assess(question: str, hits: list[Hit], kb: KnowledgeBase, qtype: str, threshold: float,
           min_dense: float = 0.0, nearest: float | None = None, best_unit: float | None = None,
           model: RefusalModel | None = None) -> Verdict:
    """``hits``: the lexical ranking (the signals below are lexical); ``nearest``: the best cosine similarity
    of the passages the answer is built from (default: of ``hits``), compared with ``min_dense``;
    ``best_unit``: the best similarity of one of their units (default: ``nearest``)."""
    if not hits:
        return Verdict(False, 0.0, 0.0, 0.0, False, 0.0, "keine Textstelle gefunden")
    support = kb.support(question, hits)
    weights = analyze_query(question)
    own = {t: w for t, w in weights.items() if w >= 1.0}
    idf = {t: kb.idf(t) for t in own}
    lexical = kb.searcher.lexical
    known = {t: kb.idf(t) for t in weights if lexical.document_frequency(t) > 0}
    known_own = {t: v for t, v in known.items() if t in own}
    top = hits[:3]
    terms = [_passage_terms(h) for h in top]
    total = sum(idf.values()) or 1.0
    coverage = max(sum(v for t, v in idf.items() if t in ts) / total for ts in terms)
    anchor_term = max(known_own, key=known_own.get) if known_own else None
    anchor = anchor_term is not None and any(anchor_term in ts for ts in terms)
    score = support * (0.5 + coverage) * (1.0 if anchor else 0.6)
    years = set(_YEAR.findall(question))
    year_missing = bool(years) and not any(y in h.text or y in h.title for y in years for h in top)
    fact = FACT_PATTERNS.get(qtype)
    fa = fact_anchor(weights, known, top, fact) if qtype in ("amount", "deadline") else 1.0
    # a question about a thing the sources never name, in words of no social-law topic, is off-topic
    unknown = unknown_nouns(question, kb)
    off_topic = (score < OFF_TOPIC_MAX_SCORE and bool(unknown)
                 and not (set(analyze(question)) & domain_terms()))
    # under a retrieval embedder, a question no passage comes near in meaning is about something else
    if nearest is None:
        nearest = max(h.dense for h in hits)
    far = min_dense > 0 and nearest < min_dense
    features = {"log_score": math.log(score + 0.01), "coverage": coverage, "nearest": nearest,
                "best_unit": nearest if best_unit is None else best_unit, "fact_anchor": fa,
                "unknown_nouns": float(min(len(unknown), 3))}
    p = model.p_unanswerable(features) if model is not None else None
    reasons = [(off_topic or far, "die Frage betrifft kein Thema der freigegebenen Quellen"),
               (year_missing, "das gefragte Jahr kommt in den Quellen nicht vor")]
    if p is not None:
        reasons.append((p > model.threshold, NO_FACT if fa < FACT_ANCHOR_MIN else NO_ANSWER))
    else:
        reasons += [(fa < FACT_ANCHOR_MIN, NO_FACT),
                    (score < threshold, NO_ANSWER)]
    reason = next((text for failed, text in reasons if failed), "")
    return Verdict(not reason, round(score, 4), round(support, 4), round(coverage, 4), anchor, round(fa, 4), reason,
                   features, None if p is None else round(p, 4))


def fact_anchor(weights: dict[str, float], known: dict[str, float], top: list[Hit], fact) -> float:
    """Share of the question (idf-weighted, thesaurus terms at their lower weight) that the best
    fact-carrying unit of the top passages covers, together with its passage's heading and title."""
    total = sum(v * min(1.0, weights[t]) for t, v in known.items()) or 1.0
    best = 0.0
    for n, hit in enumerate(top, 1):
        context = set(analyze(hit.section)) | set(analyze(hit.title))
        seq = units(hit.text, n)
        for i, u in enumerate(seq):
            if not fact.search(u.text):
                continue
            ts = set(analyze(f"{u.text} {u.intro} {u.header}")) | context
            if u.kind == "item":
                ts |= set(analyze(neighbour_steps(seq, i)))
            best = max(best, sum(v * min(1.0, weights[t]) for t, v in known.items() if t in ts) / total)
    return best
