"""What a letter needs from the e-file case: :func:`load_case` reads the case, its Vorgänge, their
documents and the Antrag (``antrag.json``) live into a :class:`CaseData`; :func:`missing_documents`
compares the procedure's checklist (procedure catalog) with the documents the case holds.

Personal data (the applicant's name and address) is kept in memory only, never logged, cached or
stored; log lines name COO addresses and counts only.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connectors.catalog import catalog
from connectors.efile.protocol import Case, EFileConnector
from connectors.errors import NotFound

from .calendar import parse_date
from .rules import CaseFacts

log = logging.getLogger(__name__)

CLOSED_STATES = frozenset(catalog().efile.closed_states)


@dataclass
class CaseData:
    """What a letter needs from the e-file. ``applicant`` holds personal data: memory only."""

    case: Case
    case_type: str | None
    procedure_coo: str | None  # the Vorgang letters are filed into (the latest open one)
    applicant: dict[str, Any] | None = field(default=None, repr=False)
    antrag_date: date | None = None
    #: type of the application the letter answers (``Antrag``, ``Weiterleistungsantrag`` ...)
    application_type: str | None = None
    #: Posteingang: the e-file's date of receipt of that application
    receipt_date: date | None = None
    #: document types of incoming documents: the whole case / the filing target only
    held_types: frozenset[str] = frozenset()
    target_types: frozenset[str] = frozenset()
    #: dates of earlier requests for documents sent in the filing target's Vorgang (oldest first)
    request_dates: tuple[date, ...] = ()
    #: an Eingangsbestätigung is filed in the filing target's Vorgang
    receipt_confirmed: bool = False
    #: Bescheide filed in the filing target's Vorgang: "Zuwendungsbescheid vom 12.03.2026" (oldest first)
    decisions: tuple[str, ...] = ()


#: document types that are an application (the Antrag of a Vorgang)
APPLICATION_TYPES = ("Antrag", "Erstantrag", "Weiterleistungsantrag", "Änderungsantrag", "Folgeantrag",
                     "Überprüfungsantrag")
#: document types of an outgoing request for documents (Mitwirkungsaufforderung) or its reminder
REQUEST_TYPES = frozenset({"Nachforderung", "Mitwirkungsaufforderung", "Aufforderung zur Mitwirkung",
                           "Aufforderung Auskunft", "Auskunftsersuchen", "Erinnerung"})
#: titles of the request letters Lotse files (the e-file names a document by its title)
REQUEST_TITLES = ("Anforderung fehlender Unterlagen", "Erinnerung")


def is_decision(document_type: str | None) -> bool:
    """An outgoing document of this type is a Bescheid (Bewilligungs-, Zuwendungs-, Ablehnungs-, Versagungs-,
    Änderungsbescheid ...). Incoming ones (the applicant's Rentenbescheid) are proofs, not decisions."""
    return bool(document_type) and str(document_type).casefold().endswith("bescheid")


def _date_of(d: Any) -> date | None:
    return d.date() if isinstance(d, datetime) else None


def _is_incoming(doc: Any) -> bool:
    return doc.kind in (None, "Eingang")


def _read_antrag_json(efile: EFileConnector, doc: Any) -> dict[str, Any] | None:
    for f in efile.read_document(doc.coo):
        if f.file_name == "antrag.json":
            try:
                data = json.loads(f.content.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                log.warning("antrag.json of document %s is not valid JSON", doc.coo)
                return None
            return data if isinstance(data, dict) else None
    return None


def load_case(efile: EFileConnector, aktenzeichen: str) -> CaseData:
    """Find the case by Aktenzeichen, list its documents and read its Antrag (``antrag.json``) live.

    The letter answers the filing target (the latest open Vorgang): its application decides the
    Betreff, the application date and the date of receipt (the e-file's Posteingang date of that
    document). The applicant's address comes from the newest ``antrag.json`` of the case."""
    az = aktenzeichen.strip()
    refs = efile.search_cases(aktenzeichen=az)
    if not refs:
        raise NotFound(f"Zum Aktenzeichen {az} gibt es keine (nicht stornierte) Akte in der E-Akte.")
    case = efile.get_case(refs[0].coo)
    case_type = catalog().case_type_by_name.get(case.procedure_type or "")
    cat = catalog()
    procedures = []
    for ref in case.procedures:
        try:
            procedures.append(efile.get_procedure(ref.coo))
        except NotFound:
            continue
    open_procs = [p for p in procedures if (p.state or "") not in CLOSED_STATES]
    target = (open_procs[-1] if open_procs else (procedures[-1] if procedures else None))
    docs_by_proc = {p.coo: efile.list_documents(p.coo) for p in procedures}
    held: set[str] = set()
    target_types: set[str] = set()
    requests: list[tuple[date, str]] = []
    decisions: list[tuple[date, str]] = []
    confirmed = False
    for proc in procedures:
        for d in docs_by_proc[proc.coo]:
            dtype = cat.document_type(d.name)
            if _is_incoming(d):
                if dtype:
                    held.add(dtype)
                    if target is not None and proc.coo == target.coo:
                        target_types.add(dtype)
            elif target is not None and proc.coo == target.coo and (
                    dtype == "Eingangsbestätigung" or d.name.startswith("Eingangsbestätigung")):
                confirmed = True
            elif target is not None and proc.coo == target.coo and is_decision(dtype):
                when = _date_of(d.created_at)
                decisions.append((when or date.min, f"{dtype} vom {when:%d.%m.%Y}" if when else str(dtype)))
            elif (target is not None and proc.coo == target.coo
                  and (dtype in REQUEST_TYPES or d.name.startswith(REQUEST_TITLES))):
                # a request of an earlier Vorgang (last year's application) does not count
                when = _date_of(d.created_at)
                if when is not None:
                    requests.append((when, d.name))
    # the application the letter answers: the filing target's, else the newest one of the case
    order = ([target] if target is not None else []) + [p for p in reversed(procedures) if p is not target]
    application = None
    for proc in order:
        application = next((d for d in docs_by_proc[proc.coo]
                            if _is_incoming(d) and cat.document_type(d.name) in APPLICATION_TYPES), None)
        if application is not None:
            break
    app_json = _read_antrag_json(efile, application) if application is not None else None
    applicant = app_json
    if applicant is None:  # address data: the newest antrag.json of the case
        for proc in reversed(procedures):
            for d in docs_by_proc[proc.coo]:
                if d is not application and _is_incoming(d) and cat.document_type(d.name) in APPLICATION_TYPES:
                    applicant = _read_antrag_json(efile, d)
                    if applicant is not None:
                        break
            if applicant is not None:
                break
    # a request to someone else ("Aufforderung Auskunft an Westermeier": the other parent, § 6 UVG;
    # the employer, the bank) asked the applicant for nothing: no reminder, no § 66 warning follows from it
    surname = str((applicant or {}).get("nachname") or "").strip()
    own_requests = [when for when, name in requests if not _addressed_to_someone_else(name, surname)]
    receipt = _date_of(application.created_at) if application is not None else None
    antrag_date = None
    raw = app_json.get("antragsdatum") if app_json else None
    try:
        antrag_date = parse_date(str(raw)) if raw else None
    except ValueError:
        antrag_date = None
    if antrag_date is None:
        antrag_date = receipt
    if antrag_date is None and case.runtime_from is not None:
        antrag_date = case.runtime_from.date()
    log.info("case %s loaded for a letter: %d procedures, filing target %s, application %s, antrag %s, "
             "%d earlier requests", case.coo, len(procedures), target.coo if target else None,
             application.coo if application else None, "found" if applicant else "missing", len(own_requests))
    return CaseData(case, case_type, target.coo if target else None, applicant, antrag_date,
                    cat.document_type(application.name) if application is not None else None, receipt,
                    frozenset(held), frozenset(target_types), tuple(sorted(own_requests)), confirmed,
                    tuple(name for _, name in sorted(decisions)))


_OBJNAME_SUFFIX = re.compile(r"\s*\([^()]*\)$")  # the e-file appends the document's objname: "... (S-II-UVG/...)"
_ADDRESSEE = re.compile(r"\san\s+(?:(?:Frau|Herrn?|die|den|das)\s+)?(?P<who>[A-ZÄÖÜ][^,;()]*)$")


def _addressed_to_someone_else(title: str, applicant_surname: str) -> bool:
    """True when a request's title names an addressee who is not the applicant
    ("Aufforderung Auskunft an Westermeier", "Auskunftsersuchen an die Bank")."""
    m = _ADDRESSEE.search(_OBJNAME_SUFFIX.sub("", title.strip()))
    if m is None:
        return False
    who = m.group("who").strip()
    return not (applicant_surname and applicant_surname.casefold() in who.casefold())



#: a checklist item is satisfied by any of these document types
EQUIVALENT_TYPES: dict[str, frozenset[str]] = {
    "Antrag": frozenset(APPLICATION_TYPES),
    "Nachweis Einkommen": frozenset({"Nachweis Einkommen", "Einkommensnachweis"}),
    "Einkommensnachweis": frozenset({"Nachweis Einkommen", "Einkommensnachweis"}),
    "Mietvertrag": frozenset({"Mietvertrag", "Mietbescheinigung", "Nachweis Miete"}),
    "Mietbescheinigung": frozenset({"Mietvertrag", "Mietbescheinigung", "Nachweis Miete"}),
    "Kontoauszüge": frozenset({"Kontoauszüge", "Kontoauszug"}),
    "Attest": frozenset({"Attest", "Ärztliches Attest"}),
    "Gutachten": frozenset({"Gutachten", "Pflegegutachten"}),
    "Pflegegutachten": frozenset({"Gutachten", "Pflegegutachten"}),
    "Kosten- und Finanzierungsplan": frozenset({"Kosten- und Finanzierungsplan", "Finanzierungsplan"}),
}
#: checklist items that a continuation (any Vorgang after the first) must bring anew: an older
#: proof in an earlier Vorgang does not count (Wohngeld checklist: "aktuelle Einkommensnachweise")
CURRENT_TYPES = frozenset({"Nachweis Einkommen", "Einkommensnachweis", "Kontoauszüge"})
#: how a document type is named to the citizen
CITIZEN_LABELS = {
    "Antrag": "Unterschriebener Antrag",
    "Nachweis Einkommen": "Nachweise über das Einkommen aller Haushaltsmitglieder (z. B. Lohn- oder "
                          "Gehaltsabrechnungen der letzten drei Monate, Rentenbescheid)",
    "Einkommensnachweis": "Nachweise über das Einkommen aller Haushaltsmitglieder (z. B. Lohn- oder "
                          "Gehaltsabrechnungen der letzten drei Monate, Rentenbescheid)",
    "Nachweis Vermögen": "Nachweise über Ihr Vermögen (z. B. Sparbuch, Depotauszug)",
    "Mietvertrag": "Mietvertrag oder Mietbescheinigung des Vermieters",
    "Mietbescheinigung": "Mietbescheinigung des Vermieters",
    "Kontoauszüge": "Kontoauszüge aller Konten der letzten drei Monate",
    "Rentenbescheid": "Rentenbescheid oder letzte Rentenanpassungsmitteilung für alle Renten (auch Betriebsrenten)",
    "Meldebescheinigung": "Meldebescheinigung",
    "Geburtsurkunde": "Geburtsurkunde des Kindes",
    "Schulbescheinigung": "Schulbescheinigung des Kindes für das laufende Schuljahr",
    "Heimvertrag": "Heimvertrag mit der Aufstellung der monatlichen Heimkosten",
    "Pflegegutachten": "Bescheid Ihrer Pflegekasse über den Pflegegrad mit dem Gutachten des Medizinischen Dienstes",
    "Gutachten": "Bescheid Ihrer Pflegekasse über den Pflegegrad mit dem Gutachten des Medizinischen Dienstes",
    "Kosten- und Finanzierungsplan": "Kosten- und Finanzierungsplan des Vorhabens",
}


def missing_documents(data: CaseData) -> tuple[list[str], list[str]] | None:
    """(missing checklist types, their citizen-facing names): the procedure's checklist from the
    catalog minus the document types the case holds; None when the catalog has no checklist."""
    proc = catalog().by_name(data.case.procedure_type)
    if proc is None or not proc.checklist:
        return None
    continuation = data.application_type not in (None, "Antrag", "Erstantrag")
    missing = []
    for item in proc.checklist:
        ok = EQUIVALENT_TYPES.get(item, frozenset({item}))
        pool = data.target_types if (continuation and item in CURRENT_TYPES) else data.held_types
        if not (ok & pool):
            missing.append(item)
    labels = []
    for item in missing:
        label = CITIZEN_LABELS.get(item, item)
        if continuation and item in CURRENT_TYPES:
            label = "Aktuelle " + label
        labels.append(label[0].upper() + label[1:])
    return missing, labels


def case_facts(data: CaseData, today: date) -> CaseFacts:
    found = missing_documents(data)
    return CaseFacts(today=today, case_type=data.case_type, has_application=data.application_type is not None,
                     receipt_confirmed=data.receipt_confirmed, missing=tuple(found[0]) if found else (),
                     request_dates=data.request_dates, has_checklist=found is not None,
                     decisions=data.decisions)

