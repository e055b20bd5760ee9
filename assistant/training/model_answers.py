"""Model answers: a trainer turns a chat answer or a corrected text into a curated answer;
:class:`CuratedAnswers` (the step before :meth:`Assistant.ask_stream`'s pipeline) prefers it for similar
questions."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator

from sqlalchemy import select

from indexer import analyze

from ..answering import citation_dict, rule_condense
from ..db import AuditEvent, Message
from ..errors import NotFoundError
from ..identity import Principal
from ..training_models import ModelAnswer
from .errors import ForbiddenError, TrainingError, require_trainer
from .text import fold_ae

log = logging.getLogger(__name__)

CURATED_PROVIDER = "kuratiert"
CURATED_NOTICE = "Geprüfte Musterantwort aus der Schulung"
#: minimum similarity (weighted Dice over German-normalised terms) for a model answer to be used
MATCH_THRESHOLD = 0.6

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
        if _ASKS_FOR_DEADLINE.search(fold_ae(text)):
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
            out.append(citation_dict(n, row))
        return out

    # -- CRUD -------------------------------------------------------------------------------
    @staticmethod
    def _view(ma: ModelAnswer) -> dict:
        return {"id": ma.id, "question": ma.question, "answer": ma.answer, "citations": ma.citations,
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
                    citations = msg.citations or []
        question = " ".join((question or "").split())
        answer = (answer or "").strip()
        if not question or not answer:
            raise TrainingError("Eine Musterantwort braucht eine Frage und einen Antworttext.")
        if not citations:
            raise TrainingError("Eine Musterantwort braucht mindestens eine Quelle.")
        cites = self._citations_from_request(principal, citations)
        departments = sorted({c["department"] for c in cites})
        with self.Session() as s:
            ma = ModelAnswer(question=question, answer=answer, citations=cites,
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
            live = self._live_citations(r.citations)
            if live is None or not all(principal.may_see(row.department) for _, row in live):
                continue
            citations = [citation_dict(c.get("n", i), row) for i, (c, row) in enumerate(live, 1)]
            return {"id": r.id, "question": r.question, "answer": r.answer, "citations": citations,
                    "score": round(score, 3)}
        return None


class CuratedAnswers:
    """A step before the answer pipeline (trainer mode): the events of a matching curated model answer,
    or None (then the pipeline answers). Built once per assistant from a :class:`ModelAnswerStore`,
    whose term cache outlives the request."""

    def __init__(self, store: ModelAnswerStore):
        self.store = store

    def __call__(self, question: str, principal: Principal, history: list[tuple[str, str]],
                 cancel: threading.Event | None = None) -> Iterator[dict] | None:
        """Never raises: a failure here must not stop answering."""
        try:
            query = rule_condense(question, history) if history else question
            found = self.store.match(query, principal)
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
