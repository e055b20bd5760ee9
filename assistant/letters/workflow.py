"""The routine-letter workflow: draft -> edit -> submit -> approve (four eyes) -> file into the e-file.

States::

    draft ──submit──> submitted ──approve──> approved ──file──> filed
      ^                  │                      │
      └──── returned <───┘ return_with_comment  └─(e-file down)─> to_be_filed ──retry_pending──> filed

* Every edit is a new :class:`LetterVersion` with the full field values. ``save`` uses optimistic
  locking: with a stale ``expected_version`` it raises :class:`LetterConflict`, but the losing
  edit is stored too (``adopted=False``), so nothing a person wrote is lost.
* Generated fields start as proposals (``proposal: true``) and must be accepted or edited by a
  person before the letter can be submitted.
* Filing is idempotent: the key is ``<letter id>-v<version>``; the connector never files the same
  key twice. When the e-file is unreachable the letter waits in ``to_be_filed``.
* Audit events record action, letter id and outcome, never letter text or personal data.
"""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from connectors.errors import ConnectorError, SourceUnavailable

from ..db import AuditEvent, make_engine, make_sessionmaker, utcnow
from ..identity import Principal
from .calendar import format_date, parse_date
from .config import LetterConfig
from .errors import (
    FeatureUnavailable,
    FilingError,
    FourEyesViolation,
    LetterConflict,
    LetterError,
    LetterNotFound,
    LetterStateError,
    LetterValidationError,
)
from .models import STATE_LABELS, Letter, LetterComment, LetterVersion
from .prefill import ProposalBuilder, briefanrede, load_case, prefill
from .templates import LetterTemplate, TemplateRegistry


def case_department(procedure_type: str | None) -> str:
    """The department (Organisationseinheit) a case belongs to, from its procedure type."""
    from indexer.pii import DEPARTMENTS

    return DEPARTMENTS.get(procedure_type or "", "allgemein")

log = logging.getLogger(__name__)

SYSTEM = Principal("lotse-system", "Lotse (automatische Ablage)")
RECHTSWEGE = ("sgg", "vwgo_wahl", "vwgo_klage")
DICT_TYPES = ("address", "organisation", "person", "case")
REQUIRED_KEYS = {"address": ("name", "strasse", "plz_ort"), "organisation": ("name", "strasse", "plz_ort"),
                 "person": ("name",), "case": ("aktenzeichen",)}
REQUIRED_KEYS_BY_FIELD = {"behoerde": ("amt", "strasse", "plz_ort")}
EDITABLE = ("draft", "returned")
NO_LLM = ("Die Umformulierung in einfache Sprache ist nicht verfügbar ohne Sprachmodell. Lotse arbeitet "
          "derzeit ohne Sprachmodell (nur mit Textstellen aus den Quellen). Bitte vereinfachen Sie den Text "
          "selbst oder lassen Sie ein Sprachmodell konfigurieren (LOTSE_LLM__KIND=openai oder llamacpp).")


def _dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


class LetterService:
    """Letters for e-file cases. Collaborators are injected; ``efile`` and ``kb`` may be ``None``
    (then drafts cannot be created, or come without text proposals)."""

    def __init__(self, database: str | Engine, efile=None, kb=None, config: LetterConfig | None = None, *,
                 templates: TemplateRegistry | None = None, rewriter: Callable[[str], str] | None = None,
                 today: Callable[[], date] | None = None):
        self.engine = make_engine(database) if isinstance(database, str) else database
        if not isinstance(database, str):  # an Engine made elsewhere: bring it to the newest migration too
            from ..db import upgrade_schema
            upgrade_schema(self.engine)
        self.Session = make_sessionmaker(self.engine)
        self.efile, self.kb = efile, kb
        self.cfg = config or LetterConfig()
        self.templates = templates or TemplateRegistry(self.cfg.templates_dir)
        self.proposals = ProposalBuilder(kb, self.cfg) if kb is not None else None
        self.rewriter = rewriter
        self._today = today or (lambda: datetime.now().date())

    # -- templates -----------------------------------------------------------------
    def template_listing(self) -> dict[str, Any]:
        return self.templates.listing()

    def templates_for(self, procedure_type: str | None) -> list[dict[str, Any]]:
        """Usable templates that fit a case of this procedure type (``case_types`` contains it or "*")."""
        from .prefill import CASE_TYPE_BY_PROCEDURE

        case_type = CASE_TYPE_BY_PROCEDURE.get(procedure_type or "")
        return [{"name": t.name, "title": t.title, "description": t.description, "four_eyes": t.four_eyes}
                for _, t in sorted(self.templates.templates.items())
                if "*" in t.case_types or (case_type and case_type in t.case_types)]

    # -- reading -------------------------------------------------------------------
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
        fields = json.loads(cur.fields_json)
        proposals = json.loads(cur.proposals_json)
        try:
            tpl = self.templates.get(letter.template)
            missing = self._missing(tpl, fields)
            field_specs = [f.as_dict() for f in tpl.fields]
        except LetterError:
            missing, field_specs = [], []
        comments = [{"id": c.id, "kind": c.kind, "text": c.text, "version": c.version,
                     "user": {"id": c.user_id, "name": c.user_name}, "created_at": _iso(c.created_at)}
                    for c in letter.comments]
        return {
            "id": letter.id, "aktenzeichen": letter.aktenzeichen, "case_coo": letter.case_coo,
            "procedure_coo": letter.procedure_coo, "case_type": letter.case_type, "template": letter.template,
            "title": letter.title, "four_eyes": letter.four_eyes, "state": letter.state,
            "state_label": STATE_LABELS.get(letter.state, letter.state), "version": letter.version,
            "author": {"id": letter.author_id, "name": letter.author_name},
            "approver": ({"id": letter.approver_id, "name": letter.approver_name} if letter.approver_id else None),
            "fields": fields, "field_specs": field_specs, "proposals": proposals,
            "open_proposals": sorted(k for k, v in proposals.items() if v.get("proposal")),
            "missing": missing,
            "filing": {"idempotency_key": letter.idempotency_key, "objid": letter.filing_objid,
                       "objname": letter.filing_objname, "error": letter.filing_error,
                       "attempts": letter.filing_attempts, "filed_at": _iso(letter.filed_at)},
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
            return [self._summary(letter, principal) for letter in s.scalars(q).all()]

    @staticmethod
    def _summary(letter: Letter, principal: Principal) -> dict[str, Any]:
        return {"id": letter.id, "aktenzeichen": letter.aktenzeichen, "template": letter.template,
                "title": letter.title, "state": letter.state,
                "state_label": STATE_LABELS.get(letter.state, letter.state), "version": letter.version,
                "four_eyes": letter.four_eyes, "author": {"id": letter.author_id, "name": letter.author_name},
                "may_approve": letter.state == "submitted" and not (letter.four_eyes
                                                                    and letter.author_id == principal.user_id),
                "submitted_at": _iso(letter.submitted_at), "updated_at": _iso(letter.updated_at)}

    def review_queue(self, principal: Principal) -> list[dict[str, Any]]:
        """Submitted letters, oldest first; ``may_approve`` is false for one's own four-eyes letters."""
        with self.Session() as s:
            rows = s.scalars(self._visible(select(Letter).where(Letter.state == "submitted"), principal)
                             .order_by(Letter.submitted_at)).all()
            return [self._summary(letter, principal) for letter in rows]

    def versions(self, principal: Principal, letter_id: str) -> list[dict[str, Any]]:
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            return [{"seq": v.seq, "version": v.version, "based_on": v.based_on, "adopted": v.adopted,
                     "kind": v.kind, "fields": json.loads(v.fields_json), "proposals": json.loads(v.proposals_json),
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

    # -- drafting --------------------------------------------------------------------
    def create_draft(self, principal: Principal, aktenzeichen: str, template: str,
                     fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new draft for the case, prefilled from the e-file, the configuration and the knowledge base."""
        tpl = self.templates.get(template)
        if self.efile is None:
            raise FeatureUnavailable("Die E-Akte ist nicht angebunden: Entwürfe aus einer Akte sind nicht möglich.")
        try:
            data = load_case(self.efile, aktenzeichen)
        except ConnectorError:
            self._audit_now(principal, "letter_draft", None, "efile_error")
            raise
        department = case_department(data.case.procedure_type)
        if not principal.may_see(department):
            self._audit_now(principal, "letter_draft", None, "forbidden_department")
            raise LetterNotFound(f"Die Akte {aktenzeichen} gehört nicht zu Ihren Fachbereichen.")
        values, proposals = prefill(tpl, data, principal, self.cfg, self.proposals, self._today())
        with self.Session() as s:
            letter = Letter(aktenzeichen=data.case.aktenzeichen, case_coo=data.case.coo,
                            procedure_coo=data.procedure_coo, case_type=data.case_type, department=department,
                            template=tpl.name,
                            title=tpl.title, four_eyes=tpl.four_eyes, state="draft", author_id=principal.user_id,
                            author_name=principal.display_name, version=1)
            s.add(letter)
            s.flush()
            s.add(LetterVersion(letter_id=letter.id, seq=1, version=1, based_on=None, adopted=True, kind="created",
                                fields_json=_dumps(values), proposals_json=_dumps(proposals),
                                user_id=principal.user_id, user_name=principal.display_name))
            self._audit(s, principal, "letter_draft", letter.id, "created")
            s.commit()
            letter_id = letter.id
        log.info("letter %s drafted from template %s (%d proposals)", letter_id, tpl.name, len(proposals))
        if fields:
            return self.save(principal, letter_id, fields, expected_version=1)
        return self.get(principal, letter_id)

    def _normalize(self, tpl: LetterTemplate, current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(fields) - set(tpl.field_names))
        if unknown:
            raise LetterValidationError(f"Unbekannte Felder für die Vorlage „{tpl.title}“: {', '.join(unknown)}. "
                                        f"Erlaubt: {', '.join(tpl.field_names)}.", unknown)
        out: dict[str, Any] = {}
        problems: list[str] = []
        for name, value in fields.items():
            spec = tpl.field(name)
            assert spec is not None
            if spec.type == "list":
                if value is None:
                    value = []
                if isinstance(value, str):
                    value = value.splitlines()
                if not isinstance(value, list):
                    problems.append(f"{name}: erwartet eine Liste von Texten")
                    continue
                out[name] = [str(v).strip() for v in value if str(v).strip()]
            elif spec.type in DICT_TYPES:
                if not isinstance(value, dict):
                    problems.append(f"{name}: erwartet Angaben wie {', '.join(REQUIRED_KEYS[spec.type])}")
                    continue
                merged = dict(current.get(name) or {})
                for k, v in value.items():
                    if v is None:
                        merged.pop(k, None)
                    else:
                        merged[str(k)] = str(v).strip()
                out[name] = merged
            elif spec.type == "date":
                s = "" if value is None else str(value).strip()
                if s:
                    try:
                        s = format_date(parse_date(s))
                    except ValueError as exc:
                        problems.append(f"{name}: {exc}")
                        continue
                out[name] = s
            else:
                if isinstance(value, (dict, list)):
                    problems.append(f"{name}: erwartet einen Text")
                    continue
                out[name] = "" if value is None else str(value)
            if name == "rechtsweg" and out.get(name) and out[name] not in RECHTSWEGE:
                problems.append(f"rechtsweg: '{out[name]}' ist ungültig; erlaubt: {', '.join(RECHTSWEGE)}")
        if problems:
            raise LetterValidationError("Einige Angaben sind ungültig: " + "; ".join(problems) + ".", problems)
        return out

    @staticmethod
    def _missing(tpl: LetterTemplate, values: dict[str, Any]) -> list[str]:
        missing = []
        for spec in tpl.fields:
            if not spec.required:
                continue
            v = values.get(spec.name)
            if spec.type in DICT_TYPES:
                keys = REQUIRED_KEYS_BY_FIELD.get(spec.name, REQUIRED_KEYS[spec.type])
                lacking = [k for k in keys if not str((v or {}).get(k) or "").strip()]
                missing.extend(f"{spec.name}.{k}" for k in lacking)
            elif not v or (isinstance(v, str) and not v.strip()):
                missing.append(spec.name)
        return missing

    def save(self, principal: Principal, letter_id: str, fields: dict[str, Any],
             expected_version: int) -> dict[str, Any]:
        """Store an edit as the next version. With a stale ``expected_version`` the edit is stored as a
        non-adopted version and :class:`LetterConflict` is raised."""
        return self._edit(principal, letter_id, fields, expected_version, kind="edit")

    def accept_proposal(self, principal: Principal, letter_id: str, field: str, expected_version: int,
                        value: Any = None) -> dict[str, Any]:
        """Accept a proposal as it is (``value=None``) or with the person's changes."""
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            proposals = json.loads(self._current(s, letter).proposals_json)
        if field not in proposals:
            raise LetterValidationError(f"Für das Feld '{field}' gibt es keinen Vorschlag.")
        return self._edit(principal, letter_id, {} if value is None else {field: value}, expected_version,
                          kind="proposal_accepted", accept=field)

    def _edit(self, principal: Principal, letter_id: str, fields: dict[str, Any], expected_version: int,
              kind: str, accept: str | None = None) -> dict[str, Any]:
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            tpl = self.templates.get(letter.template)
            base_row = self._current(s, letter)
            # the values the person saw: their base version if it exists, else the current one
            if expected_version != letter.version:
                seen = s.scalars(select(LetterVersion).where(LetterVersion.letter_id == letter.id,
                                                             LetterVersion.version == expected_version)).first()
                base_row = seen or base_row
            base = json.loads(base_row.fields_json)
            proposals = json.loads(base_row.proposals_json)
            changes = self._normalize(tpl, base, fields)
            values = {**base, **changes}
            who = {"by": principal.user_id, "at": utcnow().isoformat()}
            for name, new in changes.items():
                p = proposals.get(name)
                if p and p.get("proposal") and new != base.get(name):
                    proposals[name] = {**p, "proposal": False, "edited": True, **who}
            if accept:
                proposals[accept] = {**proposals[accept], "proposal": False, "accepted": True, **who}
            if "empfaenger" in changes and "briefanrede" in values and "briefanrede" not in changes:
                if values.get("briefanrede") == briefanrede(base.get("empfaenger")):  # still the computed one
                    values["briefanrede"] = briefanrede(values["empfaenger"])
            seq = (s.scalar(select(LetterVersion.seq).where(LetterVersion.letter_id == letter.id)
                            .order_by(LetterVersion.seq.desc()).limit(1)) or 0) + 1
            if letter.state not in EDITABLE:  # keep what the person wrote, but do not adopt it
                s.add(LetterVersion(letter_id=letter.id, seq=seq, version=None, based_on=expected_version,
                                    adopted=False, kind="rejected_state", fields_json=_dumps(values),
                                    proposals_json=_dumps(proposals), user_id=principal.user_id,
                                    user_name=principal.display_name))
                self._audit(s, principal, "letter_" + kind, letter.id, "refused_state")
                s.commit()
                raise LetterStateError(
                    f"Das Schreiben ist {STATE_LABELS.get(letter.state, letter.state)} und kann nicht mehr "
                    f"bearbeitet werden; dazu muss es zurückgegeben werden. Ihre Änderungen wurden als "
                    f"Bearbeitung Nr. {seq} im Versionsverlauf gespeichert, aber nicht übernommen.")
            new_version = expected_version + 1
            res = s.execute(update(Letter).where(Letter.id == letter.id, Letter.version == expected_version,
                                                 Letter.state.in_(EDITABLE))
                            .values(version=new_version, updated_at=utcnow()))
            if res.rowcount == 1:
                s.add(LetterVersion(letter_id=letter.id, seq=seq, version=new_version, based_on=expected_version,
                                    adopted=True, kind=kind, fields_json=_dumps(values),
                                    proposals_json=_dumps(proposals), user_id=principal.user_id,
                                    user_name=principal.display_name))
                self._audit(s, principal, "letter_" + kind, letter.id, f"version {new_version}")
                s.commit()
                s.expire_all()
                return self._view(s, self._letter(s, letter_id, principal))
            s.rollback()
        # lost the race: keep the edit as a non-adopted version, then tell the person
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            seq = (s.scalar(select(LetterVersion.seq).where(LetterVersion.letter_id == letter.id)
                            .order_by(LetterVersion.seq.desc()).limit(1)) or 0) + 1
            s.add(LetterVersion(letter_id=letter.id, seq=seq, version=None, based_on=expected_version, adopted=False,
                                kind="conflict", fields_json=_dumps(values), proposals_json=_dumps(proposals),
                                user_id=principal.user_id, user_name=principal.display_name))
            last = self._current(s, letter)
            self._audit(s, principal, "letter_edit", letter.id, "conflict")
            s.commit()
            current, last_name = letter.version, last.user_name
        raise LetterConflict(
            f"Das Schreiben wurde inzwischen von {last_name} geändert (jetzt Version {current}, Ihre Bearbeitung "
            f"beruhte auf Version {expected_version}). Ihre Änderungen sind nicht verloren: Sie wurden als "
            f"Bearbeitung Nr. {seq} im Versionsverlauf gespeichert, aber nicht übernommen. Bitte laden Sie das "
            "Schreiben neu und übertragen Sie Ihre Änderungen.", current, seq)

    # -- review ----------------------------------------------------------------------
    def _transition(self, principal: Principal, letter_id: str, allowed: tuple[str, ...], new_state: str,
                    expected_version: int | None, action: str, extra: Callable[[Letter], dict] | None = None,
                    check: Callable[[Any, Letter], None] | None = None, comment: tuple[str, str] | None = None):
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            if letter.state not in allowed:
                raise LetterStateError(
                    f"Das ist im Zustand „{STATE_LABELS.get(letter.state, letter.state)}“ nicht möglich "
                    f"(erwartet: {', '.join(STATE_LABELS[a] for a in allowed)}).")
            if expected_version is not None and expected_version != letter.version:
                raise LetterConflict(f"Das Schreiben wurde inzwischen geändert (jetzt Version {letter.version}, "
                                     f"Sie sahen Version {expected_version}). Bitte neu laden und prüfen.",
                                     letter.version, 0)
            if check:
                check(s, letter)
            values = {"state": new_state, "updated_at": utcnow(), **(extra(letter) if extra else {})}
            res = s.execute(update(Letter).where(Letter.id == letter.id, Letter.state == letter.state,
                                                 Letter.version == letter.version).values(**values))
            if res.rowcount != 1:
                s.rollback()
                raise LetterConflict("Das Schreiben wurde gerade von jemand anderem geändert. Bitte neu laden.",
                                     letter.version, 0)
            if comment:
                s.add(LetterComment(letter_id=letter.id, version=letter.version, kind=comment[0], text=comment[1],
                                    user_id=principal.user_id, user_name=principal.display_name))
            self._audit(s, principal, action, letter.id, new_state)
            s.commit()
            s.expire_all()
            return self._view(s, self._letter(s, letter_id, principal))

    def submit(self, principal: Principal, letter_id: str, expected_version: int | None = None) -> dict[str, Any]:
        """Hand the letter in for review; all required fields filled, no open proposals, renders cleanly."""
        def check(s, letter: Letter) -> None:
            tpl = self.templates.get(letter.template)
            cur = self._current(s, letter)
            values, proposals = json.loads(cur.fields_json), json.loads(cur.proposals_json)
            problems = []
            missing = self._missing(tpl, values)
            if missing:
                problems.append("Es fehlen noch Angaben: " + ", ".join(missing) + ".")
            open_props = sorted(k for k, v in proposals.items() if v.get("proposal"))
            if open_props:
                problems.append("Textvorschläge sind noch nicht geprüft (übernehmen oder bearbeiten): "
                                + ", ".join(open_props) + ".")
            if tpl.field("rechtsweg") and values.get("rechtsweg") not in RECHTSWEGE:
                problems.append("Der Rechtsweg (rechtsweg) fehlt oder ist ungültig; ohne ihn fehlt die "
                                "Rechtsbehelfsbelehrung.")
            if problems:
                self._audit_now(principal, "letter_submit", letter.id, "incomplete")
                raise LetterValidationError("Das Schreiben kann noch nicht eingereicht werden. " + " ".join(problems),
                                            problems)
            self._render(tpl, values)  # a template error shows now, not at filing time

        return self._transition(principal, letter_id, ("draft", "returned"), "submitted", expected_version,
                                "letter_submit", extra=lambda _l: {"submitted_at": utcnow()}, check=check)

    def approve(self, principal: Principal, letter_id: str, expected_version: int | None = None,
                comment: str | None = None) -> dict[str, Any]:
        """Release the letter; with ``four_eyes`` the approver must be a different person than the author."""
        def check(_s, letter: Letter) -> None:
            four_eyes = letter.four_eyes
            try:
                four_eyes = four_eyes or self.templates.get(letter.template).four_eyes
            except LetterError:
                pass
            if four_eyes and principal.user_id == letter.author_id:
                self._audit_now(principal, "letter_approve", letter.id, "refused_four_eyes")
                raise FourEyesViolation(
                    f"Vier-Augen-Prinzip: „{letter.title}“ muss von einer anderen Person freigegeben werden als "
                    f"von der Verfasserin oder dem Verfasser ({letter.author_name}). Bitte geben Sie das Schreiben "
                    "einer Kollegin oder einem Kollegen zur Prüfung.")

        return self._transition(
            principal, letter_id, ("submitted",), "approved", expected_version, "letter_approve",
            extra=lambda _l: {"approver_id": principal.user_id, "approver_name": principal.display_name,
                              "approved_at": utcnow()},
            check=check, comment=("approved", comment) if comment else None)

    def return_with_comment(self, principal: Principal, letter_id: str, comment: str,
                            expected_version: int | None = None) -> dict[str, Any]:
        """Send a submitted letter back to the author with a reason."""
        if not comment or not comment.strip():
            raise LetterValidationError("Bitte geben Sie an, was geändert werden soll (Kommentar fehlt).")
        return self._transition(principal, letter_id, ("submitted",), "returned", expected_version, "letter_return",
                                comment=("returned", comment.strip()))

    def add_comment(self, principal: Principal, letter_id: str, text: str) -> dict[str, Any]:
        if not text or not text.strip():
            raise LetterValidationError("Der Kommentar ist leer.")
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            s.add(LetterComment(letter_id=letter.id, version=letter.version, kind="comment", text=text.strip(),
                                user_id=principal.user_id, user_name=principal.display_name))
            self._audit(s, principal, "letter_comment", letter.id, "ok")
            s.commit()
            s.expire_all()
            return self._view(s, self._letter(s, letter_id, principal))

    # -- rendering -------------------------------------------------------------------
    def _render(self, tpl: LetterTemplate, values: dict[str, Any]) -> bytes:
        import jinja2
        from docxtpl import DocxTemplate

        context = {f.name: values.get(f.name, [] if f.type == "list" else ({} if f.type in DICT_TYPES else ""))
                   for f in tpl.fields}
        try:
            doc = DocxTemplate(str(tpl.docx_path))
            doc.render(context, jinja_env=jinja2.Environment(), autoescape=True)
            buf = io.BytesIO()
            doc.save(buf)
        except Exception as exc:  # noqa: BLE001 - template errors become a German message
            log.error("rendering template %s failed: %s", tpl.name, type(exc).__name__)
            raise LetterError(f"Das Word-Dokument aus der Vorlage „{tpl.title}“ konnte nicht erstellt werden "
                              f"({type(exc).__name__}). Bitte die Vorlage prüfen lassen.") from exc
        return buf.getvalue()

    def render_docx(self, letter: str | dict | Letter, principal: Principal | None = None) -> bytes:
        """The letter (current version) as a Word document."""
        letter_id = letter if isinstance(letter, str) else (letter["id"] if isinstance(letter, dict) else letter.id)
        with self.Session() as s:
            row = self._letter(s, letter_id, principal)
            tpl = self.templates.get(row.template)
            values = json.loads(self._current(s, row).fields_json)
            if principal is not None:
                self._audit(s, principal, "letter_download", row.id, "docx")
                s.commit()
        return self._render(tpl, values)

    def file_name(self, letter: dict[str, Any], ext: str = "docx") -> str:
        az = re.sub(r"[^A-Za-z0-9-]+", "_", letter["aktenzeichen"]).strip("_")
        return f"{letter['template']}_{az}_v{letter['version']}.{ext}"

    def render_pdf(self, letter: str | dict | Letter, principal: Principal | None = None) -> bytes:
        """PDF via LibreOffice (``soffice --headless``) if installed; else :class:`FeatureUnavailable`."""
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if soffice is None:
            raise FeatureUnavailable("PDF-Erzeugung nicht verfügbar: LibreOffice (soffice) ist auf diesem Rechner "
                                     "nicht installiert. Bitte das Word-Dokument (DOCX) verwenden.")
        data = self.render_docx(letter, principal)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "schreiben.docx"
            src.write_bytes(data)
            try:
                subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp}/profile",
                                "--convert-to", "pdf", "--outdir", tmp, str(src)], check=True, timeout=120,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                return (Path(tmp) / "schreiben.pdf").read_bytes()
            except (subprocess.SubprocessError, OSError) as exc:
                raise FeatureUnavailable("PDF-Erzeugung nicht verfügbar: LibreOffice konnte das Dokument nicht "
                                         "umwandeln. Bitte das Word-Dokument (DOCX) verwenden.") from exc

    # -- plain language ---------------------------------------------------------------
    def plain_language(self, principal: Principal, letter_id: str, field: str) -> dict[str, Any]:
        """A proposal in plain German for a text field, only with a configured language model."""
        view = self.get(principal, letter_id)
        if field not in view["fields"]:
            raise LetterValidationError(f"Das Feld '{field}' gibt es in diesem Schreiben nicht.")
        if self.rewriter is None:
            self._audit_now(principal, "letter_plain_language", letter_id, "unavailable")
            return {"available": False, "field": field, "message": NO_LLM}
        text = view["fields"][field]
        text = "\n".join(text) if isinstance(text, list) else str(text)
        try:
            out = self.rewriter(text)
        except Exception as exc:  # noqa: BLE001 - any model failure: say so, never fake a result
            log.warning("plain-language rewrite failed: %s", type(exc).__name__)
            self._audit_now(principal, "letter_plain_language", letter_id, "failed")
            return {"available": False, "field": field,
                    "message": "Das Sprachmodell ist gerade nicht erreichbar; die Umformulierung ist nicht verfügbar."}
        self._audit_now(principal, "letter_plain_language", letter_id, "proposed")
        return {"available": True, "field": field, "proposal": True, "value": out,
                "message": "Vorschlag des Sprachmodells – bitte prüfen, bevor Sie ihn übernehmen."}

    # -- filing ----------------------------------------------------------------------
    def file(self, principal: Principal, letter_id: str) -> dict[str, Any]:
        """File the approved letter into the case's Vorgang (idempotent). E-file down: ``to_be_filed``."""
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            if letter.state == "filed":
                return self._view(s, letter)
            if letter.state not in ("approved", "to_be_filed"):
                raise LetterStateError(f"Nur freigegebene Schreiben können abgelegt werden (Zustand: "
                                       f"{STATE_LABELS.get(letter.state, letter.state)}).")
        return self._file_one(principal, letter_id, raise_refusal=True)

    def _file_one(self, principal: Principal, letter_id: str, raise_refusal: bool) -> dict[str, Any]:
        if self.efile is None:
            raise FeatureUnavailable("Die E-Akte ist nicht angebunden: Ablage nicht möglich.")
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            if not letter.procedure_coo:
                raise FilingError("Zu dieser Akte ist kein Vorgang bekannt, in den abgelegt werden kann.")
            if not letter.idempotency_key:
                letter.idempotency_key = f"{letter.id}-v{letter.version}"
            letter.filing_attempts += 1
            s.commit()
            key, proc, title, az, version = (letter.idempotency_key, letter.procedure_coo, letter.title,
                                             letter.aktenzeichen, letter.version)
            view = self._view(s, letter)
        content = self.render_docx(letter_id)
        subject = f"{title} – Az. {az} – Version {version} (erstellt mit Lotse)"
        try:
            receipt = self.efile.file_outgoing(proc, title, subject, self.file_name(view), content, key)
        except SourceUnavailable as exc:
            with self.Session() as s:
                letter = self._letter(s, letter_id, principal)
                letter.state, letter.filing_error, letter.updated_at = "to_be_filed", exc.message, utcnow()
                self._audit(s, principal, "letter_file", letter.id, "deferred")
                s.commit()
                log.warning("letter %s: e-file unavailable, waiting for retry", letter_id)
                return self._view(s, letter)
        except ConnectorError as exc:
            with self.Session() as s:
                letter = self._letter(s, letter_id, principal)
                letter.state, letter.filing_error, letter.updated_at = "approved", exc.message, utcnow()
                self._audit(s, principal, "letter_file", letter.id, "refused")
                s.commit()
                view = self._view(s, letter)
            if raise_refusal:
                raise FilingError(f"Die E-Akte hat die Ablage abgelehnt: {exc.message}") from exc
            return view
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            letter.state, letter.filing_error = "filed", None
            letter.filing_objid, letter.filing_objname = receipt.objid, receipt.objname
            letter.filed_at = letter.updated_at = utcnow()
            self._audit(s, principal, "letter_file", letter.id, "already_filed" if receipt.already_filed else "filed")
            s.commit()
            log.info("letter %s filed as %s", letter_id, receipt.objid)
            return self._view(s, letter)

    def retry_pending(self, principal: Principal | None = None) -> list[dict[str, Any]]:
        """Try again to file every letter waiting in ``to_be_filed``; returns one line per letter."""
        principal = principal or SYSTEM
        with self.Session() as s:
            ids = list(s.scalars(self._visible(select(Letter.id).where(Letter.state == "to_be_filed"), principal)
                                 .order_by(Letter.updated_at)).all())
        results = []
        for letter_id in ids:
            view = self._file_one(principal, letter_id, raise_refusal=False)
            results.append({"id": letter_id, "state": view["state"], "objid": view["filing"]["objid"],
                            "error": view["filing"]["error"]})
        return results
