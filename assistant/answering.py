"""The answer pipeline: condense -> retrieve -> support check -> provider -> citation check.

Yields events (the models of :mod:`assistant.events`) so that the CLI, REST/SSE and WebSocket stream the
same thing: ``meta``, ``token``*, optionally ``replace``, ``citations``, ``done``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from indexer import Hit, KnowledgeBase
from indexer.passages import units
from indexer.text import CITE, cited_numbers

from .answerability import RefusalModel, Verdict, assess, embedder_name
from .config import AssistantConfig
from .errors import ProviderError
from .events import CitationsEvent, DoneEvent, MetaEvent, ReplaceEvent, StreamEvent, TokenEvent
from .identity import Principal
from .prompts import Prompts
from .providers.base import DEFAULT_TIMEOUT_S, Provider
from .providers.extractive import ExtractiveProvider, words
from .question_types import question_type

log = logging.getLogger(__name__)

_FOLLOWUP = re.compile(r"^(und|aber|was ist mit|wie ist es mit|gilt das|auch)\b|\b(dafür|dazu|davon|hierfür|"
                       r"deren|dessen|damit|darauf|dabei|diese[rsmn]?|dies|das gleiche|ebenso)\b", re.I)
# pronouns and particles that refer to the conversation (lower case only: "Sie" is the polite form)
_ANAPHOR = re.compile(r"\b(er|sie|ihm|ihn|ihr|ihnen|dann|trotzdem|stattdessen|da)\b")
# a noun of the question's own: a capitalised word that does not start the question
_OWN_NOUN = re.compile(r"(?<!^)(?<![.?!:]\s)\b[A-ZÄÖÜ][a-zäöüß]+")


class KnowledgeBaseRetriever(BaseRetriever):
    """LangChain retriever over Lotse's hybrid search, restricted to the principal's departments."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    kb: KnowledgeBase
    k: int = 5
    departments: list[str] | None = None

    def hits(self, query: str) -> list[Hit]:
        return self.kb.search(query, self.k, departments=self.departments)

    def _get_relevant_documents(self, query: str, *, run_manager=None) -> list[Document]:
        return [Document(page_content=h.text, metadata=h.as_dict()) for h in self.hits(query)]


class CitationFilter:
    """Streams text through, dropping citation numbers that were not in the model's context."""

    def __init__(self, valid: int):
        self.valid = valid
        self._buf = ""

    def _clean(self, text: str) -> str:
        def fix(m: re.Match) -> str:
            nums = [n for n in re.split(r"\s*[,;]\s*", m.group(1)) if 1 <= int(n) <= self.valid]
            return "[" + ", ".join(nums) + "]" if nums else ""
        return CITE.sub(fix, text)

    def feed(self, token: str) -> str:
        self._buf += token
        cut = self._buf.rfind("[")
        if cut != -1 and "]" not in self._buf[cut:] and len(self._buf) - cut < 12:
            out, self._buf = self._buf[:cut], self._buf[cut:]
        else:
            out, self._buf = self._buf, ""
        return self._clean(out)

    def flush(self) -> str:
        out, self._buf = self._clean(self._buf), ""
        return out


def citation_dict(n: int, hit: Hit) -> dict:
    return {"n": n, "source": hit.source, "title": hit.title, "section": hit.section, "page": hit.page,
            "chunk_id": hit.chunk_id, "department": hit.department, "url": f"/api/sources/{hit.chunk_id}"}


def rule_condense(question: str, history: list[tuple[str, str]]) -> str:
    """Without an LLM: a follow-up is read together with the previous question.

    A question is a follow-up when it points back ("Und wenn ...", "dafür", "Muss er dann ...") or is
    short and names no thing of its own ("Bis wann?"). A short question with a noun of its own and no
    pointer back ("Wie hoch ist die Zugspitze?") is a new question, not a continuation.
    """
    last_user = next((c for r, c in reversed(history) if r == "user"), "")
    if not last_user:
        return question
    points_back = bool(_FOLLOWUP.search(question) or _ANAPHOR.search(question))
    short_without_topic = len(question.split()) <= 8 and not _OWN_NOUN.search(question)
    if points_back or short_without_topic:
        return f"{question} {last_user}"
    return question


class AnswerPipeline:
    def __init__(self, cfg: AssistantConfig, kb: KnowledgeBase, prompts: Prompts, provider: Provider,
                 extractive: ExtractiveProvider):
        self.cfg, self.kb, self.prompts, self.provider, self.extractive = cfg, kb, prompts, provider, extractive
        self.refusal_model = RefusalModel.load(cfg.refusal_model) if cfg.refusal_model else None
        if self.refusal_model is not None and embedder_name(kb.embedder.model_id) != self.refusal_model.embedder:
            log.warning("refusal model %s was fitted for the embedder %s, this index uses %s: recalibrate "
                        "(benchmarks/calibrate_refusal.py --write)", cfg.refusal_model, self.refusal_model.embedder,
                        kb.embedder.model_id)

    def condense(self, question: str, history: list[tuple[str, str]]) -> str:
        if not history:
            return question
        if self.provider.is_llm:
            out = self.provider.condense(question, history)
            if out:
                return out
        return rule_condense(question, history)

    def judge(self, standalone: str, qtype: str, departments: list[str] | None,
              all_signals: bool = False) -> tuple[list[Hit], Verdict]:
        """Retrieve the passages for ``standalone`` and decide whether they answer it. The best sentence
        similarity is computed only for a refusal model (or ``all_signals``, for its calibration)."""
        hits = KnowledgeBaseRetriever(kb=self.kb, k=self.cfg.top_k, departments=departments).hits(standalone)
        # the answerability signals are lexical (BM25 support, term coverage, anchors): they are judged on
        # the lexical ranking, so refusals do not depend on the embedder or the fusion weight
        judged = self.kb.search(standalone, self.cfg.top_k, departments=departments, mode="lexical")
        best_unit = None
        if hits and (self.refusal_model is not None or all_signals):
            # the one sentence, item or row closest in meaning to the question (retrieval embedders)
            sims = [self.kb.unit_similarities(standalone, h, units(h.text, n)) for n, h in enumerate(hits[:3], 1)]
            best_unit = max((max(s) for s in sims if s), default=None)
        verdict = assess(standalone, judged or hits, self.kb, qtype, self.cfg.refusal_threshold,
                         min_dense=self.cfg.refusal_min_dense, nearest=max((h.dense for h in hits), default=0.0),
                         best_unit=best_unit, model=self.refusal_model)
        return hits, verdict

    def run(self, question: str, principal: Principal, history: list[tuple[str, str]] | None = None,
            cancel: threading.Event | None = None) -> Iterator[StreamEvent]:
        t0 = time.perf_counter()
        history = history or []
        standalone = self.condense(question, history)
        departments = list(principal.departments) if principal.departments is not None else None
        qtype = question_type(question)
        if qtype == "other" and standalone != question:
            qtype = question_type(standalone)
        hits, verdict = self.judge(standalone, qtype, departments)
        t_retrieval = time.perf_counter()
        yield MetaEvent(query=standalone, support=verdict.score, question_type=qtype, provider=self.provider.name,
                        departments=self.kb.visible_departments(departments))

        timings = {"retrieval_ms": round((t_retrieval - t0) * 1000, 1)}
        if not verdict.answerable:
            yield from self._refuse(hits, timings, t0)
            return

        # for quoting, a follow-up's own words count three times: they say what is asked now
        focus = standalone if standalone == question else f"{question} {question} {standalone}"
        provider_name, fallback, replaced = self.provider.name, None, False
        text = ""
        first_token = None
        if self.provider.is_llm:
            filt = CitationFilter(len(hits))
            # declared by the Provider protocol; a plug-in provider without it gets the default
            deadline = time.monotonic() + getattr(self.provider, "timeout_s", DEFAULT_TIMEOUT_S)
            try:
                for token in self.provider.stream(standalone, hits):
                    if cancel is not None and cancel.is_set():
                        break
                    if time.monotonic() > deadline:
                        raise ProviderError("Zeitüberschreitung beim Sprachmodell")
                    piece = filt.feed(token)
                    if piece:
                        first_token = first_token or time.perf_counter()
                        text += piece
                        yield TokenEvent(text=piece)
                tail = filt.flush()
                if tail:
                    text += tail
                    yield TokenEvent(text=tail)
            except ProviderError as exc:
                log.warning("provider %s failed, falling back to extractive", self.provider.name)
                fallback = exc.message
            if fallback is None and not (cancel is not None and cancel.is_set()):
                if not cited_numbers(text):
                    fallback = "Antwort ohne gültige Quellenangabe verworfen"
                    replaced = bool(text)
            if fallback is not None:
                notice = (self.prompts.extractive["invalid_citations_notice"] if replaced or "Quellenangabe" in fallback
                          else self.prompts.extractive["fallback_notice"].format(reason=fallback))
                composed, hits = self.extractive.answer(focus, hits, dense_query=standalone)
                text = composed + "\n\n" + notice
                provider_name = f"extractive (Ersatz für {self.provider.name})"
                first_token = first_token or time.perf_counter()
                yield ReplaceEvent(text=text, reason=fallback)
        else:
            composed, hits = self.extractive.answer(focus, hits, dense_query=standalone)
            for piece in words(composed):
                if cancel is not None and cancel.is_set():
                    break
                first_token = first_token or time.perf_counter()
                text += piece
                yield TokenEvent(text=piece)

        citations = [citation_dict(n, hits[n - 1]) for n in cited_numbers(text) if 1 <= n <= len(hits)]
        yield CitationsEvent(citations=citations)
        now = time.perf_counter()
        timings.update(first_token_ms=round(((first_token or now) - t0) * 1000, 1), total_ms=round((now - t0) * 1000, 1))
        yield DoneEvent(answer=text.strip(), citations=citations, refused=False, provider=provider_name,
                        fallback=fallback, timings=timings, query=standalone,
                        cancelled=bool(cancel is not None and cancel.is_set()))

    def _refuse(self, hits: list[Hit], timings: dict, t0: float) -> Iterator[StreamEvent]:
        text = self.prompts.refusal
        suggestions = []
        seen = set()
        for h in hits:
            if h.source not in seen:
                seen.add(h.source)
                suggestions.append({"source": h.source, "title": h.title, "section": h.section, "page": h.page,
                                    "chunk_id": h.chunk_id, "url": f"/api/sources/{h.chunk_id}"})
        if suggestions:
            text += "\n\n" + self.prompts.extractive["closest_documents"] + "\n" + "\n".join(
                f"- {s['title']} ({s['section']})" for s in suggestions[:3])
        yield TokenEvent(text=text)
        yield CitationsEvent(citations=[])
        now = time.perf_counter()
        timings.update(first_token_ms=round((now - t0) * 1000, 1), total_ms=round((now - t0) * 1000, 1))
        yield DoneEvent(answer=text, citations=[], refused=True, suggestions=suggestions[:3], provider="extractive",
                        fallback=None, timings=timings, cancelled=False)
