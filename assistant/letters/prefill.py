"""Prefill a letter from an e-file case: recipient, case data, computed dates, text proposals.

Personal data (the applicant's name and address from the Antrag's ``antrag.json``) is read
live from the e-file and returned only as field values of the letter. It is never logged,
cached or stored anywhere else; log lines name COO addresses and counts only.

Generated fields become PROPOSALS: the knowledge base is searched with the field's ``query``
plus the procedure name (:mod:`.proposals`); the case comes from :mod:`.casedata`. A proposal
stays ``proposal: true`` until a person accepts or edits it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from connectors.catalog import catalog

from ..identity import Principal
from .calendar import deadline, format_date
from .casedata import CaseData, case_facts, missing_documents
from .config import LetterConfig
from .errors import LetterValidationError
from .proposals import ProposalBuilder
from .reasons import ReasonCatalog
from .rules import OfficeRules, RequestRule, follow_notes, load_rules, request_state
from .templates import FieldSpec, LetterTemplate

#: procedure name -> case type of the letter templates (from the procedure catalog)
CASE_TYPE_BY_PROCEDURE = catalog().case_type_by_name
CASE_TYPE_LABELS = {v: k for k, v in CASE_TYPE_BY_PROCEDURE.items()}


def recipient(applicant: dict[str, Any] | None, case_type: str | None) -> dict[str, str]:
    """Address block ``empfaenger``; a Träger (Zuschuss) is addressed as organisation."""
    if not applicant:
        return {"anrede": "", "name": "", "nachname": "", "zusatz": "", "strasse": "", "plz_ort": ""}
    a = {k: str(v or "").strip() for k, v in applicant.items() if not isinstance(v, (dict, list))}
    person = " ".join(x for x in (a.get("vorname"), a.get("nachname")) if x)
    strasse = " ".join(x for x in (a.get("strasse"), a.get("hausnummer")) if x)
    plz_ort = " ".join(x for x in (a.get("plz"), a.get("ort")) if x)
    traeger = applicant.get("traeger")
    if case_type == "zuschuss" and isinstance(traeger, dict) and traeger.get("name"):
        zu = {"Frau": "Frau", "Herr": "Herrn"}.get(a.get("anrede", ""), "")
        return {"anrede": "", "name": str(traeger["name"]), "nachname": "",
                "zusatz": f"z. Hd. {zu} {person}".replace("  ", " ") if person else "",
                "strasse": strasse, "plz_ort": plz_ort}
    return {"anrede": a.get("anrede", ""), "name": person, "nachname": a.get("nachname", ""), "zusatz": "",
            "strasse": strasse, "plz_ort": plz_ort}


def briefanrede(empfaenger: dict[str, Any] | None) -> str:
    e = empfaenger or {}
    anrede = str(e.get("anrede") or "").strip()
    nachname = str(e.get("nachname") or "").strip()
    if not nachname and anrede and e.get("name"):
        nachname = str(e["name"]).split()[-1]
    if anrede == "Frau" and nachname:
        return f"Sehr geehrte Frau {nachname},"
    if anrede in ("Herr", "Herrn") and nachname:
        return f"Sehr geehrter Herr {nachname},"
    return "Sehr geehrte Damen und Herren,"


def case_block(data: CaseData) -> dict[str, str]:
    """``akte``: Aktenzeichen, Betreff of the procedure the letter answers, its application date and
    the date of receipt (Posteingang) of that application."""
    verfahren = ""
    if data.applicant and isinstance(data.applicant.get("verfahren"), str):
        verfahren = data.applicant["verfahren"]
    verfahren = verfahren or data.case.procedure_type or ""
    antragsdatum = format_date(data.antrag_date) if data.antrag_date else ""
    art = data.application_type if data.application_type not in (None, "Antrag", "Erstantrag") else "Antrag"
    if antragsdatum:
        betreff = f"{verfahren} – {art} vom {antragsdatum}"
    else:
        betreff = f"{verfahren} – {art}" if data.application_type else verfahren
    return {"aktenzeichen": data.case.aktenzeichen, "betreff": betreff, "verfahren": verfahren,
            "antragsdatum": antragsdatum, "antragsart": art,
            "antrag": application_phrase(data.case.aktenzeichen, data.case.procedure_type, verfahren, art),
            "eingangsdatum": format_date(data.receipt_date) if data.receipt_date else ""}


def application_phrase(aktenzeichen: str | None, procedure_type: str | None, verfahren: str | None,
                       art: str | None) -> str:
    """The application as the letter names it (``akte.antrag``): the kind of application plus what the
    procedure catalog says it asks for ("Antrag auf Leistungen für Bildung und Teilhabe",
    "Weiterleistungsantrag auf Wohngeld"); for a procedure outside the catalog "Antrag auf <Verfahren>"."""
    cat = catalog()
    proc = cat.by_name(procedure_type) or cat.procedure_of_aktenzeichen(aktenzeichen)
    art = art or "Antrag"
    if proc is not None:
        return proc.application(art)
    return f"{art} auf {verfahren}" if verfahren else art


def with_case_defaults(akte: dict[str, Any]) -> dict[str, Any]:
    """``akte`` of a letter drafted before ``antrag`` existed, with that key derived (rendering only)."""
    if not isinstance(akte, dict) or akte.get("antrag") or not akte.get("aktenzeichen"):
        return akte
    return {**akte, "antrag": application_phrase(str(akte["aktenzeichen"]), None, str(akte.get("verfahren") or ""),
                                                 str(akte.get("antragsart") or "Antrag"))}


def sachbearbeitung_for(principal: Principal, cfg: LetterConfig, case_type: str | None) -> dict[str, str]:
    """The caseworker's own contact data: the user profile (room, direct line, e-mail; filled by an
    administrator or from the single sign-on claims), else ``LOTSE_LETTERS__SACHBEARBEITUNG``. Without
    either only the name is known: the office's central telephone and e-mail are NOT printed as personal
    contact (the letterhead has them)."""
    out = {"name": principal.display_name, "telefon": "", "email": "", "zimmer": ""}
    p = cfg.sachbearbeitung.get(principal.user_id)
    if p is not None:
        out.update(p.model_dump())
    if principal.contact is not None:
        out.update({k: v for k, v in principal.contact.as_dict().items() if v})
    return out



# -- the office's sequence rule for requests ---------------------------------------------------

def request_rule(case_type: str | None, rules: OfficeRules | None = None) -> RequestRule:
    """The office's rule for requests for documents (``regeln/amtsregeln.yaml``)."""
    return (rules or default_rules()).request(case_type)


_DEFAULT_RULES: OfficeRules | None = None


def default_rules() -> OfficeRules:
    global _DEFAULT_RULES
    if _DEFAULT_RULES is None:
        _DEFAULT_RULES = load_rules(None)
    return _DEFAULT_RULES


def unterlagen_proposal(data: CaseData) -> dict[str, Any]:
    """Proposal for ``unterlagen`` from the case: never a search in the guidance."""
    found = missing_documents(data)
    base = {"proposal": True, "query": "", "legal_references": [], "sources": []}
    if found is None:
        return {**base, "value": [],
                "message": "Für dieses Verfahren ist im Verfahrenskatalog keine Checkliste hinterlegt. Bitte "
                           "tragen Sie die fehlenden Unterlagen selbst ein, jede einzeln und konkret."}
    missing, labels = found
    checklist = ", ".join(catalog().by_name(data.case.procedure_type).checklist)
    if not missing:
        return {**base, "value": [],
                "message": f"Laut Checkliste ({checklist}) liegen alle Unterlagen in der E-Akte vor. Bitte "
                           "tragen Sie nur ein, was bei der Prüfung tatsächlich noch fehlt."}
    return {**base, "value": labels,
            "message": f"Checkliste des Verfahrens ({checklist}) abzüglich der Unterlagen in der E-Akte: es fehlt "
                       f"{', '.join(missing)}. Bitte prüfen und konkretisieren (Zeitraum, Person)."}


def computed_value(spec: FieldSpec, today: date, empfaenger: dict[str, Any] | None) -> str:
    if spec.rule == "briefanrede":
        return briefanrede(empfaenger)
    return format_date(deadline(spec.rule or "today", today))



def prefill(template: LetterTemplate, data: CaseData, principal: Principal, cfg: LetterConfig,
            proposals: ProposalBuilder | None, today: date | None = None, rules: OfficeRules | None = None,
            reasons: ReasonCatalog | None = None) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Field values, proposals and the office-rule notes for a new draft of ``template`` for the case."""
    today = today or datetime.now().date()
    rules = rules or default_rules()
    if data.case_type and data.case_type not in template.case_types:
        label = CASE_TYPE_LABELS.get(data.case_type, data.case_type)
        raise LetterValidationError(f"Die Vorlage „{template.title}“ passt nicht zum Verfahren „{label}“ "
                                    f"der Akte {data.case.aktenzeichen}.")
    values: dict[str, Any] = {}
    props: dict[str, Any] = {}
    facts = case_facts(data, today)
    notes = follow_notes(rules, template.name, facts)
    state = request_state(rules, facts)
    rule = rules.request(data.case_type)
    empfaenger = recipient(data.applicant, data.case_type)
    akte = case_block(data)
    earlier = data.request_dates[-1] if data.request_dates else None  # the last request sent
    repeated = earlier is not None and not state.running  # the rule: only after an unanswered request
    if template.field("nachforderung") is not None and earlier is not None and state.running:
        notes.append(f"Die Anforderung vom {format_date(earlier)} hat eine Frist bis "
                     f"{format_date(state.last_deadline)}. Eine erneute Anforderung mit Hinweis auf die Versagung "
                     f"({rule.erneute.kennung or 'erneute Anforderung'}) ist nach den Amtsregeln erst nach Ablauf "
                     "dieser Frist vorgesehen; dieser Entwurf ist deshalb eine Anforderung ohne Versagungshinweis.")
    for spec in template.fields:
        if spec.name == "empfaenger":
            values[spec.name] = empfaenger
        elif spec.name == "akte":
            values[spec.name] = akte
        elif spec.name == "behoerde":
            values[spec.name] = cfg.behoerde_for(data.case_type).model_dump()
        elif spec.name == "sachbearbeitung":
            values[spec.name] = sachbearbeitung_for(principal, cfg, data.case_type)
        elif spec.name == "rechtsweg":
            values[spec.name] = cfg.rechtsweg.get(data.case_type or "", "")
        elif spec.name == "nachforderung":
            values[spec.name] = format_date(earlier) if repeated else ""
        elif spec.name == "frist" and template.field("nachforderung") is not None:
            step = rule.erneute if repeated else rule.erste
            values[spec.name] = format_date(deadline(f"workdays:{step.frist_tage}", today))
        elif spec.name == "frist" and rules.deadline_days(template.name) is not None:
            values[spec.name] = format_date(deadline(f"workdays:{rules.deadline_days(template.name)}", today))
        elif spec.name == "bezugsschreiben_datum" and earlier:
            values[spec.name] = format_date(earlier)  # the earlier request in the e-file; editable
        elif spec.source == "computed":
            values[spec.name] = computed_value(spec, today, empfaenger)
        elif spec.type == "reasons":
            values[spec.name] = []
            if reasons is not None and proposals is not None:
                props[spec.name] = proposals.suggest_reasons(spec, principal, data.case_type, akte["verfahren"],
                                                             reasons)
        elif spec.name == "unterlagen" and spec.source == "generated":
            p = unterlagen_proposal(data)  # from the case and the catalog, never from a search
            if proposals is not None:  # the office's checklist in the guidance, to read
                p["sources"] = proposals.passages_to_read(spec, principal, data.case_type, akte["verfahren"])
            props[spec.name] = p
            values[spec.name] = p["value"]
        elif spec.name == "unterlagen" and spec.source == "user":  # Erinnerung: still missing per the case
            found = missing_documents(data)
            values[spec.name] = found[1] if found else []
        elif spec.name == "nebenbestimmungen" and rules.nebenbestimmungen.get(data.case_type or ""):
            # the office's own clauses (regeln/amtsregeln.yaml), never sentences pasted from the guidance
            p = {"proposal": True, "query": "", "legal_references": [], "sources": [],
                 "value": list(rules.nebenbestimmungen[data.case_type or ""]),
                 "message": "Besondere Nebenbestimmungen des Amts (Amtsregeln). Bitte für dieses Vorhaben "
                            "prüfen, nicht passende streichen und besondere Auflagen ergänzen."}
            if proposals is not None:  # the guidance on Nebenbestimmungen, to read
                p["sources"] = proposals.passages_to_read(spec, principal, data.case_type, akte["verfahren"])
            props[spec.name] = p
            values[spec.name] = p["value"]
        elif spec.source == "generated" and proposals is not None:
            p = proposals.propose(spec, principal, data.case_type, akte["verfahren"], template.name)
            props[spec.name] = p
            values[spec.name] = p["value"]
        else:
            values[spec.name] = empty_value(spec)
    return values, props, notes


#: the parts of an empty address or organisation a person fills in (the letter page shows one input per part)
EMPTY_PARTS = {"address": ("name", "strasse", "plz_ort"), "organisation": ("name", "strasse", "plz_ort", "telefon")}


def empty_value(spec: FieldSpec) -> Any:
    if spec.type in ("list", "reasons"):
        return []
    if spec.type in EMPTY_PARTS:
        return dict.fromkeys(EMPTY_PARTS[spec.type], "")
    if spec.type in ("person", "case"):
        return {}
    return ""
