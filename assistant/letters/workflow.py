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

import logging
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine

from connectors.catalog import catalog
from connectors.errors import ConnectorError, NotFound

from ..casework import CASE_UNAVAILABLE
from ..db import make_engine, make_sessionmaker, utcnow
from ..identity import Principal
from .casedata import case_facts, load_case
from .config import LetterConfig
from .errors import (
    FeatureUnavailable,
    FourEyesViolation,
    LetterConflict,
    LetterError,
    LetterNotFound,
    LetterStateError,
    LetterValidationError,
)
from .filing import FilingRetrier, LetterFiling
from .labels import field_label
from .models import STATE_LABELS, Letter, LetterComment, LetterVersion
from .prefill import prefill
from .proposals import ProposalBuilder
from .reasons import check_reasons, load_catalog
from .records import LetterRecords
from .rendering import LetterRendering
from .rules import load_rules, propose_next
from .templates import TemplateRegistry
from .versions import LetterVersions

log = logging.getLogger(__name__)

#: the procedure catalog's Rechtswege (kept as a name for callers; the code asks ``catalog().rechtswege``)
RECHTSWEGE = catalog().rechtswege
NO_LLM = ("Die Umformulierung in einfache Sprache ist nicht verfügbar ohne Sprachmodell. Lotse arbeitet "
          "derzeit ohne Sprachmodell (nur mit Textstellen aus den Quellen). Bitte vereinfachen Sie den Text "
          "selbst oder lassen Sie ein Sprachmodell konfigurieren (LOTSE_LLM__KIND=openai oder llamacpp).")


def case_department(procedure_type: str | None, default_department: str | None = None) -> str:
    """The department (Organisationseinheit) a case belongs to, from its procedure type (procedure catalog).

    A case of no known procedure gets ``default_department`` (``LOTSE_INDEX__DEFAULT_DEPARTMENT``), or the
    catalog's ``default_department`` when none is configured."""
    cat = catalog()
    if default_department and cat.by_name(procedure_type) is None:
        return default_department
    return cat.department_of(procedure_type)


class LetterService(LetterRecords, LetterVersions, LetterRendering, LetterFiling):
    """Letters for e-file cases. Collaborators are injected; ``efile`` and ``kb`` may be ``None``
    (then drafts cannot be created, or come without text proposals).

    The state machine (drafting, submit, approve, return) lives here; reading and audit in
    :mod:`.records`, edits and versions in :mod:`.versions`, rendering in :mod:`.rendering`, filing
    and its retry in :mod:`.filing`."""

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
                            rule_notes=notes or None)
            s.add(letter)
            s.flush()
            s.add(LetterVersion(letter_id=letter.id, seq=1, version=1, based_on=None, adopted=True, kind="created",
                                fields=values, proposals=proposals,
                                user_id=principal.user_id, user_name=principal.display_name))
            self._audit(s, principal, "letter_draft", letter.id, "created")
            s.commit()
            letter_id = letter.id
        log.info("letter %s drafted from template %s (%d proposals)", letter_id, tpl.name, len(proposals))
        if fields:
            return self.save(principal, letter_id, fields, expected_version=1)
        return self.get(principal, letter_id)

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
            values, proposals = cur.fields, cur.proposals
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
