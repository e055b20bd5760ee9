"""Trainer mode (on-the-job learning aid): learning paths, quizzes, results, model answers, insights.

Everything is built from the approved policy documents at request time and works without any LLM:

- **Learning paths** (``prompts/learning_paths.yaml``): per process a list of steps in processing
  order; each step is a search query whose best hit among the path's documents becomes the step (a
  short explanation drawn from the section plus its citation). Only departments the principal may see.
- **Quizzes**: cloze and multiple-choice questions cut from sentences of those sections (deadlines,
  dates, amounts, § references, key terms). A question is offered only after it was checked against
  its source: the expected answer occurs literally in the cited chunk and the prompt with the blank
  filled in is a sentence of that chunk. Quizzes are stored, expected answers stay on the server
  until the quiz is graded. Deterministic per seed.
- **Results** per learner; trainers (role ``schulung``) see those of their departments, by learning path
  and per learner under a pseudonym, by name only where the learner agreed.
- **Model answers**: a trainer turns a chat answer or a corrected text into a curated answer;
  :func:`curated_answer` (called by :meth:`Assistant.ask_stream`) prefers it for similar questions.
- **Insights** for trainers: most asked and unanswered questions, with personal data masked.

Audit events carry ids and outcomes only, never question text.
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

import yaml
from sqlalchemy import select, update

from indexer import analyze, split_sentences
from indexer.pii import scrub

from .answering import citation_dict, rule_condense
from .db import AuditEvent, Conversation, Message, utcnow
from .errors import AssistantError, ConfigurationError, NotFoundError
from .identity import Principal
from .training_models import ModelAnswer, TrainingQuiz, TrainingResult
from .visibility import restrict, visible_user_ids

log = logging.getLogger(__name__)

PATHS_FILE = Path(__file__).resolve().parents[1] / "prompts" / "learning_paths.yaml"
TRAINER_ROLE = "schulung"
BLANK = "_____"
CURATED_PROVIDER = "kuratiert"
CURATED_NOTICE = "Geprüfte Musterantwort aus der Schulung"
#: audit action recording a learner's choice to let trainers see their results by name
CONSENT_ACTION = "training_name_consent"
#: minimum similarity (weighted Dice over German-normalised terms) for a model answer to be used
MATCH_THRESHOLD = 0.6
MAX_QUESTIONS = 20
HINTS = {"frist": "Gesucht ist eine Frist oder Dauer.", "datum": "Gesucht ist ein Datum.",
         "betrag": "Gesucht ist ein Betrag oder Prozentsatz.",
         "vorschrift": "Gesucht ist eine Vorschrift (z. B. § 66 SGB I).",
         "begriff": "Gesucht ist ein Fachbegriff."}


class TrainingError(AssistantError):
    """A request the trainer mode cannot fulfil (German message; no HTTP status: see ``web_ui.errors``)."""


class TrainingConflict(TrainingError):
    """The request came too late for the object's state (a quiz already graded)."""


class ForbiddenError(TrainingError):
    """The function needs the role Schulung."""

    default_message = "Diese Funktion ist nur für Trainerinnen und Trainer (Rolle Schulung)."

    def __init__(self, message: str = default_message):
        super().__init__(message)


def require_trainer(principal: Principal) -> None:
    if TRAINER_ROLE not in principal.roles:
        raise ForbiddenError()


def _departments(principal: Principal) -> list[str] | None:
    return list(principal.departments) if principal.departments is not None else None


# ---------------------------------------------------------------------------------------------
# text helpers
# ---------------------------------------------------------------------------------------------

_EMPHASIS = re.compile(r"\*\*|__|`")
_ITEM = re.compile(r"^(?:[-*•]\s+|\d{1,2}[.)]\s+|\(\d{1,2}\)\s+)")
_FOOTER = re.compile(r"Seite \d+\s*/\s*\d+")
_ORDINAL_END = re.compile(r"(?:^|\s)\d{1,2}\.$")


def plain_text(text: str) -> str:
    """The chunk text without inline markup (bold, code): what questions are checked against."""
    return _EMPHASIS.sub("", text)


def _blocks(text: str, *, tables: bool) -> list[tuple[str, bool]]:
    """Lines of a chunk as (text, is_list_item), markup removed; table rows as "cell: cells"."""
    out: list[tuple[str, bool]] = []
    header_seen = False
    for raw in plain_text(text).splitlines():
        line = raw.strip()
        if not line:
            header_seen = False
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue
            if not header_seen:  # the header row of a table
                header_seen = True
                continue
            if tables and cells and cells[0]:
                rest = ", ".join(c for c in cells[1:] if c)
                out.append((f"{cells[0]}: {rest}" if rest else cells[0], True))
            continue
        header_seen = False
        item = bool(_ITEM.match(line))
        out.append((_ITEM.sub("", line), item))
    return out


def _sentences(block: str) -> list[str]:
    """Sentences of one block; a part ending in a bare number ("am 30.", "das 18.") is glued to the next."""
    out: list[str] = []
    for part in split_sentences(block):
        part = part.strip()
        if out and _ORDINAL_END.search(out[-1]):
            out[-1] = f"{out[-1]} {part}"
        elif part:
            out.append(part)
    return out


def explanation(text: str, limit: int = 650) -> str:
    """A short explanation drawn from a section: its first sentences and list items, in order."""
    parts: list[str] = []
    used = 0
    for block, item in _blocks(text, tables=True):
        if _FOOTER.search(block):
            block = _FOOTER.split(block)[0].rsplit(" - ", 2)[0].strip()
            if not block:
                continue
        pieces = _sentences(block)[:1] if item else _sentences(block)  # of a list item: its first sentence
        for piece in pieces:
            if used and used + len(piece) > limit:
                parts.append("…")
                return "\n".join(parts)
            parts.append(f"– {piece}" if item else piece)
            used += len(piece)
    return "\n".join(parts)


def quiz_sentences(text: str) -> list[str]:
    """Sentences of a chunk fit for a question: complete, of moderate length, not table or footer."""
    out: list[str] = []
    for block, _item in _blocks(text, tables=False):
        for s in _sentences(block):
            s = re.sub(r"^\(\d{1,2}\)\s+", "", s)
            if not (35 <= len(s) <= 260) or not s.endswith((".", "!", "?")):
                continue
            if _FOOTER.search(s) or "|" in s or len(s.split()) < 6:
                continue
            if not (s[0].isupper() or s[0] in "§"):
                continue
            out.append(s)
    return out


def _fold_ae(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


_NUMBER_WORDS = {"ein": 1, "eine": 1, "einen": 1, "einem": 1, "einer": 1, "eines": 1, "zwei": 2, "drei": 3,
                 "vier": 4, "fuenf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11,
                 "zwoelf": 12, "vierzehn": 14, "achtzehn": 18, "zwanzig": 20, "dreissig": 30, "sechzig": 60,
                 "neunzig": 90}
_UNIT_FORMS = ((re.compile(r"((?:arbeits|werk|kalender)?tag)(?:e|en|es|s)?"), r"\1"),
               (re.compile(r"(woche)n?"), r"\1"), (re.compile(r"(monat)(?:e|en|es|s)?"), r"\1"),
               (re.compile(r"(jahr)(?:e|en|es|s)?"), r"\1"), (re.compile(r"euro?"), "eur"),
               (re.compile(r"absatz|abs"), "abs"), (re.compile(r"artikel|art"), "art"))


def norm_answer(text: str) -> str:
    """Comparable form of an answer: case, whitespace, punctuation, ä/ae, number words (zwei = 2) and
    inflection of time units (Monaten = Monat) do not matter."""
    text = _fold_ae(text).replace("€", " eur ").replace("%", " prozent ")
    out: list[str] = []
    for tok in re.findall(r"[a-z0-9§]+", text):
        if tok in _NUMBER_WORDS:
            tok = str(_NUMBER_WORDS[tok])
        else:
            for rx, repl in _UNIT_FORMS:
                m = rx.fullmatch(tok)
                if m:
                    tok = m.expand(repl)
                    break
        out.append(tok)
    return "".join(out)


def norm_question(text: str) -> str:
    """Grouping key of a question: case, ä/ae, whitespace and end punctuation do not matter."""
    return " ".join(re.sub(r"[^\w\s§\[\]-]", " ", _fold_ae(text)).split())


# ---------------------------------------------------------------------------------------------
# key terms of a rule
# ---------------------------------------------------------------------------------------------

_NUM = (r"(?:\d{1,3}|[Ee]in(?:e[nmrs]?)?|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|vierzehn|"
        r"achtzehn|zwanzig|dreißig|sechzig|neunzig)")
_FRIST = re.compile(r"(?<![\w.,])" + _NUM + r"\s(?:(?:Arbeits|Werk|Kalender)?[Tt]ag(?:e|en|es)?|Wochen?|"
                    r"Monat(?:e|en|s)?|Jahr(?:e|en|es)?)\b")
_MONTHS = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
_DATUM = re.compile(r"(?<![\w.])\d{1,2}\.\s(?:" + _MONTHS + r")\b(?!\s\d{4})")
_BETRAG = re.compile(r"(?<![\w.,])\d{1,3}(?:\.\d{3})*(?:,\d{1,2})?\s?(?:EUR\b|Euro\b|€|Prozent\b|%)")
_LAW = r"(?:SGB\s(?:XII|XI|IX|X|VIII|VII|VI|IV|V|III|II|I)\b|[A-Z][A-Za-z]{1,10}(?:G|O|V|HO)\b)"
_VORSCHRIFT = re.compile(r"(?:§|Art\.)\s?\d+[a-z]?(?:\sAbs\.\s?\d+[a-z]?)?(?:\s(?:S\.|Satz)\s?\d+)?"
                         r"(?:\sNr\.\s?\d+)?\s" + _LAW)
_BOLD = re.compile(r"\*\*([^*\n]{3,40}?)[:.]?\*\*")


@dataclass(frozen=True)
class Term:
    kind: str  # frist | datum | betrag | vorschrift | begriff
    value: str
    start: int
    end: int


def extract_terms(sentence: str, key_terms: frozenset[str]) -> list[Term]:
    """Key values of a rule in one sentence: deadlines, dates, amounts, § references, key terms."""
    out: list[Term] = []
    for kind, rx in (("frist", _FRIST), ("datum", _DATUM), ("betrag", _BETRAG), ("vorschrift", _VORSCHRIFT)):
        out.extend(Term(kind, m.group(0), m.start(), m.end()) for m in rx.finditer(sentence))
    for term in key_terms:
        for m in re.finditer(r"(?<![\w-])" + re.escape(term) + r"(?![\w-])", sentence):
            out.append(Term("begriff", term, m.start(), m.end()))
    out.sort(key=lambda t: (t.start, -t.end))
    kept: list[Term] = []
    for t in out:  # no overlaps: the first (longest) wins
        if not kept or t.start >= kept[-1].end:
            kept.append(t)
    return kept


def bold_terms(text: str) -> set[str]:
    """Terms the author emphasised (``**Versagung**``): one capitalised word (hyphens allowed)."""
    out = set()
    for m in _BOLD.finditer(text):
        term = m.group(1).strip()
        if term[:1].isupper() and re.fullmatch(r"[A-Za-zÄÖÜäöüß]+(?:-[A-Za-zÄÖÜäöüß]+)*", term):
            out.add(term)
    return out


def _form_key(term: Term) -> tuple[str, str]:
    """(strict, loose) form of a value, so that distractors read like the right answer."""
    v = term.value
    if term.kind == "frist":
        unit = v.split()[-1]
        return unit, unit[-2:]
    if term.kind == "betrag":
        unit = "prozent" if ("Prozent" in v or "%" in v) else "eur"
        return unit, unit
    if term.kind == "vorschrift":
        law = re.search(_LAW + r"$", v)
        return (law.group(0) if law else ""), "§"
    if term.kind == "begriff":
        return v[-3:].lower(), ""
    return "", ""


# ---------------------------------------------------------------------------------------------
# learning paths
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepSpec:
    title: str
    query: str
    section: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class PathSpec:
    id: str
    title: str
    department: str
    description: str
    sources: tuple[str, ...]
    steps: tuple[StepSpec, ...]


@dataclass(frozen=True)
class LearningPaths:
    paths: tuple[PathSpec, ...]
    key_terms: frozenset[str]

    def get(self, path_id: str) -> PathSpec | None:
        return next((p for p in self.paths if p.id == path_id), None)


def load_learning_paths(path: Path | None = None) -> LearningPaths:
    path = Path(path or PATHS_FILE)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        paths = []
        for p in data["paths"]:
            steps = tuple(StepSpec(str(s["title"]), str(s["query"]), s.get("section"), s.get("source"))
                          for s in p["steps"])
            paths.append(PathSpec(str(p["id"]), str(p["title"]), str(p["department"]),
                                  " ".join(str(p.get("description", "")).split()),
                                  tuple(p.get("sources") or ()), steps))
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"Lernpfade fehlen oder sind ungültig: {path} ({exc})") from exc
    ids = [p.id for p in paths]
    if len(set(ids)) != len(ids):
        raise ConfigurationError(f"Lernpfade: doppelte ID in {path}")
    return LearningPaths(tuple(paths), frozenset(str(t) for t in data.get("key_terms") or ()))


def _cite(n: int, hit) -> dict:
    return citation_dict(n, hit)


# ---------------------------------------------------------------------------------------------
# model answers
# ---------------------------------------------------------------------------------------------

# frequent words of questions that carry no topic (stemmed, folded, as analyze() returns them)
_QUESTION_NOISE = frozenset({"fur", "brauch", "benotigt", "notig", "bis", "wann", "wie", "welch", "gibt", "muss",
                             "kann", "soll", "durf", "mus", "werd", "frag", "bitt"})
# words of everyday questions that mean a term of the sources ("Wie viel Zeit ..." asks for a Frist)
_QUESTION_SYNONYMS = {"zeit": "frist", "deadline": "frist", "zeitraum": "frist"}
_ASKS_FOR_DEADLINE = re.compile(r"\b(?:bis wann|wie lange|wie viel zeit|wieviel zeit|innerhalb welcher)\b")
_MAX_TERM_WEIGHT = 4.0
# separable verb prefixes (folded): "eingelegt", "einzulegen", "einlegen" meet as "einleg"
_VERB_PREFIXES = ("zuruck", "weiter", "nach", "ein", "vor", "aus", "auf", "ab", "an", "bei", "mit", "zu")


def _verb_base(term: str) -> str:
    for p in _VERB_PREFIXES:
        if term.startswith(p) and len(term) > len(p) + 4:
            rest = term[len(p):]
            if rest.startswith("zu"):
                return p + rest[2:]
            if rest.startswith("ge") and rest.endswith("t"):  # participle: eingelegt, nachgereicht
                return p + rest[2:-1]
            return term
    return term


class ModelAnswerStore:
    """Curated answers of trainers and their lookup for similar questions (see :meth:`match`)."""

    def __init__(self, Session, kb, threshold: float = MATCH_THRESHOLD):
        self.Session, self.kb, self.threshold = Session, kb, threshold
        # terms of stored questions, per index generation (their idf weights change with the index)
        self._terms_cache: dict[tuple, dict[str, float]] = {}

    def _stored_terms(self, row) -> dict[str, float]:
        catalog = getattr(self.kb, "catalog", None)
        key = (catalog.generation() if catalog is not None else None, row.id, row.question)
        found = self._terms_cache.get(key)
        if found is None:
            if len(self._terms_cache) > 10_000:
                self._terms_cache.clear()
            found = self._terms_cache[key] = self.terms(row.question)
        return found

    # -- similarity -------------------------------------------------------------------------
    def terms(self, text: str) -> dict[str, float]:
        """German-normalised terms (stemmed, umlauts folded, verb forms and compounds split) weighted
        by their idf in the sources (capped, so that one word unknown to the sources does not decide);
        parts of compounds count half."""
        own = [_verb_base(_QUESTION_SYNONYMS.get(t, t)) for t in analyze(text, compounds=False)]
        every = [_verb_base(_QUESTION_SYNONYMS.get(t, t)) for t in analyze(text)]
        if _ASKS_FOR_DEADLINE.search(_fold_ae(text)):
            own.append("frist")
        out: dict[str, float] = {}
        for t in every + own:
            if t in _QUESTION_NOISE:
                continue
            try:
                w = min(float(self.kb.idf(t)), _MAX_TERM_WEIGHT)
            except Exception:  # noqa: BLE001 - a knowledge base without idf: plain overlap
                w = 1.0
            w = max(w, 0.1) * (1.0 if t in own else 0.5)
            out[t] = max(out.get(t, 0.0), w)
        return out

    @staticmethod
    def similarity(a: dict[str, float], b: dict[str, float]) -> float:
        """Weighted Dice coefficient: shared weight over the mean weight of both questions (0..1)."""
        total = sum(a.values()) + sum(b.values())
        if not total:
            return 0.0
        shared = sum(w + b[t] for t, w in a.items() if t in b)
        return shared / total

    # -- citations --------------------------------------------------------------------------
    def _live_citations(self, citations: list[dict]) -> list[tuple[dict, object]] | None:
        """Stored citations with their current chunks; None when a cited chunk is gone."""
        out = []
        for c in citations:
            row = self.kb.chunk(c["chunk_id"])
            if row is None:
                return None
            out.append((c, row))
        return out

    def _citations_from_request(self, principal: Principal, citations: list) -> list[dict]:
        out: list[dict] = []
        for i, c in enumerate(citations, 1):
            chunk_id = c if isinstance(c, str) else (c.get("chunk_id") if isinstance(c, dict) else None)
            if not chunk_id or not isinstance(chunk_id, str):
                raise TrainingError("Jede Quelle braucht eine chunk_id.")
            row = self.kb.chunk(chunk_id)
            if row is None:
                raise TrainingError(f"Die Quelle {chunk_id} gibt es nicht (mehr).")
            if not principal.may_see(row.department):
                raise ForbiddenError("Die Antwort zitiert Quellen, die für Sie nicht freigegeben sind.")
            n = c.get("n") if isinstance(c, dict) and isinstance(c.get("n"), int) else i
            out.append(_cite(n, row))
        return out

    # -- CRUD -------------------------------------------------------------------------------
    @staticmethod
    def _view(ma: ModelAnswer) -> dict:
        return {"id": ma.id, "question": ma.question, "answer": ma.answer, "citations": json.loads(ma.citations),
                "message_id": ma.message_id, "created_by": ma.created_by, "created_at": ma.created_at.isoformat()}

    def visible(self, principal: Principal) -> list[dict]:
        """Model answers whose cited sources ``principal`` may all see, newest first."""
        with self.Session() as s:
            rows = s.scalars(select(ModelAnswer).order_by(ModelAnswer.id.desc())).all()
        return [self._view(r) for r in rows
                if all(principal.may_see(d) for d in filter(None, r.departments.split(",")))]

    def create(self, principal: Principal, *, question: str | None = None, answer: str | None = None,
               citations: list | None = None, message_id: int | None = None) -> dict:
        require_trainer(principal)
        if message_id is not None:
            with self.Session() as s:
                msg = s.get(Message, message_id)
                # only answers from the trainer's own chats: other people's questions stay private
                if msg is None or msg.role != "assistant" or msg.conversation.user_id != principal.user_id:
                    raise NotFoundError("Diese Antwort gibt es nicht (mehr) oder sie stammt nicht aus Ihren "
                                        "eigenen Gesprächen.")
                if msg.refused:
                    raise TrainingError("Eine Ablehnung kann keine Musterantwort werden.")
                asked = s.scalars(select(Message).where(Message.conversation_id == msg.conversation_id,
                                                        Message.role == "user", Message.id < msg.id)
                                  .order_by(Message.id.desc()).limit(1)).first()
                question = question or (asked.content if asked else None)
                answer = answer or msg.content
                if citations is None:
                    citations = json.loads(msg.citations or "[]")
        question = " ".join((question or "").split())
        answer = (answer or "").strip()
        if not question or not answer:
            raise TrainingError("Eine Musterantwort braucht eine Frage und einen Antworttext.")
        if not citations:
            raise TrainingError("Eine Musterantwort braucht mindestens eine Quelle.")
        cites = self._citations_from_request(principal, citations)
        departments = sorted({c["department"] for c in cites})
        with self.Session() as s:
            ma = ModelAnswer(question=question, answer=answer, citations=json.dumps(cites, ensure_ascii=False),
                             departments=",".join(departments), message_id=message_id,
                             created_by=principal.user_id)
            s.add(ma)
            s.flush()
            s.add(AuditEvent(user_id=principal.user_id, action="model_answer_created", object_id=str(ma.id),
                             outcome="ok"))
            s.commit()
            return self._view(ma)

    def delete(self, principal: Principal, answer_id: int) -> None:
        require_trainer(principal)
        with self.Session() as s:
            ma = s.get(ModelAnswer, answer_id)
            if ma is None:
                raise NotFoundError("Diese Musterantwort gibt es nicht (mehr).")
            s.delete(ma)
            s.add(AuditEvent(user_id=principal.user_id, action="model_answer_deleted", object_id=str(answer_id),
                             outcome="ok"))
            s.commit()

    # -- lookup -----------------------------------------------------------------------------
    def match(self, question: str, principal: Principal) -> dict | None:
        """The model answer for the most similar curated question (at least ``threshold``), whose
        cited sources all still exist and are visible to ``principal``; else None."""
        with self.Session() as s:
            rows = s.scalars(select(ModelAnswer)).all()
        if not rows:
            return None
        q = self.terms(question)
        if not q:
            return None
        scored = sorted(((self.similarity(q, self._stored_terms(r)), -r.id, r) for r in rows),
                        key=lambda x: (x[0], x[1]), reverse=True)
        for score, _, r in scored:
            if score < self.threshold:
                return None
            live = self._live_citations(json.loads(r.citations))
            if live is None or not all(principal.may_see(row.department) for _, row in live):
                continue
            citations = [_cite(c.get("n", i), row) for i, (c, row) in enumerate(live, 1)]
            return {"id": r.id, "question": r.question, "answer": r.answer, "citations": citations,
                    "score": round(score, 3)}
        return None


def curated_answer(assistant, question: str, principal: Principal, history: list[tuple[str, str]],
                   cancel: threading.Event | None = None) -> Iterator[dict] | None:
    """Hook of :meth:`Assistant.ask_stream`: the events of a matching curated model answer, or None
    (then the normal pipeline answers). Never raises: a failure here must not stop answering."""
    try:
        query = rule_condense(question, history) if history else question
        store = getattr(assistant, "_model_answer_store", None)
        if store is None:  # one store per assistant: its term cache outlives the request
            store = assistant._model_answer_store = ModelAnswerStore(assistant.Session, assistant.kb)
        found = store.match(query, principal)
    except Exception:  # noqa: BLE001
        log.exception("model answer lookup failed; answering normally")
        return None
    if found is None:
        return None
    return _curated_events(found, query, cancel)


def _curated_events(found: dict, query: str, cancel: threading.Event | None) -> Iterator[dict]:
    t0 = time.perf_counter()
    yield {"type": "meta", "query": query, "support": 1.0, "provider": CURATED_PROVIDER, "notice": CURATED_NOTICE,
           "model_answer_id": found["id"]}
    text = ""
    first = None
    for piece in re.findall(r"[^\n.!?]*[.!?\n]*\s*", found["answer"]):
        if not piece:
            continue
        if cancel is not None and cancel.is_set():
            break
        first = first or time.perf_counter()
        text += piece
        yield {"type": "token", "text": piece}
    cited = {int(n) for m in re.finditer(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]", text)
             for n in re.split(r"\s*[,;]\s*", m.group(1))}
    citations = [c for c in found["citations"] if c["n"] in cited] or found["citations"]
    yield {"type": "citations", "citations": citations}
    now = time.perf_counter()
    cancelled = bool(cancel is not None and cancel.is_set())
    yield {"type": "done", "answer": text.strip(), "citations": citations, "refused": False,
           "provider": CURATED_PROVIDER, "fallback": None, "notice": CURATED_NOTICE,
           "model_answer_id": found["id"], "query": query, "cancelled": cancelled,
           "timings": {"retrieval_ms": 0.0, "first_token_ms": round(((first or now) - t0) * 1000, 1),
                       "total_ms": round((now - t0) * 1000, 1)}}


# ---------------------------------------------------------------------------------------------
# the service
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Step:
    n: int
    title: str
    hit: object  # indexer Hit


class TrainingService:
    """The trainer mode over the assistant's database (``Session``) and knowledge base (``kb``)::

        training = TrainingService(assistant.Session, assistant.kb)
    """

    def __init__(self, Session, kb, *, paths_file: Path | None = None, match_threshold: float = MATCH_THRESHOLD):
        self.Session, self.kb = Session, kb
        self.catalog = load_learning_paths(paths_file)
        self.model_answers = ModelAnswerStore(Session, kb, match_threshold)
        self._cache: dict[tuple, list[_Step]] = {}
        self._lock = threading.Lock()

    # -- learning paths ---------------------------------------------------------------------
    def _generation(self):
        catalog = getattr(self.kb, "catalog", None)
        try:
            return catalog.generation() if catalog is not None else None
        except Exception:  # noqa: BLE001
            return None

    def _visible_paths(self, principal: Principal) -> list[PathSpec]:
        return [p for p in self.catalog.paths if principal.may_see(p.department)]

    def _steps(self, spec: PathSpec, principal: Principal) -> list[_Step]:
        """The path's steps for this principal: per step the best hit among the path's documents."""
        deps = _departments(principal)
        key = (spec.id, tuple(sorted(deps)) if deps is not None else None, self._generation())
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and key[2] is not None:
            return cached
        steps: list[_Step] = []
        used: set[str] = set()
        for step in spec.steps:
            allowed = (step.source,) if step.source else spec.sources
            hits = [h for h in self.kb.search(step.query, 10, departments=deps)
                    if principal.may_see(h.department) and (not allowed or h.source in allowed)
                    and h.chunk_id not in used]
            if not hits:
                continue
            hint = (step.section or "").casefold()
            hit = next((h for h in hits if hint and hint in " > ".join((*h.heading_path, h.section)).casefold()),
                       hits[0])
            used.add(hit.chunk_id)
            steps.append(_Step(len(steps) + 1, step.title, hit))
        with self._lock:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = steps
        return steps

    def _path(self, principal: Principal, path_id: str) -> PathSpec:
        spec = self.catalog.get(path_id)
        if spec is None or not principal.may_see(spec.department):
            raise NotFoundError("Diesen Lernpfad gibt es nicht oder er ist für Sie nicht freigegeben.")
        return spec

    def paths(self, principal: Principal) -> list[dict]:
        out = []
        for spec in self._visible_paths(principal):
            steps = self._steps(spec, principal)
            if steps:
                out.append({"id": spec.id, "title": spec.title, "department": spec.department,
                            "description": spec.description, "steps": len(steps)})
        return out

    def path(self, principal: Principal, path_id: str) -> dict:
        spec = self._path(principal, path_id)
        steps = self._steps(spec, principal)
        if not steps:
            raise NotFoundError("Zu diesem Lernpfad sind für Sie keine Dokumente freigegeben.")
        return {"id": spec.id, "title": spec.title, "department": spec.department, "description": spec.description,
                "steps": [{"n": st.n, "title": st.title, "text": explanation(st.hit.text),
                           "citations": [_cite(1, st.hit)]} for st in steps]}

    # -- quizzes ----------------------------------------------------------------------------
    def _candidates(self, steps: list[_Step]) -> list[dict]:
        """Every possible question of these steps, in process order, each with its source."""
        out = []
        for st in steps:
            text = st.hit.text
            bold = bold_terms(text)
            for si, sentence in enumerate(quiz_sentences(text)):
                for term in extract_terms(sentence, self.catalog.key_terms | bold):
                    out.append({"step": st.n, "pos": si, "sentence": sentence, "term": term, "hit": st.hit})
        return out

    def _pool(self, principal: Principal) -> dict[str, list[Term]]:
        """Values of every kind from all paths the principal may see (for distractors)."""
        pool: dict[str, dict[str, Term]] = {}
        for spec in self._visible_paths(principal):
            for st in self._steps(spec, principal):
                terms = self.catalog.key_terms | bold_terms(st.hit.text)
                for sentence in quiz_sentences(st.hit.text):
                    for t in extract_terms(sentence, terms):
                        pool.setdefault(t.kind, {}).setdefault(norm_answer(t.value), t)
        return {k: sorted(v.values(), key=lambda t: t.value) for k, v in pool.items()}

    @staticmethod
    def _distractors(rng: random.Random, cand: dict, pool: dict[str, list[Term]], n: int = 3) -> list[str]:
        term: Term = cand["term"]
        seen = {norm_answer(term.value)}
        in_sentence = norm_answer(cand["sentence"])
        strict, loose = _form_key(term)
        tiers: list[list[str]] = [[], [], []]
        for t in pool.get(term.kind, []):
            key = norm_answer(t.value)
            if key in seen or key in in_sentence:
                continue
            s, lo = _form_key(t)
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

    def _verify(self, q: dict) -> bool:
        """Check a question against its source before it is offered."""
        row = self.kb.chunk(q["citation"]["chunk_id"])
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

    def create_quiz(self, principal: Principal, path_id: str, count: int = 6, seed: int | None = None) -> dict:
        spec = self._path(principal, path_id)
        if not 1 <= count <= MAX_QUESTIONS:
            raise TrainingError(f"Ein Quiz hat 1 bis {MAX_QUESTIONS} Fragen.")
        seed = secrets.randbelow(2**31) if seed is None else seed
        rng = random.Random(seed)
        steps = self._steps(spec, principal)
        cands = self._candidates(steps)
        pool = self._pool(principal)
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
                q = self._question(rng, c, pool)
                if q is None or not self._verify(q):
                    continue
                chosen.append(q)
                used_sentences.add(c["sentence"])
                per_chunk[c["hit"].chunk_id] += 1
        if not chosen:
            raise TrainingError("Zu diesem Lernpfad lassen sich aus Ihren freigegebenen Dokumenten gerade keine "
                                "Quizfragen bilden.")
        chosen.sort(key=lambda q: (q["_order"]))
        for i, q in enumerate(chosen, 1):
            q["id"] = f"q{i}"
            q.pop("_order")
        with self.Session() as s:
            quiz = TrainingQuiz(user_id=principal.user_id, path_id=spec.id, seed=seed,
                                questions=json.dumps(chosen, ensure_ascii=False))
            s.add(quiz)
            s.flush()
            s.add(AuditEvent(user_id=principal.user_id, action="training_quiz_started", object_id=quiz.id,
                             outcome=spec.id[:60]))
            s.commit()
            quiz_id = quiz.id
        return {"quiz_id": quiz_id, "path_id": spec.id, "title": spec.title, "seed": seed,
                "questions": [self._public(q) for q in chosen]}

    def _question(self, rng: random.Random, cand: dict, pool: dict[str, list[Term]]) -> dict | None:
        term: Term = cand["term"]
        sentence = cand["sentence"]
        distractors = self._distractors(rng, cand, pool)
        kind = "choice" if term.kind == "begriff" else rng.choice(("cloze", "choice"))
        if kind == "choice" and len(distractors) < 2:
            if term.kind == "begriff":
                return None
            kind = "cloze"
        options = None
        if kind == "choice":
            options = distractors + [term.value]
            rng.shuffle(options)
        hit = cand["hit"]
        return {"kind": kind, "term_kind": term.kind, "prompt": sentence[:term.start] + BLANK + sentence[term.end:],
                "options": options, "answer": term.value, "sentence": sentence, "hint": HINTS[term.kind],
                "citation": _cite(1, hit), "_order": (cand["step"], cand["pos"], term.start)}

    @staticmethod
    def _public(q: dict) -> dict:
        """What the learner sees before grading: no expected answer, no source sentence."""
        return {"id": q["id"], "kind": q["kind"], "prompt": q["prompt"], "options": q["options"],
                "hint": q["hint"], "citation": q["citation"]}

    def grade(self, principal: Principal, quiz_id: str, answers: dict[str, str]) -> dict:
        with self.Session() as s:
            quiz = s.get(TrainingQuiz, quiz_id)
            if quiz is None or quiz.user_id != principal.user_id:
                raise NotFoundError("Dieses Quiz gibt es nicht (mehr).")
            questions = json.loads(quiz.questions)
            known = {q["id"] for q in questions}
            unknown = sorted(set(answers) - known)
            if unknown:
                raise TrainingError(f"Unbekannte Frage-ID: {', '.join(unknown)}.")
            done = s.execute(update(TrainingQuiz).where(TrainingQuiz.id == quiz_id, TrainingQuiz.graded_at.is_(None))
                             .values(graded_at=utcnow()))
            if done.rowcount != 1:
                raise TrainingConflict("Dieses Quiz wurde bereits ausgewertet.")
            results, details = [], []
            for q in questions:
                given = answers.get(q["id"])
                correct = given is not None and norm_answer(given) == norm_answer(q["answer"]) != ""
                c = q["citation"]
                why = f"Laut „{c['title']}“, Abschnitt „{c['section']}“: {q['sentence']}"
                results.append({"id": q["id"], "correct": correct, "expected": q["answer"], "given": given,
                                "explanation": why, "citation": c})
                details.append({"id": q["id"], "correct": correct, "given": given})
            score = sum(r["correct"] for r in results)
            spec = self.catalog.get(quiz.path_id)
            s.add(TrainingResult(quiz_id=quiz_id, user_id=principal.user_id, display_name=principal.display_name,
                                 path_id=quiz.path_id, path_title=spec.title if spec else quiz.path_id,
                                 score=score, total=len(questions), details=json.dumps(details, ensure_ascii=False)))
            s.add(AuditEvent(user_id=principal.user_id, action="training_quiz_taken", object_id=quiz_id,
                             outcome=f"{score}/{len(questions)}"))
            s.commit()
        return {"quiz_id": quiz_id, "score": score, "total": len(questions), "results": results}

    # -- results ----------------------------------------------------------------------------
    def name_consent(self, principal: Principal) -> bool:
        """Whether the learner agreed that trainers see their quiz results under their name.

        The choice is recorded as an audit event (who, when, granted/withdrawn); the latest counts."""
        with self.Session() as s:
            return principal.user_id in _consenting(s, [principal.user_id])

    def set_name_consent(self, principal: Principal, share_name: bool) -> bool:
        with self.Session() as s:
            s.add(AuditEvent(user_id=principal.user_id, action=CONSENT_ACTION, object_id=None,
                             outcome="granted" if share_name else "withdrawn"))
            s.commit()
        return share_name

    def results(self, principal: Principal, all_learners: bool = False) -> dict:
        """Own results, or (trainers, ``all_learners``) everyone's, newest first, with a summary per learner
        and per learning path (``groups``).

        Trainers see only learners of their departments (:mod:`.visibility`), and a learner's name only
        when that learner agreed (:meth:`set_name_consent`); otherwise a pseudonym ("Lernende:r 3",
        numbered by first quiz) and the day instead of the time of each quiz."""
        if all_learners:
            require_trainer(principal)
        with self.Session() as s:
            stmt = select(TrainingResult).order_by(TrainingResult.created_at.desc(), TrainingResult.id.desc())
            if all_learners:
                stmt = restrict(stmt, TrainingResult.user_id, visible_user_ids(s, principal))
            else:
                stmt = stmt.where(TrainingResult.user_id == principal.user_id)
            rows = s.scalars(stmt).all()
            named = ({r.user_id for r in rows} if not all_learners
                     else _consenting(s, sorted({r.user_id for r in rows})))
        order = sorted({r.user_id for r in rows}, key=lambda u: min((r.created_at, r.id) for r in rows
                                                                     if r.user_id == u))
        alias = {u: f"Lernende:r {i}" for i, u in enumerate(order, 1)}

        def who(r) -> dict:
            if r.user_id in named:
                return {"user_id": r.user_id, "display_name": r.display_name, "named": True}
            return {"user_id": None, "display_name": alias[r.user_id], "named": False}

        def when(r) -> str:
            return r.created_at.isoformat() if r.user_id in named else r.created_at.date().isoformat()

        results = [dict(who(r), quiz_id=r.quiz_id if r.user_id in named else None, path_id=r.path_id,
                        path_title=r.path_title, score=r.score, total=r.total,
                        percent=round(100 * r.score / r.total) if r.total else 0, created_at=when(r))
                   for r in rows]
        learners: dict[str, dict] = {}
        groups: dict[str, dict] = {}
        for r in rows:
            e = learners.setdefault(r.user_id, dict(who(r), quizzes=0, score=0, total=0, last_at=when(r), paths=[]))
            e["quizzes"] += 1
            e["score"] += r.score
            e["total"] += r.total
            if r.path_title not in e["paths"]:
                e["paths"].append(r.path_title)
            g = groups.setdefault(r.path_id, {"path_id": r.path_id, "path_title": r.path_title, "quizzes": 0,
                                              "learners": set(), "score": 0, "total": 0})
            g["quizzes"] += 1
            g["learners"].add(r.user_id)
            g["score"] += r.score
            g["total"] += r.total
        for e in list(learners.values()) + list(groups.values()):
            e["percent"] = round(100 * e["score"] / e["total"]) if e["total"] else 0
        for g in groups.values():
            g["learners"] = len(g["learners"])
        return {"results": results,
                "learners": sorted(learners.values(), key=lambda e: (not e["named"], e["display_name"].casefold())),
                "groups": sorted(groups.values(), key=lambda g: g["path_title"].casefold()),
                "names_shown_with_consent_only": all_learners}

    # -- model answers ----------------------------------------------------------------------
    def list_model_answers(self, principal: Principal) -> list[dict]:
        return self.model_answers.visible(principal)

    def create_model_answer(self, principal: Principal, **kw) -> dict:
        return self.model_answers.create(principal, **kw)

    def delete_model_answer(self, principal: Principal, answer_id: int) -> None:
        self.model_answers.delete(principal, answer_id)

    # -- insights ---------------------------------------------------------------------------
    def insights(self, principal: Principal, date_from: date | None = None, date_to: date | None = None,
                 limit: int = 20) -> dict:
        """Most asked questions and questions Lotse could not answer, personal data masked.

        The period defaults to the last 30 days; ``date_to`` is inclusive."""
        require_trainer(principal)
        date_to = date_to or datetime.now(timezone.utc).date()
        date_from = date_from or date_to - timedelta(days=29)
        if date_from > date_to:
            raise TrainingError("Der Zeitraum ist ungültig: „von“ liegt nach „bis“.")
        start = datetime.combine(date_from, dtime.min, tzinfo=timezone.utc)
        end = datetime.combine(date_to + timedelta(days=1), dtime.min, tzinfo=timezone.utc)
        with self.Session() as s:
            visible = visible_user_ids(s, principal)  # questions of people of other departments stay hidden
            asked = s.execute(restrict(select(Message.id, Message.conversation_id, Message.content)
                                       .join(Conversation, Conversation.id == Message.conversation_id)
                                       .where(Message.role == "user", Message.created_at >= start,
                                              Message.created_at < end), Conversation.user_id, visible)).all()
            refused = s.execute(restrict(select(Message.id, Message.conversation_id)
                                         .join(Conversation, Conversation.id == Message.conversation_id)
                                         .where(Message.role == "assistant", Message.refused.is_(True),
                                                Message.created_at >= start, Message.created_at < end),
                                         Conversation.user_id, visible)).all()
            convs = {cid for _, cid in refused}
            users_in = s.execute(select(Message.id, Message.conversation_id, Message.content)
                                 .where(Message.role == "user", Message.conversation_id.in_(convs))).all() \
                if convs else []
            s.add(AuditEvent(user_id=principal.user_id, action="training_insights_viewed", object_id=None,
                             outcome="ok"))
            s.commit()
        by_conv: dict[str, list[tuple[int, str]]] = {}
        for mid, cid, content in users_in:
            by_conv.setdefault(cid, []).append((mid, content))
        unanswered = []
        for mid, cid in refused:
            before = [m for m in by_conv.get(cid, []) if m[0] < mid]
            if before:
                unanswered.append(max(before)[1])
        return {"from": date_from.isoformat(), "to": date_to.isoformat(),
                "top_questions": _group([c for _, _, c in asked], limit),
                "unanswered": _group(unanswered, limit)}


def _consenting(s, user_ids: list[str]) -> set[str]:
    """Those of ``user_ids`` whose latest consent event says 'granted'."""
    if not user_ids:
        return set()
    latest: dict[str, str] = {}
    for user_id, outcome in s.execute(select(AuditEvent.user_id, AuditEvent.outcome)
                                      .where(AuditEvent.action == CONSENT_ACTION, AuditEvent.user_id.in_(user_ids))
                                      .order_by(AuditEvent.at, AuditEvent.id)):
        latest[user_id] = outcome
    return {u for u, outcome in latest.items() if outcome == "granted"}


def _group(questions: list[str], limit: int) -> list[dict]:
    """Questions with personal data masked, grouped by normalised text, most frequent first."""
    counts: Counter = Counter()
    shown: dict[str, Counter] = {}
    for q in questions:
        masked = " ".join(scrub(q)[0].split())
        key = norm_question(masked)
        if not key:
            continue
        counts[key] += 1
        shown.setdefault(key, Counter())[masked] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"question": shown[k].most_common(1)[0][0], "count": n} for k, n in ranked]
