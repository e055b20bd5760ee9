"""The office's rules for routine letters, read from a file the city edits (``regeln/amtsregeln.yaml``
next to the templates): deadlines of requests for documents (first request / repeated request after an
unanswered one, with or without the § 66 Abs. 3 SGB I warning), deadlines of other letters, which
letter may follow which, and which letter the workspace proposes next for a case's history.

Conditions are a small fixed vocabulary (:data:`CONDITIONS`) evaluated on the case as the e-file
shows it (:class:`CaseFacts`); the file combines them. Loading validates everything and raises
:class:`RulesError` with a German message naming the file and the entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .calendar import deadline, format_date
from .errors import LetterError

log = logging.getLogger(__name__)

RULES_FILE = Path("regeln") / "amtsregeln.yaml"

#: condition -> German wording when it holds / when it does not (the reason a letter is not foreseen)
CONDITIONS: dict[str, tuple[str, str]] = {
    "antrag_liegt_vor": ("der Antrag liegt in der E-Akte vor", "der Antrag liegt nicht in der E-Akte vor"),
    "keine_eingangsbestaetigung": ("im Vorgang ist noch keine Eingangsbestätigung abgelegt",
                                   "der Eingang ist bereits bestätigt (Eingangsbestätigung im Vorgang)"),
    "unterlagen_fehlen": ("laut Checkliste fehlen Unterlagen",
                          "laut Checkliste des Verfahrens liegen alle Unterlagen in der E-Akte vor"),
    "anforderung_gesendet": ("im Vorgang ist eine Anforderung von Unterlagen abgelegt",
                             "im Vorgang ist keine Anforderung von Unterlagen abgelegt"),
    "keine_anforderung": ("im Vorgang ist noch keine Anforderung von Unterlagen abgelegt",
                          "im Vorgang ist bereits eine Anforderung von Unterlagen abgelegt"),
    "anforderung_unbeantwortet": ("die Frist einer Anforderung ist abgelaufen und es fehlen weiterhin Unterlagen",
                                  "es gibt keine unbeantwortete Anforderung mit abgelaufener Frist"),
    "anforderung_frist_laeuft": ("die Frist einer Anforderung läuft noch", "es läuft keine Anforderung"),
    "kein_bescheid": ("im Vorgang ist noch kein Bescheid abgelegt", "im Vorgang ist bereits ein Bescheid abgelegt"),
    "bescheid_abgelegt": ("im Vorgang ist bereits ein Bescheid abgelegt", "im Vorgang ist noch kein Bescheid abgelegt"),
}


#: why ``unterlagen_fehlen`` does not hold when the procedure has no checklist (never "all documents are there")
NO_CHECKLIST = ("für das Verfahren ist im Verfahrenskatalog keine Checkliste hinterlegt, Lotse kann fehlende "
                "Unterlagen deshalb nicht erkennen")


class RulesError(LetterError):
    """The file is broken (German message); an operator must fix it."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestStep(_M):
    frist_tage: int = Field(ge=1, le=365)
    kennung: str = ""
    versagungshinweis: bool


class RequestRule(_M):
    erste: RequestStep
    erneute: RequestStep

    # names used by callers (and tests) before the rules became data
    @property
    def first_days(self) -> int:
        return self.erste.frist_tage

    @property
    def later_days(self) -> int:
        return self.erneute.frist_tage


def _known_conditions(v: list[str]) -> list[str]:
    unknown = [c for c in v if c not in CONDITIONS]
    if unknown:
        raise ValueError(f"unbekannte Bedingung {', '.join(unknown)} (bekannt: {', '.join(CONDITIONS)})")
    return v


class FollowRule(_M):
    nur_wenn: list[str]
    hinweis: str = ""

    _check = field_validator("nur_wenn")(_known_conditions)


class ProposalRule(_M):
    vorlage: str | None
    wenn: list[str]
    grund: str

    _check = field_validator("wenn")(_known_conditions)


class OfficeRules(_M):
    anforderung: dict[str, RequestRule]
    fristen: dict[str, int] = Field(default_factory=dict)
    folgen: dict[str, FollowRule] = Field(default_factory=dict)
    vorschlag: list[ProposalRule] = Field(default_factory=list)
    #: the office's standard Nebenbestimmungen of a Bewilligung per case type (citizen-facing sentences)
    nebenbestimmungen: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("nebenbestimmungen")
    @classmethod
    def _sentences(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for ct, items in v.items():
            for i, item in enumerate(items):
                if not item.strip() or "{" in item or item.strip()[-1] not in ".)":
                    raise ValueError(f"{ct}.{i}: ein vollständiger Satz ohne Platzhalter erwartet")
        return v

    @field_validator("anforderung")
    @classmethod
    def _has_default(cls, v: dict[str, RequestRule]) -> dict[str, RequestRule]:
        if "standard" not in v:
            raise ValueError("der Eintrag 'standard' fehlt (Regel für Verfahren ohne eigene Regel)")
        return v

    def request(self, case_type: str | None) -> RequestRule:
        return self.anforderung.get(case_type or "", self.anforderung["standard"])

    def deadline_days(self, template: str) -> int | None:
        return self.fristen.get(template)

    def check_templates(self, names: set[str], case_types: set[str]) -> list[str]:
        """German problems: rules naming templates or case types that do not exist."""
        out = []
        for ct in self.anforderung:
            if ct != "standard" and ct not in case_types:
                out.append(f"anforderung: unbekanntes Verfahren '{ct}'")
        for ct in self.nebenbestimmungen:
            if ct not in case_types:
                out.append(f"nebenbestimmungen: unbekanntes Verfahren '{ct}'")
        for t in list(self.fristen) + list(self.folgen) + [p.vorlage for p in self.vorschlag if p.vorlage]:
            if t not in names:
                out.append(f"unbekannte Vorlage '{t}'")
        return out


@dataclass(frozen=True)
class CaseFacts:
    """What the rules look at: the filing target's history as the e-file shows it."""

    today: date
    case_type: str | None
    has_application: bool
    receipt_confirmed: bool
    missing: tuple[str, ...]  # checklist items missing from the case
    request_dates: tuple[date, ...]  # requests for documents sent in the Vorgang, oldest first
    has_checklist: bool = True  # the procedure catalog has a checklist for the procedure
    decisions: tuple[str, ...] = ()  # Bescheide filed in the Vorgang ("Zuwendungsbescheid vom 12.03.2026")


@dataclass(frozen=True)
class RequestState:
    """The last request's deadline and whether it went unanswered."""

    last_request: date | None
    last_deadline: date | None
    unanswered: bool
    running: bool


def request_state(rules: OfficeRules, facts: CaseFacts) -> RequestState:
    if not facts.request_dates:
        return RequestState(None, None, False, False)
    rule = rules.request(facts.case_type)
    days = rule.erste.frist_tage if len(facts.request_dates) == 1 else rule.erneute.frist_tage
    last = facts.request_dates[-1]
    end = deadline(f"workdays:{days}", last)
    passed = facts.today > end
    return RequestState(last, end, passed and bool(facts.missing), not passed)


def conditions(rules: OfficeRules, facts: CaseFacts) -> dict[str, bool]:
    st = request_state(rules, facts)
    return {
        "antrag_liegt_vor": facts.has_application,
        "keine_eingangsbestaetigung": not facts.receipt_confirmed,
        "unterlagen_fehlen": bool(facts.missing),
        "anforderung_gesendet": st.last_request is not None,
        "keine_anforderung": st.last_request is None,
        "anforderung_unbeantwortet": st.unanswered,
        "anforderung_frist_laeuft": st.running,
        "kein_bescheid": not facts.decisions,
        "bescheid_abgelegt": bool(facts.decisions),
    }


def _failed(facts: CaseFacts, condition: str) -> str:
    """Why a condition does not hold, in words (with the documents of the case where that helps)."""
    if condition == "unterlagen_fehlen" and not facts.has_checklist:
        return NO_CHECKLIST
    if condition == "kein_bescheid" and facts.decisions:
        return f"{CONDITIONS[condition][1]} ({', '.join(facts.decisions)})"
    return CONDITIONS[condition][1]


def follow_notes(rules: OfficeRules, template: str, facts: CaseFacts) -> list[str]:
    """Why ``template`` is not foreseen now by the office's rules (empty: it is)."""
    rule = rules.folgen.get(template)
    if rule is None:
        return []
    met = conditions(rules, facts)
    failed = [c for c in rule.nur_wenn if not met[c]]
    if not failed:
        return []
    st = request_state(rules, facts)
    detail = "; ".join(_failed(facts, c) for c in failed)
    extra = ""
    if st.running and st.last_deadline is not None:
        extra = (f" Die Anforderung vom {format_date(st.last_request)} hat eine Frist bis "
                 f"{format_date(st.last_deadline)}.")
    return [f"Nach den Amtsregeln jetzt nicht vorgesehen: {detail}. {rule.hinweis}{extra}".strip()]


def propose_next(rules: OfficeRules, facts: CaseFacts, available: set[str]) -> dict[str, Any]:
    """The letter the office's rules foresee next: ``{"template": name | None, "reason": German}``."""
    met = conditions(rules, facts)
    st = request_state(rules, facts)
    for row in rules.vorschlag:
        if all(met[c] for c in row.wenn) and (row.vorlage is None or row.vorlage in available):
            reason = row.grund
            if st.last_deadline is not None and ("anforderung_frist_laeuft" in row.wenn
                                                 or "anforderung_unbeantwortet" in row.wenn):
                reason += (f" (Anforderung vom {format_date(st.last_request)}, Frist bis "
                           f"{format_date(st.last_deadline)})")
            if "bescheid_abgelegt" in row.wenn:
                reason += f" ({', '.join(facts.decisions)})"
            return {"template": row.vorlage, "reason": reason}
    return {"template": None, "reason": "Für diese Akte ist jetzt kein bestimmtes Schreiben fällig."}


def load_rules(folder: Path | None) -> OfficeRules:
    """The rules file of the templates folder; the shipped one when the folder has none."""
    from .templates import TEMPLATES_DIR

    path = (Path(folder) / RULES_FILE) if folder else TEMPLATES_DIR / RULES_FILE
    if not path.is_file():
        if folder:
            log.info("no office rules in %s: using the shipped rules", folder)
        path = TEMPLATES_DIR / RULES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RulesError(f"Die Amtsregeln {path} können nicht gelesen werden (kein gültiges YAML).") from exc
    try:
        return OfficeRules.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise RulesError(f"Die Amtsregeln {path} sind fehlerhaft: {where}: {first['msg']}.") from exc
