"""Insights for trainers: most asked and unanswered questions, with personal data masked."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time as dtime, timedelta, timezone

from sqlalchemy import select

from indexer.pii import scrub

from ..db import AuditEvent, Conversation, Message
from ..identity import Principal
from ..visibility import restrict, visible_user_ids
from .errors import TrainingError, require_trainer
from .text import norm_question


def insights(Session, principal: Principal, date_from: date | None = None, date_to: date | None = None,
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
    with Session() as s:
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
            "top_questions": group([c for _, _, c in asked], limit),
            "unanswered": group(unanswered, limit)}


def group(questions: list[str], limit: int) -> list[dict]:
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
