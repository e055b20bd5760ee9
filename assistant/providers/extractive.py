"""The embedded default: an answer composed from the passages' own sentences, no model.

The question type (see :mod:`assistant.question_types`) decides the shape:

- deadline / amount / competent office: the sentence (or table row) that carries the fact first;
- list: the whole list (or table) of the best passage, introduced by its own lead-in sentence;
- steps: the steps of the procedure in their order;
- yes/no and other: the best sentence, then its conditions and exceptions as bullet points.

The lead names the source once ("Laut „Title“, Abschnitt „Section“: ..."); every statement
carries its numbered citation. Sentences that try to steer an assistant (instructions,
self-declared approval) are never quoted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator

from indexer import Hit, analyze, analyze_query
from indexer.text import CITE, as_sentence, cited_numbers

from ..errors import ProviderError
from indexer.passages import Unit, neighbour_steps, opens_list, short_prose, units, with_intro
from ..question_types import FACT_PATTERNS, question_type

_MAX_LIST_ITEMS = 12
_MAX_PASSAGE_SENTENCES = 5


LIST_MIN_RELEVANCE = 0.7  # share of the best passage's search score a list's passage needs (dev split)
DENSE_SHARE = 0.3  # weight of closeness in meaning in a unit's score (dev split: 0.3 of 0 … 1)
FACT_BOOST = 1.8  # a unit carrying a fact of the asked kind (amount, deadline, ...)
RANK_DECAY = 0.5  # a unit of the n-th passage counts 1 / (1 + RANK_DECAY * (n - 1)) (dev split)


def _combine(rows, share: float) -> list[tuple[float, Unit]]:
    """One score per unit: word overlap (scaled to the best unit's) and closeness in meaning (scaled
    between the least and the most similar unit), weighted by ``share``; then the passage's rank and
    the asked fact."""
    if not rows:
        return []
    lex_top = max(r[0] for r in rows) or 1.0
    dense = [r[1] for r in rows if r[1] is not None]
    lo, hi = (min(dense), max(dense)) if dense else (0.0, 1.0)
    span = (hi - lo) or 1.0
    out = []
    for lexical, sim, prior, carries, u in rows:
        if sim is None:
            score = lexical * prior
        else:
            score = ((1 - share) * lexical / lex_top + share * (sim - lo) / span) * prior
        if carries:
            score *= FACT_BOOST
        if score > 0:
            out.append((score, u))
    return out


class ExtractiveProvider:
    name = "extractive"
    is_llm = False
    timeout_s = 30.0

    def __init__(self, cfg, prompts, idf: Callable[[str], float] | None = None,
                 similarity: Callable[[str, Hit, tuple[Unit, ...]], list[float] | None] | None = None, **_):
        """``similarity(query, hit, units)``: cosine similarity of the query to each unit of the passage, or
        None (``KnowledgeBase.unit_similarities``); without it units are ranked by word overlap alone."""
        self.cfg = cfg
        self.phrases = prompts.extractive
        self._idf = idf or (lambda t: 1.0)
        self._similarity = similarity

    # --- ranking ----------------------------------------------------------------------------
    def _weights(self, question: str) -> dict[str, float]:
        return {t: w * self._idf(t) for t, w in analyze_query(question).items()}

    def rank(self, question: str, hits: list[Hit], qtype: str | None = None,
             dense_query: str | None = None) -> list[tuple[float, Unit]]:
        """Units of the passages, best first: word overlap with the question (idf-weighted, the passage's
        heading counting less), and, when the units' vectors are at hand, closeness in meaning to
        ``dense_query``; a unit carrying a fact of the asked kind counts more, a lower passage less."""
        weights = self._weights(question)
        qtype = qtype or question_type(question)
        fact = FACT_PATTERNS.get(qtype)
        rows: list[tuple[float, float | None, float, bool, Unit]] = []  # lexical, dense, prior, fact, unit
        for n, hit in enumerate(hits, 1):
            prior = 1.0 / (1 + RANK_DECAY * (n - 1))
            context = set(analyze(hit.section)) | set(analyze(hit.title))
            seq = units(hit.text, n)
            sims = self._similarity(dense_query, hit, seq) if (self._similarity and dense_query) else None
            for i, u in enumerate(seq):
                terms = set(analyze(f"{u.text} {u.intro} {u.header}"))
                near = set(context)
                carries = fact is not None and bool(fact.search(u.text))
                if u.kind == "item" and carries:  # a step carrying the fact
                    near |= set(analyze(neighbour_steps(seq, i)))
                overlap = sum(w for t, w in weights.items() if t in terms)
                overlap += 0.3 * sum(w for t, w in weights.items() if t in near and t not in terms)
                if overlap <= 0 and sims is None:
                    continue
                rows.append((overlap / math.log(8 + len(terms)), sims[i] if sims else None, prior, carries, u))
        scored = _combine(rows, DENSE_SHARE)
        scored.sort(key=lambda x: -x[0])
        return scored

    # --- composing --------------------------------------------------------------------------
    def _lead(self, hit: Hit) -> str:
        if hit.section and hit.section.strip() != hit.title.strip():
            return self.phrases["lead"].format(title=hit.title, section=hit.section)
        return self.phrases["single_source_lead"].format(title=hit.title)

    def compose(self, question: str, hits: list[Hit], dense_query: str | None = None) -> str:
        if not hits:
            return ""
        qtype = question_type(question)
        ranked = self.rank(question, hits, qtype, dense_query)
        if not ranked:  # nothing shares a word with the question: quote the best passage's start
            first = list(units(hits[0].text, 1)[:2])
            ranked = [(1.0, u) for u in first] or [(1.0, Unit(1, as_sentence(hits[0].text[:300]), "sentence", -1))]
        if qtype in ("list", "steps"):
            text = self._compose_list(ranked, hits) or self._compose_passage(ranked, hits)
            if text:
                return text
        elif hits[ranked[0][1].hit - 1].section.rstrip().endswith("?"):
            # the best sentence belongs to the answer of an FAQ question: that answer, whole, is the
            # answer ("Nein. Seit 2017 ... entfallen. ... bis zum 18. Geburtstag ...")
            return self._compose_points(ranked, hits, whole_passage=True)
        return self._compose_points(ranked, hits)

    def _compose_passage(self, ranked: list[tuple[float, Unit]], hits: list[Hit]) -> str | None:
        """A list or steps question answered by a short prose passage (an FAQ answer: "Was brauchen
        wir dafür alles?"): every sentence of it, in order: what is needed is rarely all in the
        sentences that share a word with the question."""
        lead = ranked[0][1]
        hit = hits[lead.hit - 1]
        seq = units(hit.text, lead.hit)
        if not short_prose(seq, _MAX_PASSAGE_SENTENCES):
            return None
        lines = [f"{self._lead(hit)} {' '.join(u.text for u in seq)} [{lead.hit}]"]
        top_score = max(h.score for h in hits)
        for score, u in ranked[1:]:
            if (u.hit != lead.hit and score >= 0.6 * ranked[0][0]
                    and hits[u.hit - 1].score >= LIST_MIN_RELEVANCE * top_score):
                lines += ["", self.phrases["points_heading"], f"- {u.text} [{u.hit}]"]
                break
        return "\n".join(lines)

    def _compose_list(self, ranked: list[tuple[float, Unit]], hits: list[Hit]) -> str | None:
        # the list (or table) whose items and lead-in best match the question, among the top units
        group_scores: dict[tuple[int, int], float] = {}
        top_score = max(h.score for h in hits)
        for score, u in ranked[:12]:
            # a list of a clearly weaker passage is no answer, however many rows it has that
            # share a word with the question (a Wohngeld checklist for a Treppenlift question)
            if u.kind in ("item", "row") and hits[u.hit - 1].score >= LIST_MIN_RELEVANCE * top_score:
                key = (u.hit, u.group)
                group_scores[key] = group_scores.get(key, 0.0) + score
        if not group_scores:
            return None
        best = max(group_scores, key=group_scores.get)
        if group_scores[best] < 0.5 * ranked[0][0]:
            return None
        members = [u for u in units(hits[best[0] - 1].text, best[0]) if (u.hit, u.group) == best
                   and u.kind in ("item", "row")]
        hit = hits[best[0] - 1]
        intro = members[0].intro
        lines = [self._lead(hit) + (f" {intro} [{best[0]}]" if intro else "")]
        numbered = any(re.match(r"^\s*\d", ln) for ln in hit.text.splitlines())
        for i, u in enumerate(members[:_MAX_LIST_ITEMS], 1):
            lines.append(f"{i}. {u.text} [{u.hit}]" if numbered else f"- {u.text} [{u.hit}]")
        if len(members) > _MAX_LIST_ITEMS:
            lines.append(self.phrases["more_items"].format(n=len(members) - _MAX_LIST_ITEMS))
        # one more point from elsewhere when it adds something (e.g. the deadline for the list)
        for score, u in ranked[:6]:
            if (u.hit, u.group) != best and score >= 0.6 * ranked[0][0] and u.text != intro:
                lines.append("")
                lines.append(self.phrases["points_heading"])
                lines.append(f"- {u.text} [{u.hit}]")
                break
        return "\n".join(lines)

    def _compose_points(self, ranked: list[tuple[float, Unit]], hits: list[Hit], whole_passage: bool = False) -> str:
        """The best sentence (with the next one of its paragraph) or, with ``whole_passage``, the whole of
        a short passage (an FAQ answer), then further points of other sentences that match."""
        best_score, lead = ranked[0]
        lead_hit = hits[lead.hit - 1]
        lead_text = lead.text
        if lead.kind in ("row", "item") and lead.intro:  # a row or list item says little without its lead-in
            lead_text = with_intro(lead)
        used = [lead.text]
        seq = units(lead_hit.text, lead.hit)
        if whole_passage and short_prose(seq, _MAX_PASSAGE_SENTENCES):
            lead_text = " ".join(u.text for u in seq)
            used = [u.text for u in seq]
        elif (follow := self._next_in_paragraph(lead, lead_hit)) is not None and len(lead_text) + len(follow.text) < 420:
            lead_text = f"{lead_text} {follow.text}"
            used.append(follow.text)
        lines = [f"{self._lead(lead_hit)} {lead_text} [{lead.hit}]"]
        points: list[str] = []
        for score, u in ranked[1:]:
            if len(points) >= self.cfg.max_points - 1 or score < 0.3 * best_score:
                break
            if any(_similar(u.text, x) for x in used):
                continue
            used.append(u.text)
            # an item that continues an open sentence ("..., das") is quoted with it
            text = with_intro(u) if u.kind == "item" and opens_list(u.intro) else u.text
            points.append(f"- {text} [{u.hit}]")
        if points:
            lines.append("")
            lines.append(self.phrases["points_heading"])
            lines.extend(points)
        return "\n".join(lines)

    @staticmethod
    def _next_in_paragraph(unit: Unit, hit: Hit) -> Unit | None:
        """The sentence after ``unit`` in its paragraph (a rule's condition or consequence often follows)."""
        if unit.kind != "sentence":
            return None
        seq = units(hit.text, unit.hit)
        for a, b in zip(seq, seq[1:]):
            if a.text == unit.text and b.kind == "sentence" and b.para == unit.para:
                return b
        return None

    def answer(self, question: str, hits: list[Hit], dense_query: str | None = None) -> tuple[str, list[Hit]]:
        """The composed answer with citations numbered [1], [2], ... in reading order, and the
        passages in that order (uncited passages after them). ``dense_query``: the question compared in
        meaning with the passages' units (default: ``question``)."""
        return renumber(self.compose(question, hits, dense_query or question), hits)

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str]:
        yield from words(self.answer(question, hits)[0])

    def condense(self, question: str, history: list[tuple[str, str]]) -> str | None:
        return None  # the pipeline's rule-based condensing applies

    def rewrite_plain(self, text: str) -> str:
        """Plain language needs a language model (the letters offer it only when ``is_llm``)."""
        raise ProviderError("Für einfache Sprache ist kein Sprachmodell angebunden")


def renumber(text: str, hits: list[Hit]) -> tuple[str, list[Hit]]:
    order = [n for n in cited_numbers(text) if 1 <= n <= len(hits)]
    order += [n for n in range(1, len(hits) + 1) if n not in order]
    new = {old: i for i, old in enumerate(order, 1)}

    def fix(m: re.Match) -> str:
        nums = [new[int(n)] for n in re.split(r"\s*[,;]\s*", m.group(1)) if int(n) in new]
        return "[" + ", ".join(str(n) for n in nums) + "]" if nums else ""

    return CITE.sub(fix, text), [hits[n - 1] for n in order]


def words(text: str) -> Iterator[str]:
    """Word by word, like a model would stream."""
    for piece in re.split(r"(?<=\s)", text):
        if piece:
            yield piece


def _similar(a: str, b: str) -> bool:
    if a == b:
        return True
    ta, tb = set(analyze(a)), set(analyze(b))
    return bool(ta) and len(ta & tb) / len(ta | tb) > 0.7
