"""The front of the assistant layer: answers with conversations, audit, and the knowledge base."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.engine import Engine

from indexer import KnowledgeBase
from indexer.text import shift_citations

from .answering import AnswerPipeline
from .config import AssistantConfig, ExtractiveConfig
from .db import AuditEvent, Conversation, Message, make_engine, make_sessionmaker
from .errors import ConfigurationError, NotFoundError
from .events import ConversationEvent, DoneEvent, SavedEvent, StreamEvent, parse_event
from .identity import Principal
from .privacy import mask
from .prompts import load_prompts
from .providers import build_provider
from .providers.extractive import ExtractiveProvider
from .training import CuratedAnswers, ModelAnswerStore

log = logging.getLogger(__name__)


class Assistant:
    """Builds the answer pipeline from configuration; all collaborators can be injected."""

    def __init__(self, cfg: AssistantConfig, llm_cfg, kb: KnowledgeBase, database_url: str | Engine, *,
                 provider=None, efile=None, curated: CuratedAnswers | None = None):
        """``database_url``: the database's URL, or an engine shared with the other services; ``curated``:
        the step that may answer with a trainer's model answer before the pipeline (default: from the
        model answers in this database)."""
        self.cfg, self.kb, self.efile = cfg, kb, efile
        self.prompts = load_prompts(cfg.prompts_dir)
        self.extractive = ExtractiveProvider(ExtractiveConfig(), self.prompts, idf=kb.idf,
                                             similarity=kb.unit_similarities)
        if provider is None:
            if llm_cfg.kind == "extractive":
                provider = ExtractiveProvider(llm_cfg, self.prompts, idf=kb.idf, similarity=kb.unit_similarities)
            else:
                try:
                    provider = build_provider(llm_cfg, self.prompts, idf=kb.idf)
                except ConfigurationError:
                    raise
                if hasattr(llm_cfg, "timeout_s"):
                    provider.timeout_s = llm_cfg.timeout_s
        self.provider = provider
        self.pipeline = AnswerPipeline(cfg, kb, self.prompts, provider, self.extractive)
        self.engine = make_engine(database_url) if isinstance(database_url, str) else database_url
        self.Session = make_sessionmaker(self.engine)
        self.curated = curated or CuratedAnswers(ModelAnswerStore(self.Session, kb))

    # -- answering ---------------------------------------------------------------
    def ask_stream(self, question: str, principal: Principal, conversation_id: str | None = None,
                   cancel: threading.Event | None = None) -> Iterator[StreamEvent]:
        """The events of the answer (:mod:`assistant.events`): conversation, meta, token*, replace?,
        citations, done, saved."""
        question = question.strip()
        history: list[tuple[str, str]] = []
        with self.Session() as s:
            if conversation_id:
                conv = self._own(s, principal, conversation_id)
                history = [(m.role, m.content) for m in conv.messages][-6:]
            else:
                # the title is shown in the list and kept: personal data masked (assistant.privacy)
                conv = Conversation(user_id=principal.user_id, title=mask(question)[:120] or "Neue Frage")
                s.add(conv)
                s.commit()
            conv_id = conv.id
        yield ConversationEvent(conversation_id=conv_id)
        final: DoneEvent | None = None
        # trainer mode: a curated model answer for a similar question is preferred (None: normal pipeline)
        events = self.curated(question, principal, history, cancel)
        for ev in events if events is not None else self.pipeline.run(question, principal, history, cancel):
            ev = parse_event(ev)  # the curated answer's events come as plain dicts
            if isinstance(ev, DoneEvent):
                final = ev
            yield ev
        if final is None:
            return
        with self.Session() as s:
            conv = s.get(Conversation, conv_id)
            s.add(Message(conversation_id=conv_id, role="user", content=question, standalone_query=final.query))
            msg = Message(conversation_id=conv_id, role="assistant", content=final.answer,
                          citations=final.to_dict()["citations"],
                          provider=final.provider, fallback=final.fallback, refused=final.refused,
                          cancelled=final.cancelled)
            s.add(msg)
            conv.updated_at = datetime.now(timezone.utc)
            s.add(AuditEvent(user_id=principal.user_id, action="answer", object_id=conv_id,
                             outcome="refused" if final.refused else ("fallback" if final.fallback else "answered")))
            s.commit()
            yield SavedEvent(message_id=msg.id, conversation_id=conv_id)

    def ask(self, question: str, principal: Principal, conversation_id: str | None = None) -> dict:
        """The complete answer: the ``done`` event's fields with ``conversation_id`` and ``message_id``."""
        result: dict = {}
        for ev in self.ask_stream(question, principal, conversation_id):
            if isinstance(ev, DoneEvent):
                result = ev.to_dict()
            elif isinstance(ev, (ConversationEvent, SavedEvent)):
                result["conversation_id"] = ev.conversation_id
                if isinstance(ev, SavedEvent):
                    result["message_id"] = ev.message_id
        result.pop("type", None)
        return result

    def ask_case(self, aktenzeichen: str, question: str, principal: Principal) -> dict:
        """Answer about one e-file case: its documents vs. the procedure's checklist, then the policy answer."""
        from .answering import citation_dict
        from .casework import CASE_UNAVAILABLE, checklist_items, missing_documents, read_case

        facts = read_case(self.efile, aktenzeichen, self.kb.cfg.default_department)
        if not principal.may_see(facts.department):
            raise NotFoundError(CASE_UNAVAILABLE)
        items = checklist_items(self.kb, facts)
        missing = missing_documents(items, facts.present)
        refs: list = []

        def cite(hit) -> int:
            for i, h in enumerate(refs, 1):
                if h.chunk_id == hit.chunk_id:
                    return i
            refs.append(hit)
            return len(refs)

        lines = [f"Akte {facts.aktenzeichen} ({facts.procedure_type or 'Verfahren unbekannt'}, Status: {facts.state}).",
                 "Vorhandene Unterlagen: " + (", ".join(facts.present) or "keine") + "."]
        if items:
            if missing:
                lines.append("Laut Checkliste noch nicht in der Akte (bitte prüfen, ob sie im Einzelfall nötig sind):")
                lines.extend(f"- {item} [{cite(hit)}]" for item, hit in missing)
            else:
                lines.append(f"Alle Unterlagen der Checkliste sind vorhanden [{cite(items[0][1])}].")
        else:
            lines.append("Für dieses Verfahren ist keine Checkliste in den freigegebenen Quellen hinterlegt.")
        policy = self.ask(f"{question} {facts.procedure_type or ''}".strip(), principal)
        offset = len(refs)
        answer = "\n".join(lines)
        citations = [citation_dict(i, h) for i, h in enumerate(refs, 1)]
        if not policy.get("refused"):
            answer += "\n\n" + shift_citations(policy["answer"], offset)
            citations += [dict(c, n=c["n"] + offset) for c in policy["citations"]]
        return {"answer": answer, "citations": citations, "refused": False, "provider": policy["provider"],
                "fallback": policy.get("fallback"), "case": {"aktenzeichen": facts.aktenzeichen,
                "procedure_type": facts.procedure_type, "state": facts.state, "present": list(facts.present),
                "missing": [m for m, _ in missing]}, "conversation_id": policy.get("conversation_id")}

    # -- conversations -------------------------------------------------------------
    def _own(self, s, principal: Principal, conversation_id: str) -> Conversation:
        conv = s.get(Conversation, conversation_id)
        if conv is None or conv.user_id != principal.user_id:
            raise NotFoundError("Dieses Gespräch gibt es nicht (mehr).")
        return conv

    def list_conversations(self, principal: Principal) -> list[dict]:
        with self.Session() as s:
            rows = s.scalars(select(Conversation).where(Conversation.user_id == principal.user_id)
                             .order_by(Conversation.updated_at.desc())).all()
            return [{"id": c.id, "title": mask(c.title), "updated_at": c.updated_at.isoformat(),
                     "messages": len(c.messages)} for c in rows]

    def get_conversation(self, principal: Principal, conversation_id: str) -> dict:
        with self.Session() as s:
            c = self._own(s, principal, conversation_id)
            return {"id": c.id, "title": mask(c.title), "messages": [
                {"id": m.id, "role": m.role, "content": m.content, "citations": m.citations,
                 "provider": m.provider, "refused": m.refused, "fallback": m.fallback,
                 "created_at": m.created_at.isoformat()} for m in c.messages]}

    def delete_conversation(self, principal: Principal, conversation_id: str) -> None:
        with self.Session() as s:
            c = self._own(s, principal, conversation_id)
            s.delete(c)
            s.add(AuditEvent(user_id=principal.user_id, action="conversation_deleted", object_id=conversation_id,
                             outcome="ok"))
            s.commit()

    def source(self, principal: Principal, chunk_id: str) -> dict:
        row = self.kb.chunk(chunk_id)
        if row is None or not self.kb.may_see(principal.departments, row.department, row.doc_type):
            raise NotFoundError("Diese Quelle gibt es nicht oder sie ist für Sie nicht freigegeben.")
        return {"chunk_id": row.chunk_id, "source": row.source, "title": row.title, "section": row.section,
                "heading_path": list(row.heading_path), "page": row.page, "department": row.department,
                "doc_type": row.doc_type, "text": row.text}

    # -- what the web layer asks besides answers (so it never reaches into the knowledge base or database) --
    def index_stats(self) -> dict:
        """Documents, chunks, errors and warnings of the index."""
        return self.kb.stats()

    def search(self, principal: Principal, query: str, k: int) -> list:
        """Search hits for ``query`` among the sources ``principal`` may see (no answer)."""
        deps = list(principal.departments) if principal.departments is not None else None
        return self.kb.search(query, k, departments=deps)

    @property
    def feedback(self):
        """Ratings of answers (:class:`assistant.feedback.FeedbackStore` on this assistant's database)."""
        from .feedback import FeedbackStore

        return FeedbackStore(self.Session)

    @property
    def efile_connected(self) -> bool:
        return self.efile is not None

    def case_facts(self, aktenzeichen: str):
        """The non-personal facts of a case in the e-file (:class:`assistant.casework.CaseFacts`), None if
        the e-file does not know it."""
        from .casework import read_case

        try:
            return read_case(self.efile, aktenzeichen, self.kb.cfg.default_department)
        except NotFoundError:
            return None

    def audit_events(self, principal: Principal, *, user: str | None = None, action: str | None = None,
                     start=None, end=None, limit: int = 500) -> list[dict]:
        """Audit events, newest first, of the people ``principal`` may see (``assistant.visibility``);
        ``start``/``end``: datetimes (end exclusive)."""
        from .visibility import restrict, visible_user_ids

        q = select(AuditEvent).order_by(AuditEvent.at.desc()).limit(limit)
        if user:
            q = q.where(AuditEvent.user_id == user)
        if action:
            q = q.where(AuditEvent.action == action)
        if start is not None:
            q = q.where(AuditEvent.at >= start)
        if end is not None:
            q = q.where(AuditEvent.at < end)
        with self.Session() as s:
            q = restrict(q, AuditEvent.user_id, visible_user_ids(s, principal))  # own departments only
            return [{"at": e.at.isoformat(), "user_id": e.user_id, "action": e.action, "object_id": e.object_id,
                     "outcome": e.outcome} for e in s.scalars(q).all()]
