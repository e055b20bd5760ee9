"""Reading letters: one letter's full view, lists, the review queue, the version history, and the
audit events of every letter action. Part of :class:`~assistant.letters.workflow.LetterService`
(a mixin: it uses the service's ``Session``, ``templates`` and ``reasons``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..db import AuditEvent
from ..identity import Principal
from .errors import (
    LetterError,
    LetterNotFound,
)
from .labels import field_label
from .models import STATE_LABELS, Letter, LetterVersion


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


class LetterRecords:
    """Reading letters and writing audit events (part of ``LetterService``)."""

    def _letter(self, s, letter_id: str, principal: Principal | None = None) -> Letter:
        letter = s.get(Letter, letter_id)
        if letter is None or (principal is not None and not principal.may_see(letter.department or "")):
            raise LetterNotFound("Dieses Schreiben gibt es nicht (mehr) oder es gehört nicht zu Ihren Fachbereichen.")
        return letter

    @staticmethod
    def _visible(q, principal: Principal):
        """Restrict a letter query to the principal's departments."""
        if principal.departments is None:
            return q
        return q.where(Letter.department.in_(list(principal.departments)))

    @staticmethod
    def _current(s, letter: Letter) -> LetterVersion:
        row = s.scalars(select(LetterVersion).where(LetterVersion.letter_id == letter.id,
                                                    LetterVersion.version == letter.version)).one()
        return row

    def _view(self, s, letter: Letter) -> dict[str, Any]:
        cur = self._current(s, letter)
        fields, proposals = cur.fields, cur.proposals
        try:
            tpl = self.templates.get(letter.template)
            missing = self._missing(tpl, fields)
            field_specs = [f.as_dict() for f in tpl.fields]
        except LetterError:
            missing, field_specs = [], []
        bausteine = {}
        try:
            for spec in self.templates.get(letter.template).fields:
                if spec.type == "reasons":
                    bausteine[spec.name] = [b.as_dict() for b in self.reasons.for_case(letter.case_type, spec.reasons)]
        except LetterError:
            pass
        comments = [{"id": c.id, "kind": c.kind, "text": c.text, "version": c.version,
                     "user": {"id": c.user_id, "name": c.user_name}, "created_at": _iso(c.created_at)}
                    for c in letter.comments]
        writers = self._writers(s, [letter]).get(letter.id, {})
        return {
            "id": letter.id, "aktenzeichen": letter.aktenzeichen, "case_coo": letter.case_coo,
            "procedure_coo": letter.procedure_coo, "case_type": letter.case_type, "template": letter.template,
            "title": letter.title, "four_eyes": letter.four_eyes, "state": letter.state,
            "state_label": STATE_LABELS.get(letter.state, letter.state), "version": letter.version,
            "author": {"id": letter.author_id, "name": letter.author_name},
            "writers": [{"id": k, "name": v} for k, v in writers.items()],
            "approver": ({"id": letter.approver_id, "name": letter.approver_name} if letter.approver_id else None),
            "fields": fields, "field_specs": field_specs, "proposals": proposals,
            "open_proposals": sorted(k for k, v in proposals.items() if v.get("proposal")),
            "missing": missing, "missing_labels": [field_label(m) for m in missing], "bausteine": bausteine,
            "labels": {f["name"]: field_label(f["name"]) for f in field_specs},
            "rule_notes": letter.rule_notes or [],
            "filing": {"idempotency_key": letter.idempotency_key, "objid": letter.filing_objid,
                       "objname": letter.filing_objname, "error": letter.filing_error,
                       "attempts": letter.filing_attempts, "filed_at": _iso(letter.filed_at),
                       "in_progress": letter.state == "filing", "claimed_by": letter.filing_claimed_by,
                       "claimed_at": _iso(letter.filing_claimed_at),
                       "next_attempt_at": (_iso(letter.filing_next_attempt_at)
                                           if letter.state == "to_be_filed" else None)},
            "comments": comments, "created_at": _iso(letter.created_at), "updated_at": _iso(letter.updated_at),
            "submitted_at": _iso(letter.submitted_at), "approved_at": _iso(letter.approved_at),
        }

    def get(self, principal: Principal, letter_id: str) -> dict[str, Any]:
        with self.Session() as s:
            return self._view(s, self._letter(s, letter_id, principal))

    def list_letters(self, principal: Principal, *, state: str | None = None, aktenzeichen: str | None = None,
                     mine: bool = False) -> list[dict[str, Any]]:
        with self.Session() as s:
            q = self._visible(select(Letter).order_by(Letter.updated_at.desc()), principal)
            if state:
                q = q.where(Letter.state == state)
            if aktenzeichen:
                q = q.where(Letter.aktenzeichen == aktenzeichen)
            if mine:
                q = q.where(Letter.author_id == principal.user_id)
            rows = s.scalars(q).all()
            writers = self._writers(s, rows)
            return [self._summary(letter, principal, writers.get(letter.id, {})) for letter in rows]

    @staticmethod
    def _writers(s, letters: list[Letter]) -> dict[str, dict[str, str]]:
        """Per letter: everyone who wrote content of its current version (user id -> name, in order):
        the author and the people behind every adopted version up to the current one."""
        out: dict[str, dict[str, str]] = {letter.id: {letter.author_id: letter.author_name} for letter in letters}
        if not letters:
            return out
        current = {letter.id: letter.version for letter in letters}
        rows = s.execute(select(LetterVersion.letter_id, LetterVersion.version, LetterVersion.user_id,
                                LetterVersion.user_name)
                         .where(LetterVersion.letter_id.in_(list(current)), LetterVersion.adopted.is_(True))
                         .order_by(LetterVersion.letter_id, LetterVersion.seq)).all()
        for letter_id, version, user_id, user_name in rows:
            if version is not None and version <= current[letter_id]:
                out[letter_id].setdefault(user_id, user_name)
        return out

    @staticmethod
    def _summary(letter: Letter, principal: Principal, writers: dict[str, str]) -> dict[str, Any]:
        return {"id": letter.id, "aktenzeichen": letter.aktenzeichen, "template": letter.template,
                "title": letter.title, "state": letter.state,
                "state_label": STATE_LABELS.get(letter.state, letter.state), "version": letter.version,
                "four_eyes": letter.four_eyes, "author": {"id": letter.author_id, "name": letter.author_name},
                "writers": [{"id": k, "name": v} for k, v in writers.items()],
                "may_approve": letter.state == "submitted" and not (letter.four_eyes
                                                                    and principal.user_id in writers),
                "submitted_at": _iso(letter.submitted_at), "updated_at": _iso(letter.updated_at)}

    def review_queue(self, principal: Principal) -> list[dict[str, Any]]:
        """Submitted letters, oldest first; ``may_approve`` is false for four-eyes letters the person
        wrote (any adopted version)."""
        with self.Session() as s:
            rows = s.scalars(self._visible(select(Letter).where(Letter.state == "submitted"), principal)
                             .order_by(Letter.submitted_at)).all()
            writers = self._writers(s, rows)
            return [self._summary(letter, principal, writers.get(letter.id, {})) for letter in rows]

    def versions(self, principal: Principal, letter_id: str) -> list[dict[str, Any]]:
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            return [{"seq": v.seq, "version": v.version, "based_on": v.based_on, "adopted": v.adopted,
                     "kind": v.kind, "fields": v.fields, "proposals": v.proposals,
                     "user": {"id": v.user_id, "name": v.user_name}, "created_at": _iso(v.created_at)}
                    for v in letter.versions]

    # -- audit -----------------------------------------------------------------------
    @staticmethod
    def _audit(s, principal: Principal, action: str, object_id: str | None, outcome: str) -> None:
        s.add(AuditEvent(user_id=principal.user_id, action=action, object_id=object_id, outcome=outcome))

    def _audit_now(self, principal: Principal, action: str, object_id: str | None, outcome: str) -> None:
        with self.Session() as s:
            self._audit(s, principal, action, object_id, outcome)
            s.commit()

