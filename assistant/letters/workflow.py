"""The routine-letter workflow: draft -> edit -> submit -> approve (four eyes) -> file into the e-file.

States::

    draft ──submit──> submitted ──approve──> approved ──file──> filing ──(e-file answered)──> filed
      ^                  │                      ^  (claim)       │
      └──── returned <───┘ return_with_comment  │                ├─(e-file refused)──> approved (with error)
                                                │                └─(e-file down)─> to_be_filed
                          to_be_filed ──retry (background job or "retry now")──> filing ...

* Every edit is a new :class:`LetterVersion` with the full field values. ``save`` uses optimistic
  locking: with a stale ``expected_version`` it raises :class:`LetterConflict`, but the losing
  edit is stored too (``adopted=False``), so nothing a person wrote is lost. Version rows get their
  sequence number while the letter's row is locked (the conditional UPDATE of the winner, a no-op
  UPDATE for everyone else), so simultaneous saves never collide on ``letter_versions.seq``.
* Generated fields start as proposals (``proposal: true``) and must be accepted or edited by a
  person before the letter can be submitted.
* Four eyes: a four-eyes letter may be approved only by a person who wrote none of its adopted
  versions (the original author and anyone who edited or accepted a proposal).
* Filing happens exactly once: a request first reserves the letter with ONE conditional UPDATE
  (``approved``/``to_be_filed`` -> ``filing``; works the same on SQLite and PostgreSQL, across
  processes); only the request that changed the row calls the e-file. Simultaneous requests wait
  for its outcome and answer with the same receipt (or 409 "wird gerade abgelegt" after
  ``filing_wait_s``). Towards the e-file the key ``<letter id>-v<version>`` makes a repeated call
  (lost answer, taken-over stale claim) return the earlier receipt. Whatever goes wrong after the
  claim puts the letter back (``to_be_filed`` when the e-file is unreachable, ``approved`` with the
  message when it refused), so nothing is lost.
* Waiting letters (``to_be_filed``) are retried by :class:`FilingRetrier` (started by ``lotse
  serve``) with exponential backoff (``filing_next_attempt_at``); several processes may run it.
* The e-file records the letter's author as the acting user (``userlogin`` context header of the
  filing call), not the technical user's default login.
* Audit events record action, letter id and outcome, never letter text or personal data.
"""

from __future__ import annotations

import inspect
import io
import json
import logging
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Engine

from connectors.catalog import catalog
from connectors.errors import ConnectorError, NotFound, SourceUnavailable

from ..casework import CASE_UNAVAILABLE
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
from .labels import KEY_LABELS, RECHTSWEG_LABELS, field_label
from .models import STATE_LABELS, Letter, LetterComment, LetterVersion
from .prefill import ProposalBuilder, briefanrede, case_facts, load_case, prefill
from .reasons import check_reasons, load_catalog, normalize_choice
from .rules import load_rules, propose_next
from .templates import LetterTemplate, TemplateRegistry


def case_department(procedure_type: str | None, default_department: str | None = None) -> str:
    """The department (Organisationseinheit) a case belongs to, from its procedure type (procedure catalog).

    A case of no known procedure gets ``default_department`` (``LOTSE_INDEX__DEFAULT_DEPARTMENT``), or the
    catalog's ``default_department`` when none is configured."""
    cat = catalog()
    if default_department and cat.by_name(procedure_type) is None:
        return default_department
    return cat.department_of(procedure_type)

log = logging.getLogger(__name__)

SYSTEM = Principal("lotse-system", "Lotse (automatische Ablage)")
#: the procedure catalog's Rechtswege (kept as a name for callers; the code asks ``catalog().rechtswege``)
RECHTSWEGE = catalog().rechtswege
DICT_TYPES = ("address", "organisation", "person", "case")
REQUIRED_KEYS = {"address": ("name", "strasse", "plz_ort"), "organisation": ("name", "strasse", "plz_ort"),
                 "person": ("name",), "case": ("aktenzeichen",)}
REQUIRED_KEYS_BY_FIELD = {"behoerde": ("amt", "strasse", "plz_ort")}
EDITABLE = ("draft", "returned")
FILEABLE = ("approved", "to_be_filed")
#: user ids that can go into the e-file's ``userlogin`` header as they are
_EFILE_LOGIN_RE = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")
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
                 today: Callable[[], date] | None = None, claim_ttl_s: float = 300.0, filing_wait_s: float = 30.0,
                 retry_base_s: float = 5.0, retry_max_s: float = 45.0, retry_interval_s: float = 5.0,
                 default_department: str | None = None):
        """``default_department``: department of letters for cases of no known procedure (default: the
        knowledge base's ``LOTSE_INDEX__DEFAULT_DEPARTMENT``, else the procedure catalog's);
        ``claim_ttl_s``: after this long a claim of a filing (a crashed process) may be taken over;
        ``filing_wait_s``: how long a second, simultaneous filing request waits for the first one's
        outcome; ``retry_base_s``/``retry_max_s``: backoff of waiting letters (doubling per attempt);
        ``retry_interval_s``: how often the background retry looks for due letters."""
        self.engine = make_engine(database) if isinstance(database, str) else database
        if not isinstance(database, str):  # an Engine made elsewhere: bring it to the newest migration too
            from ..db import upgrade_schema
            upgrade_schema(self.engine)
        self.Session = make_sessionmaker(self.engine)
        self.efile, self.kb = efile, kb
        self.default_department = default_department or getattr(getattr(kb, "cfg", None), "default_department",
                                                                None)
        self.cfg = config or LetterConfig()
        self.templates = templates or TemplateRegistry(self.cfg.templates_dir)
        # office rules and reason blocks live next to the templates (the shipped ones when absent)
        self.rules = load_rules(self.templates.folder)
        self.reasons = load_catalog(self.templates.folder, catalog().case_types)
        self.proposals = ProposalBuilder(kb, self.cfg) if kb is not None else None
        self.rewriter = rewriter
        self._today = today or (lambda: datetime.now().date())
        self.claim_ttl_s, self.filing_wait_s = claim_ttl_s, filing_wait_s
        self.retry_base_s, self.retry_max_s, self.retry_interval_s = retry_base_s, retry_max_s, retry_interval_s
        self._retrier: FilingRetrier | None = None
        self._retrier_lock = threading.Lock()

    # -- templates -----------------------------------------------------------------
    def template_listing(self) -> dict[str, Any]:
        return self.templates.listing()

    def analyze_template(self, data: bytes, file_name: str) -> dict[str, Any]:
        """Placeholders of an uploaded Word letter with suggested mappings (nothing is stored)."""
        from .template_import import analyze

        return analyze(data, file_name).as_dict()

    def import_template(self, principal: Principal, data: bytes, file_name: str, options,
                        mapping: dict[str, Any] | None, replace: bool = False) -> dict[str, Any]:
        """Convert and store an office's Word letter as a template in the templates folder; the
        registry is re-read, so the template is usable at once. Returns the German import report."""
        from .template_import import import_template

        try:
            result = import_template(data, file_name, self.templates.folder, options, mapping, replace)
        except LetterError:
            self._audit_now(principal, "template_import", options.name, "refused")
            raise
        self.templates.reload()
        self._audit_now(principal, "template_import", result.name, "replaced" if replace else "imported")
        return result.as_dict()

    def templates_for(self, procedure_type: str | None) -> list[dict[str, Any]]:
        """Usable templates that fit a case of this procedure type (``case_types`` contains it or "*")."""
        from .prefill import CASE_TYPE_BY_PROCEDURE

        case_type = CASE_TYPE_BY_PROCEDURE.get(procedure_type or "")
        return [{"name": t.name, "title": t.title, "description": t.description, "four_eyes": t.four_eyes}
                for _, t in sorted(self.templates.templates.items())
                if "*" in t.case_types or (case_type and case_type in t.case_types)]

    def next_letter(self, principal: Principal, aktenzeichen: str) -> dict[str, Any]:
        """The letter the office's rules foresee next for the case's history in the e-file, and for every
        fitting template whether the rules foresee it now (``notes`` say why not)."""
        if self.efile is None:
            raise FeatureUnavailable("Die E-Akte ist nicht angebunden.")
        try:
            data = load_case(self.efile, aktenzeichen)
        except NotFound as exc:
            raise LetterNotFound(CASE_UNAVAILABLE) from exc
        if not principal.may_see(case_department(data.case.procedure_type, self.default_department)):
            raise LetterNotFound(CASE_UNAVAILABLE)
        from .rules import follow_notes

        facts = case_facts(data, self._today())
        fitting = self.templates_for(data.case.procedure_type)
        proposal = propose_next(self.rules, facts, {t["name"] for t in fitting})
        title = next((t["title"] for t in fitting if t["name"] == proposal["template"]), None)
        return {"aktenzeichen": data.case.aktenzeichen, "template": proposal["template"], "title": title,
                "reason": proposal["reason"],
                "templates": [{**t, "notes": follow_notes(self.rules, t["name"], facts)} for t in fitting]}

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
            "rule_notes": json.loads(letter.rule_notes) if letter.rule_notes else [],
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
        except NotFound as exc:  # unknown and foreign cases get the same answer (existence not revealed)
            self._audit_now(principal, "letter_draft", None, "case_not_found")
            raise LetterNotFound(CASE_UNAVAILABLE) from exc
        except ConnectorError:
            self._audit_now(principal, "letter_draft", None, "efile_error")
            raise
        department = case_department(data.case.procedure_type, self.default_department)
        if not principal.may_see(department):
            self._audit_now(principal, "letter_draft", None, "forbidden_department")
            raise LetterNotFound(CASE_UNAVAILABLE)
        values, proposals, notes = prefill(tpl, data, principal, self.cfg, self.proposals, self._today(),
                                           self.rules, self.reasons)
        with self.Session() as s:
            letter = Letter(aktenzeichen=data.case.aktenzeichen, case_coo=data.case.coo,
                            procedure_coo=data.procedure_coo, case_type=data.case_type, department=department,
                            template=tpl.name,
                            title=tpl.title, four_eyes=tpl.four_eyes, state="draft", author_id=principal.user_id,
                            author_name=principal.display_name, version=1,
                            rule_notes=_dumps(notes) if notes else None)
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

    def _normalize(self, tpl: LetterTemplate, current: dict[str, Any], fields: dict[str, Any],
                   case_type: str | None = None) -> dict[str, Any]:
        unknown = sorted(set(fields) - set(tpl.field_names))
        if unknown:
            raise LetterValidationError(f"Unbekannte Felder für die Vorlage „{tpl.title}“: {', '.join(unknown)}. "
                                        f"Erlaubt: {', '.join(tpl.field_names)}.", unknown)
        out: dict[str, Any] = {}
        problems: list[str] = []
        for name, value in fields.items():
            spec = tpl.field(name)
            assert spec is not None
            if spec.type == "reasons":
                chosen, probs = normalize_choice(self.reasons, case_type, spec.reasons or "", value)
                problems.extend(f"{field_label(name)}: {p}" for p in probs)
                out[name] = chosen
            elif spec.type == "list":
                if value is None:
                    value = []
                if isinstance(value, str):
                    value = value.splitlines()
                if not isinstance(value, list):
                    problems.append(f"{field_label(name)}: erwartet eine Liste von Texten")
                    continue
                out[name] = [str(v).strip() for v in value if str(v).strip()]
            elif spec.type in DICT_TYPES:
                if not isinstance(value, dict):
                    keys = ", ".join(KEY_LABELS.get(k, k) for k in REQUIRED_KEYS[spec.type])
                    problems.append(f"{field_label(name)}: erwartet Angaben wie {keys}")
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
                        problems.append(f"{field_label(name)}: {exc}")
                        continue
                out[name] = s
            else:
                if isinstance(value, (dict, list)):
                    problems.append(f"{field_label(name)}: erwartet einen Text")
                    continue
                out[name] = "" if value is None else str(value)
            rechtswege = catalog().rechtswege
            if name == "rechtsweg" and out.get(name) and out[name] not in rechtswege:
                problems.append("Rechtsbehelf: ungültiger Wert; erlaubt: " + ", ".join(RECHTSWEG_LABELS.values()))
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
            elif spec.type == "reasons":
                continue  # checked with its own message (§ 35 SGB X) at submit
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
            changes = self._normalize(tpl, base, fields, letter.case_type)
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
            if letter.state not in EDITABLE:  # keep what the person wrote, but do not adopt it
                seq = self._lock_and_next_seq(s, letter.id)
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
                seq = self._next_seq(s, letter.id)  # the row is locked by our UPDATE until the commit
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
            seq = self._lock_and_next_seq(s, letter_id)
            letter = self._letter(s, letter_id, principal)
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

    @staticmethod
    def _next_seq(s, letter_id: str) -> int:
        """The next sequence number of a version row; only while this transaction holds the letter's row lock."""
        return (s.scalar(select(func.max(LetterVersion.seq)).where(LetterVersion.letter_id == letter_id)) or 0) + 1

    def _lock_and_next_seq(self, s, letter_id: str) -> int:
        """Lock the letter's row (a no-op UPDATE: PostgreSQL takes the row lock, SQLite the write lock, both
        until the commit), then number the next version row. Every writer of version rows goes through the
        letter's row first, so two simultaneous edits never get the same sequence number."""
        s.execute(update(Letter).where(Letter.id == letter_id).values(version=Letter.version)
                  .execution_options(synchronize_session=False))
        return self._next_seq(s, letter_id)

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
                problems.append("Es fehlen noch Angaben: " + ", ".join(map(field_label, missing)) + ".")
            open_props = sorted(k for k, v in proposals.items() if v.get("proposal"))
            if open_props:
                problems.append("Textvorschläge sind noch nicht geprüft (übernehmen oder bearbeiten): "
                                + ", ".join(map(field_label, open_props)) + ".")
            for spec in tpl.fields:  # § 35 SGB X: facts and legal grounds of the reasons
                if spec.type == "reasons":
                    problems.extend(check_reasons(self.reasons, spec.reasons or "", values.get(spec.name) or [],
                                                  str(values.get("begruendung") or ""), spec.required))
            if tpl.field("rechtsweg") and values.get("rechtsweg") not in catalog().rechtswege:
                problems.append("Der Rechtsbehelf fehlt oder ist ungültig; ohne ihn fehlt die "
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
        """Release the letter; with ``four_eyes`` the approver must be a person who wrote none of the
        letter's adopted versions (neither the author nor anyone who edited it or accepted a proposal)."""
        def check(s, letter: Letter) -> None:
            four_eyes = letter.four_eyes
            try:
                four_eyes = four_eyes or self.templates.get(letter.template).four_eyes
            except LetterError:
                pass
            if not four_eyes:
                return
            writers = self._writers(s, [letter])[letter.id]
            if principal.user_id == letter.author_id:
                self._audit_now(principal, "letter_approve", letter.id, "refused_four_eyes")
                raise FourEyesViolation(
                    f"Vier-Augen-Prinzip: „{letter.title}“ muss von einer anderen Person freigegeben werden als "
                    f"von der Verfasserin oder dem Verfasser ({letter.author_name}). Bitte geben Sie das Schreiben "
                    "einer Kollegin oder einem Kollegen zur Prüfung.")
            if principal.user_id in writers:
                self._audit_now(principal, "letter_approve", letter.id, "refused_four_eyes_editor")
                raise FourEyesViolation(
                    f"Vier-Augen-Prinzip: Sie haben an „{letter.title}“ selbst mitgeschrieben (eine Fassung dieses "
                    "Schreibens stammt von Ihnen). Freigeben darf nur eine Person, die keine Fassung verfasst hat "
                    f"(bisher beteiligt: {', '.join(writers.values())}). Bitte geben Sie das Schreiben einer "
                    "weiteren Kollegin oder einem weiteren Kollegen zur Prüfung.")

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

        context = {f.name: values.get(f.name, [] if f.type in ("list", "reasons")
                                      else ({} if f.type in DICT_TYPES else ""))
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

    def _version_docx(self, s, row: Letter, seq: int | None) -> bytes:
        tpl = self.templates.get(row.template)
        if seq is None:
            version = self._current(s, row)
        else:
            version = s.scalars(select(LetterVersion).where(LetterVersion.letter_id == row.id,
                                                            LetterVersion.seq == seq)).first()
            if version is None:
                raise LetterNotFound(f"Die Bearbeitung Nr. {seq} gibt es zu diesem Schreiben nicht.")
        return self._render(tpl, json.loads(version.fields_json))

    def preview(self, principal: Principal, letter_id: str, seq: int | None = None) -> dict[str, Any]:
        """The rendered letter as HTML (made from the DOCX, as printed and filed); ``seq``: an earlier edit."""
        from .preview import docx_to_html

        with self.Session() as s:
            row = self._letter(s, letter_id, principal)
            data = self._version_docx(s, row, seq)
            version = row.version
        return {"id": letter_id, "version": version, "seq": seq, "html": docx_to_html(data),
                "pdf_available": bool(shutil.which("soffice") or shutil.which("libreoffice"))}

    def compare_versions(self, principal: Principal, letter_id: str, seq_a: int, seq_b: int) -> dict[str, Any]:
        """The paragraphs of the rendered letter that differ between two edits (by sequence number)."""
        from .preview import compare, paragraphs

        with self.Session() as s:
            row = self._letter(s, letter_id, principal)
            before = paragraphs(self._version_docx(s, row, seq_a))
            after = paragraphs(self._version_docx(s, row, seq_b))
        return {"id": letter_id, "a": seq_a, "b": seq_b, "changes": compare(before, after)}

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
        """File the approved letter into the case's Vorgang, exactly once, however many requests arrive
        at the same time. E-file down: ``to_be_filed`` (retried later)."""
        if self.efile is None:
            raise FeatureUnavailable("Die E-Akte ist nicht angebunden: Ablage nicht möglich.")
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            if letter.state == "filed":
                self._audit(s, principal, "letter_file", letter.id, "already_filed")
                s.commit()
                return self._view(s, letter)
            if letter.state not in (*FILEABLE, "filing"):
                raise LetterStateError(f"Nur freigegebene Schreiben können abgelegt werden (Zustand: "
                                       f"{STATE_LABELS.get(letter.state, letter.state)}).")
            if not letter.procedure_coo:
                raise FilingError("Zu dieser Akte ist kein Vorgang bekannt, in den abgelegt werden kann.")
        token = self._claim(principal, letter_id)
        if token is None:  # somebody else is filing it right now: wait for that outcome
            return self._await_filing(principal, letter_id)
        return self._file_claimed(principal, letter_id, token, raise_refusal=True)

    def _claim(self, principal: Principal, letter_id: str, *, due_only: bool = False) -> int | None:
        """Reserve the letter for filing with ONE conditional UPDATE (``approved``/``to_be_filed`` or a
        stale claim -> ``filing``). Returns the claim's token (the attempt number) or None when another
        request holds it (or, with ``due_only``, its next attempt is not due yet)."""
        now = utcnow()
        claimable = or_(Letter.state.in_(FILEABLE),
                        and_(Letter.state == "filing",
                             Letter.filing_claimed_at < now - timedelta(seconds=self.claim_ttl_s)))
        if due_only:
            claimable = and_(claimable, or_(Letter.state != "to_be_filed", Letter.filing_next_attempt_at.is_(None),
                                            Letter.filing_next_attempt_at <= now))
        with self.Session() as s:
            res = s.execute(update(Letter).where(Letter.id == letter_id, claimable)
                            .values(state="filing", filing_claimed_at=now, filing_claimed_by=principal.user_id,
                                    filing_attempts=Letter.filing_attempts + 1, updated_at=now)
                            .execution_options(synchronize_session=False))
            if res.rowcount != 1:
                s.rollback()
                return None
            letter = s.get(Letter, letter_id)
            if not letter.idempotency_key:
                letter.idempotency_key = f"{letter.id}-v{letter.version}"
            token = letter.filing_attempts
            s.commit()
        return token

    def _release(self, principal: Principal, letter_id: str, token: int, state: str, error: str | None,
                 outcome: str, next_attempt: datetime | None = None) -> dict[str, Any]:
        """End our claim without a filing: back to ``state`` with the message, nothing lost."""
        with self.Session() as s:
            res = s.execute(update(Letter).where(Letter.id == letter_id, Letter.state == "filing",
                                                 Letter.filing_attempts == token)
                            .values(state=state, filing_error=error, filing_next_attempt_at=next_attempt,
                                    filing_claimed_at=None, filing_claimed_by=None, updated_at=utcnow())
                            .execution_options(synchronize_session=False))
            self._audit(s, principal, "letter_file", letter_id, outcome if res.rowcount else outcome + "_late")
            s.commit()
            return self._view(s, s.get(Letter, letter_id))

    def _backoff(self, attempts: int) -> datetime:
        delay = min(self.retry_max_s, self.retry_base_s * 2 ** max(0, attempts - 1))
        return utcnow() + timedelta(seconds=delay)

    def _efile_login(self, user_id: str) -> dict[str, str]:
        """``userlogin=<the letter's author>`` for the filing call, when the connector takes it and the id
        is a plain login; otherwise the connector's configured login is used."""
        try:
            accepts = "userlogin" in inspect.signature(self.efile.file_outgoing).parameters
        except (TypeError, ValueError):
            accepts = False
        if accepts and _EFILE_LOGIN_RE.match(user_id or ""):
            return {"userlogin": user_id}
        return {}

    def _file_claimed(self, principal: Principal, letter_id: str, token: int, raise_refusal: bool) -> dict[str, Any]:
        """Talk to the e-file for a letter whose claim we hold (``token``)."""
        with self.Session() as s:
            letter = s.get(Letter, letter_id)
            key, proc, title, az, version = (letter.idempotency_key, letter.procedure_coo, letter.title,
                                             letter.aktenzeichen, letter.version)
            author, attempts = letter.author_id, letter.filing_attempts
            name = self.file_name(self._view(s, letter))
        if not proc:
            self._release(principal, letter_id, token, "approved", "Zu dieser Akte ist kein Vorgang bekannt, in "
                          "den abgelegt werden kann.", "refused")
            raise FilingError("Zu dieser Akte ist kein Vorgang bekannt, in den abgelegt werden kann.")
        subject = f"{title} – Az. {az} – Version {version} (erstellt mit Lotse)"
        try:
            content = self.render_docx(letter_id)
            receipt = self.efile.file_outgoing(proc, title, subject, name, content, key, **self._efile_login(author))
        except SourceUnavailable as exc:
            log.warning("letter %s: e-file unavailable, waiting for retry", letter_id)
            return self._release(principal, letter_id, token, "to_be_filed", exc.message, "deferred",
                                 self._backoff(attempts))
        except ConnectorError as exc:
            view = self._release(principal, letter_id, token, "approved", exc.message, "refused")
            if raise_refusal:
                raise FilingError(f"Die E-Akte hat die Ablage abgelehnt: {exc.message}") from exc
            return view
        except LetterError as exc:  # e.g. the template broke since the approval: a person must look
            self._release(principal, letter_id, token, "approved", exc.message, "refused")
            raise
        except BaseException:
            # anything else after the claim: the letter waits again, nothing is lost
            self._release(principal, letter_id, token, "to_be_filed", "Die Ablage wurde unterbrochen; sie wird "
                          "automatisch erneut versucht.", "interrupted", self._backoff(attempts))
            raise
        with self.Session() as s:
            now = utcnow()
            # the e-file holds the document: record the receipt even if our claim was taken over meanwhile
            # (the other request then finds the key and gets the same receipt)
            s.execute(update(Letter).where(Letter.id == letter_id, Letter.state != "filed")
                      .values(state="filed", filing_error=None, filing_objid=receipt.objid,
                              filing_objname=receipt.objname, filed_at=now, updated_at=now,
                              filing_next_attempt_at=None, filing_claimed_at=None, filing_claimed_by=None)
                      .execution_options(synchronize_session=False))
            self._audit(s, principal, "letter_file", letter_id, "already_filed" if receipt.already_filed else "filed")
            s.commit()
            log.info("letter %s filed as %s", letter_id, receipt.objid)
            return self._view(s, s.get(Letter, letter_id))

    def _await_filing(self, principal: Principal, letter_id: str) -> dict[str, Any]:
        """A simultaneous request: wait (up to ``filing_wait_s``) for the request that holds the claim,
        then answer with its outcome: the same receipt, the same "waiting" state or the same refusal."""
        deadline = time.monotonic() + self.filing_wait_s
        while True:
            with self.Session() as s:
                letter = self._letter(s, letter_id, principal)
                state, error, by = letter.state, letter.filing_error, letter.filing_claimed_by
                view = self._view(s, letter) if state != "filing" else None
            if state != "filing" or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if state == "filing":
            self._audit_now(principal, "letter_file", letter_id, "in_progress")
            raise LetterStateError(
                "Das Schreiben wird bereits in der E-Akte abgelegt"
                + (f" (Ablage gestartet von {by})" if by else "")
                + ". Es wird nur einmal abgelegt. Bitte laden Sie es in einigen Sekunden neu, um die Quittung "
                "zu sehen.")
        self._audit_now(principal, "letter_file", letter_id, "joined_" + state)
        if state == "approved" and error:
            raise FilingError(f"Die E-Akte hat die Ablage abgelehnt: {error}")
        assert view is not None
        return view

    def retry_pending(self, principal: Principal | None = None, *, due_only: bool = False) -> list[dict[str, Any]]:
        """Try again to file every letter waiting in ``to_be_filed`` (and letters whose filing claim is
        stale); returns one line per letter. ``due_only``: only those whose next attempt is due (the
        background job); without it ("jetzt erneut versuchen") every waiting letter is tried now."""
        principal = principal or SYSTEM
        now = utcnow()
        waiting = Letter.state == "to_be_filed"
        if due_only:
            waiting = and_(waiting, or_(Letter.filing_next_attempt_at.is_(None), Letter.filing_next_attempt_at <= now))
        stale = and_(Letter.state == "filing", Letter.filing_claimed_at < now - timedelta(seconds=self.claim_ttl_s))
        with self.Session() as s:
            ids = list(s.scalars(self._visible(select(Letter.id).where(or_(waiting, stale)), principal)
                                 .order_by(Letter.updated_at)).all())
        if ids and self.efile is None:
            raise FeatureUnavailable("Die E-Akte ist nicht angebunden: Ablage nicht möglich.")
        results = []
        for letter_id in ids:
            token = self._claim(principal, letter_id, due_only=due_only)
            if token is None:  # another request or process got it first
                with self.Session() as s:
                    view = self._view(s, s.get(Letter, letter_id))
            else:
                try:
                    view = self._file_claimed(principal, letter_id, token, raise_refusal=False)
                except LetterError as exc:
                    log.warning("letter %s: filing retry failed: %s", letter_id, type(exc).__name__)
                    with self.Session() as s:
                        view = self._view(s, s.get(Letter, letter_id))
            results.append({"id": letter_id, "state": view["state"], "objid": view["filing"]["objid"],
                            "error": view["filing"]["error"], "next_attempt_at": view["filing"]["next_attempt_at"]})
        return results

    # -- background retry --------------------------------------------------------------
    def start_filing_retry(self, interval_s: float | None = None) -> FilingRetrier | None:
        """Start the background retry of waiting letters (once per service; none without e-file)."""
        if self.efile is None:
            return None
        with self._retrier_lock:
            if self._retrier is None or not self._retrier.alive:
                self._retrier = FilingRetrier(self, interval_s or self.retry_interval_s)
                self._retrier.start()
            return self._retrier

    def stop_filing_retry(self) -> None:
        with self._retrier_lock:
            retrier, self._retrier = self._retrier, None
        if retrier is not None:
            retrier.stop()


class FilingRetrier:
    """Background thread (started by ``lotse serve``): every ``interval_s`` it files the letters whose
    next attempt is due. Safe with several processes on one database: each letter is claimed first."""

    def __init__(self, service: LetterService, interval_s: float = 5.0):
        self.service, self.interval_s = service, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lotse-filing-retry", daemon=True)
        self._thread.start()
        log.info("background filing retry started (every %.0f s)", self.interval_s)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> list[dict[str, Any]]:
        results = self.service.retry_pending(SYSTEM, due_only=True)
        self.runs += 1
        for r in results:
            log.info("filing retry: letter %s -> %s", r["id"], r["state"])
        return results

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - the job must survive a database or e-file hiccup
                log.warning("filing retry failed: %s", type(exc).__name__)
