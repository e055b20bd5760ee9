"""Quiz results per learner; trainers (role ``schulung``) see those of their departments, by learning path
and per learner under a pseudonym, by name only where the learner agreed."""

from __future__ import annotations

from sqlalchemy import select

from ..db import AuditEvent
from ..identity import Principal
from ..training_models import TrainingResult
from ..visibility import restrict, visible_user_ids
from .errors import require_trainer

#: audit action recording a learner's choice to let trainers see their results by name
CONSENT_ACTION = "training_name_consent"


def name_consent(Session, principal: Principal) -> bool:
    """Whether the learner agreed that trainers see their quiz results under their name.

    The choice is recorded as an audit event (who, when, granted/withdrawn); the latest counts."""
    with Session() as s:
        return principal.user_id in consenting(s, [principal.user_id])


def set_name_consent(Session, principal: Principal, share_name: bool) -> bool:
    with Session() as s:
        s.add(AuditEvent(user_id=principal.user_id, action=CONSENT_ACTION, object_id=None,
                         outcome="granted" if share_name else "withdrawn"))
        s.commit()
    return share_name


def results(Session, principal: Principal, all_learners: bool = False) -> dict:
    """Own results, or (trainers, ``all_learners``) everyone's, newest first, with a summary per learner
    and per learning path (``groups``).

    Trainers see only learners of their departments (:mod:`.visibility`), and a learner's name only
    when that learner agreed (:func:`set_name_consent`); otherwise a pseudonym ("Lernende:r 3",
    numbered by first quiz) and the day instead of the time of each quiz."""
    if all_learners:
        require_trainer(principal)
    with Session() as s:
        stmt = select(TrainingResult).order_by(TrainingResult.created_at.desc(), TrainingResult.id.desc())
        if all_learners:
            stmt = restrict(stmt, TrainingResult.user_id, visible_user_ids(s, principal))
        else:
            stmt = stmt.where(TrainingResult.user_id == principal.user_id)
        rows = s.scalars(stmt).all()
        named = ({r.user_id for r in rows} if not all_learners
                 else consenting(s, sorted({r.user_id for r in rows})))
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


def consenting(s, user_ids: list[str]) -> set[str]:
    """Those of ``user_ids`` whose latest consent event says 'granted'."""
    if not user_ids:
        return set()
    latest: dict[str, str] = {}
    for user_id, outcome in s.execute(select(AuditEvent.user_id, AuditEvent.outcome)
                                      .where(AuditEvent.action == CONSENT_ACTION, AuditEvent.user_id.in_(user_ids))
                                      .order_by(AuditEvent.at, AuditEvent.id)):
        latest[user_id] = outcome
    return {u for u, outcome in latest.items() if outcome == "granted"}
