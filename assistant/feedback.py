"""Thumbs up/down on answers, with an optional comment; reviewed by trainers and administrators."""

from __future__ import annotations

from sqlalchemy import select

from .db import AuditEvent, Conversation, Feedback, Message
from .errors import NotFoundError
from .identity import Principal
from .visibility import restrict, visible_user_ids


class FeedbackStore:
    def __init__(self, Session):
        self.Session = Session

    def add(self, principal: Principal, message_id: int, rating: str, comment: str | None) -> dict:
        """Rate one of the principal's own answers; a second rating of the same answer replaces the first."""
        with self.Session() as s:
            m = s.get(Message, message_id)
            conv = s.get(Conversation, m.conversation_id) if m is not None else None
            if m is None or m.role != "assistant" or conv is None or conv.user_id != principal.user_id:
                raise NotFoundError("Diese Antwort gibt es nicht (mehr).")
            fb = s.scalars(select(Feedback).where(Feedback.message_id == message_id,
                                                  Feedback.user_id == principal.user_id)).first()
            if fb is None:
                fb = Feedback(message_id=message_id, conversation_id=conv.id, user_id=principal.user_id, rating=0)
                s.add(fb)
            fb.rating = 1 if rating == "up" else -1
            fb.comment = (comment or "").strip()[:2000] or None
            s.add(AuditEvent(user_id=principal.user_id, action="feedback", object_id=str(message_id),
                             outcome=rating))
            s.commit()
            return {"id": fb.id, "message_id": message_id, "rating": rating, "comment": fb.comment}

    def list(self, limit: int = 200, rating: str | None = None, viewer: Principal | None = None) -> list[dict]:
        """Newest first, with the rated answer and its question (for review by trainers/administration);
        with ``viewer``, only feedback of people of the viewer's departments (:mod:`.visibility`)."""
        with self.Session() as s:
            q = select(Feedback).order_by(Feedback.created_at.desc()).limit(limit)
            if viewer is not None:
                q = restrict(q, Feedback.user_id, visible_user_ids(s, viewer))
            if rating in ("up", "down"):
                q = q.where(Feedback.rating == (1 if rating == "up" else -1))
            out = []
            for fb in s.scalars(q).all():
                answer = s.get(Message, fb.message_id)
                question = None
                if answer is not None:
                    question = s.scalars(select(Message).where(Message.conversation_id == answer.conversation_id,
                                                               Message.id < answer.id, Message.role == "user")
                                         .order_by(Message.id.desc())).first()
                out.append({"id": fb.id, "message_id": fb.message_id, "rating": "up" if fb.rating > 0 else "down",
                            "comment": fb.comment, "created_at": fb.created_at.isoformat(),
                            "question": question.content if question else None,
                            "answer": answer.content if answer else None,
                            "provider": answer.provider if answer else None})
            return out
