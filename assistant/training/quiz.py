"""Quizzes: cloze and multiple-choice questions cut from sentences of a learning path's sections
(deadlines, dates, amounts, § references, key terms).

A question is offered only after it was checked against its source (:func:`verify`): the expected answer
occurs literally in the cited chunk and the prompt with the blank filled in is a sentence of that chunk.
Expected answers stay on the server until the quiz is graded (:func:`public`). Deterministic per seed."""

from __future__ import annotations

import random
from collections import Counter

from ..answering import citation_dict
from .paths import Step
from .text import Term, bold_terms, extract_terms, form_key, norm_answer, plain_text, quiz_sentences

BLANK = "_____"
MAX_QUESTIONS = 20
HINTS = {"frist": "Gesucht ist eine Frist oder Dauer.", "datum": "Gesucht ist ein Datum.",
         "betrag": "Gesucht ist ein Betrag oder Prozentsatz.",
         "vorschrift": "Gesucht ist eine Vorschrift (z. B. § 66 SGB I).",
         "begriff": "Gesucht ist ein Fachbegriff."}


def candidates(steps: list[Step], key_terms: frozenset[str]) -> list[dict]:
    """Every possible question of these steps, in process order, each with its source."""
    out = []
    for st in steps:
        text = st.hit.text
        bold = bold_terms(text)
        for si, sentence in enumerate(quiz_sentences(text)):
            for term in extract_terms(sentence, key_terms | bold):
                out.append({"step": st.n, "pos": si, "sentence": sentence, "term": term, "hit": st.hit})
    return out


def value_pool(steps: list[Step], key_terms: frozenset[str]) -> dict[str, list[Term]]:
    """Values of every kind from these steps (for distractors)."""
    pool: dict[str, dict[str, Term]] = {}
    for st in steps:
        terms = key_terms | bold_terms(st.hit.text)
        for sentence in quiz_sentences(st.hit.text):
            for t in extract_terms(sentence, terms):
                pool.setdefault(t.kind, {}).setdefault(norm_answer(t.value), t)
    return {k: sorted(v.values(), key=lambda t: t.value) for k, v in pool.items()}


def distractors(rng: random.Random, cand: dict, pool: dict[str, list[Term]], n: int = 3) -> list[str]:
    term: Term = cand["term"]
    seen = {norm_answer(term.value)}
    in_sentence = norm_answer(cand["sentence"])
    strict, loose = form_key(term)
    tiers: list[list[str]] = [[], [], []]
    for t in pool.get(term.kind, []):
        key = norm_answer(t.value)
        if key in seen or key in in_sentence:
            continue
        s, lo = form_key(t)
        if term.kind == "betrag" and s != strict:
            continue  # no percentages among amounts of money
        tiers[0 if s == strict else (1 if lo and lo == loose else 2)].append(t.value)
    out: list[str] = []
    for tier in tiers:
        rng.shuffle(tier)
        for v in tier:
            if len(out) >= n:
                return out
            if norm_answer(v) not in seen:
                seen.add(norm_answer(v))
                out.append(v)
    return out


def verify(kb, q: dict) -> bool:
    """Check a question against its source before it is offered."""
    row = kb.chunk(q["citation"]["chunk_id"])
    if row is None:
        return False
    prompt, answer, sentence = q["prompt"], q["answer"], q["sentence"]
    if prompt.count(BLANK) != 1 or answer not in row.text:
        return False
    if prompt.replace(BLANK, answer, 1) != sentence or sentence not in plain_text(row.text):
        return False
    if norm_answer(answer) in norm_answer(prompt.replace(BLANK, " ")):
        return False  # the answer would be given away by the rest of the sentence
    if q["options"] is not None:
        keys = [norm_answer(o) for o in q["options"]]
        if keys.count(norm_answer(answer)) != 1 or len(set(keys)) != len(keys):
            return False
    return True


def question(rng: random.Random, cand: dict, pool: dict[str, list[Term]]) -> dict | None:
    term: Term = cand["term"]
    sentence = cand["sentence"]
    others = distractors(rng, cand, pool)
    kind = "choice" if term.kind == "begriff" else rng.choice(("cloze", "choice"))
    if kind == "choice" and len(others) < 2:
        if term.kind == "begriff":
            return None
        kind = "cloze"
    options = None
    if kind == "choice":
        options = others + [term.value]
        rng.shuffle(options)
    hit = cand["hit"]
    return {"kind": kind, "term_kind": term.kind, "prompt": sentence[:term.start] + BLANK + sentence[term.end:],
            "options": options, "answer": term.value, "sentence": sentence, "hint": HINTS[term.kind],
            "citation": citation_dict(1, hit), "_order": (cand["step"], cand["pos"], term.start)}


def choose(kb, rng: random.Random, cands: list[dict], pool: dict[str, list[Term]], count: int) -> list[dict]:
    """Up to ``count`` verified questions, spread over the sections, in process order, numbered q1, q2, …"""
    order = list(range(len(cands)))
    rng.shuffle(order)
    chosen: list[dict] = []
    used_sentences: set[str] = set()
    per_chunk: Counter = Counter()
    for rnd in range(1, 4):  # spread over the sections first: at most rnd questions per section
        for i in order:
            if len(chosen) >= count:
                break
            c = cands[i]
            if c["sentence"] in used_sentences or per_chunk[c["hit"].chunk_id] >= rnd:
                continue
            q = question(rng, c, pool)
            if q is None or not verify(kb, q):
                continue
            chosen.append(q)
            used_sentences.add(c["sentence"])
            per_chunk[c["hit"].chunk_id] += 1
    chosen.sort(key=lambda q: (q["_order"]))
    for i, q in enumerate(chosen, 1):
        q["id"] = f"q{i}"
        q.pop("_order")
    return chosen


def public(q: dict) -> dict:
    """What the learner sees before grading: no expected answer, no source sentence."""
    return {"id": q["id"], "kind": q["kind"], "prompt": q["prompt"], "options": q["options"],
            "hint": q["hint"], "citation": q["citation"]}


def grade_questions(questions: list[dict], answers: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """(results shown to the learner, details stored with the result) of ``answers`` by question id."""
    results, details = [], []
    for q in questions:
        given = answers.get(q["id"])
        correct = given is not None and norm_answer(given) == norm_answer(q["answer"]) != ""
        c = q["citation"]
        why = f"Laut „{c['title']}“, Abschnitt „{c['section']}“: {q['sentence']}"
        results.append({"id": q["id"], "correct": correct, "expected": q["answer"], "given": given,
                        "explanation": why, "citation": c})
        details.append({"id": q["id"], "correct": correct, "given": given})
    return results, details
