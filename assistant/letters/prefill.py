"""Prefill a letter from an e-file case: recipient, case data, computed dates, text proposals.

Personal data (the applicant's name and address from the Antrag's ``antrag.json``) is read
live from the e-file and returned only as field values of the letter. It is never logged,
cached or stored anywhere else; log lines name COO addresses and counts only.

Generated fields become PROPOSALS: the knowledge base is searched with the field's ``query``
plus the procedure name; the text is assembled from the best passages and carries their
legal references and source references. A proposal stays ``proposal: true`` until a person
accepts or edits it.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connectors.catalog import catalog
from connectors.efile.protocol import Case, EFileConnector
from connectors.errors import NotFound
from indexer.text import LIST_MARK, split_sentences

from ..identity import Principal
from .calendar import deadline, format_date, parse_date
from .config import LetterConfig
from .errors import LetterValidationError
from .reasons import KINDS, ReasonCatalog, suggest
from .rules import CaseFacts, OfficeRules, RequestRule, follow_notes, load_rules, request_state
from .templates import FieldSpec, LetterTemplate

log = logging.getLogger(__name__)

#: procedure name -> case type of the letter templates (from the procedure catalog)
CASE_TYPE_BY_PROCEDURE = catalog().case_type_by_name
CASE_TYPE_LABELS = {v: k for k, v in CASE_TYPE_BY_PROCEDURE.items()}
CLOSED_STATES = frozenset(catalog().efile.closed_states)

_LEGAL_REF = re.compile(
    r"(?:§§?|Art\.)\s*\d+[a-z]?(?:\s*(?:Abs\.|Absatz|Satz|S\.|Nr\.|Buchst\.)\s*\d+[a-z]?)*"
    r"(?:\s*(?:und|bis|,)\s*\d+[a-z]?)?"
    r"\s+(?:SGB\s+(?:XII|XI|IX|VIII|VII|VI|IV|V|III|II|X|I)\b|[A-ZÄÖÜ][A-Za-zÄÖÜäöü-]*[A-Z][A-Za-z-]*)"
)
# sentences meant for staff, not for a citizen's letter
_INTERNAL = re.compile(r"Sachbearbeitung|\bintern\b|Leitfaden|Arbeitsanweisung|Checkliste|Teamleitung|Amtsleitung|"
                       r"Sachgebietsleitung|Fachverfahren|Vier-Augen|Textbaustein|Kürzel", re.I)
# sentences addressed to staff: imperatives of guidance ("Prüfen Sie, ob ..."), duties of the office in
# the passive infinitive ("Vor der Aufhebung ist die Person anzuhören"), the citizen in third person
_STAFF_IMPERATIVE = re.compile(
    r"^(?:Bitte\s+)?(?:Prüfen|Fordern|Setzen|Legen|Verwenden|Vermerken|Dokumentieren|Beachten|Hören|Erfassen|"
    r"Leiten|Klären|Kontrollieren|Nutzen|Informieren|Vergewissern|Ermitteln|Holen|Achten|Wählen|Ziehen|"
    r"Begründen|Benennen|Versenden|Senden|Übernehmen|Übertragen|Veranlassen|Bescheiden|Erstellen|Notieren|"
    r"Weisen|Lassen|Geben|Bearbeiten|Beteiligen|Schicken|Stellen)\s+Sie\b")
_STAFF_DUTY = re.compile(r"\b(?:ist|sind)\b[^.;:]*?\b(?:\w+zu(?:[a-zäöüß]{2,})en|zu\s+[a-zäöüß]+en)\b")
_STAFF_WORDS = re.compile(r"Sachbearbeit|Sachgebiet|Formblatt|Vordruck|Bürgerin oder (?:den|der) Bürger|"
                          r"Wiedervorlage|E-Akte|Gesprächsnotiz|Aktenvermerk|"
                          r"\bdie Person\b|\bder Person\b|Antragstellende|Leistungsberechtigte[n]?\b|"
                          r"\bBetroffene[n]?\b|\bvermerken\b|\bdokumentieren\b", re.I)
# a work step in infinitive form ("Sachverhalt vollständig ermitteln und ... festlegen.")
_FINITE = re.compile(r"\b(?:ist|sind|war|waren|wird|werden|wurde|wurden|hat|haben|hatte|kann|können|muss|müssen|"
                     r"soll|sollen|darf|dürfen|gilt|gelten|besteht|bestehen|liegt|liegen|erhalten|erhält|"
                     r"bitten|bitte|wir|ich|Sie)\b")
_INFINITIVE_END = re.compile(r"\b[a-zäöüß]+(?:en|ern|eln)[.!]?$")
# a sentence cut from a list or a parenthesis: "..., wenn." / "... 1.240 EUR),." / "(z."
_FRAGMENT = re.compile(r"(?:\b(?:wenn|dass|ob|weil|soweit|sofern|insbesondere|z)\.$|[,(]\s*\.$|\)\s*,\s*\.?$|^[^(]*\))")
_LEGAL_STATEMENT = re.compile(r"^(?:Nach|Gemäß|Laut)\s+(?:den\s+|dem\s+)?(?:§|Art\.)")
_ADDRESSED = re.compile(r"\b(?:Sie|Ihnen|Ihr|Ihre|Ihren|Ihrem|Ihrer|Ihres)\b")
# grant wording that belongs to Zuschüsse only (never in a Wohngeld or other benefit letter)
_GRANT_WORDS = re.compile(r"Finanzierungsplan|Zuwendung|Verwendungsnachweis|Zuschussempfänger|Mittelabruf")


def addressed_to_staff(sentence: str) -> bool:
    """True for a sentence of internal guidance that must not go into a citizen's letter."""
    s = sentence.strip()
    if not s or s[0].islower() or _FRAGMENT.search(s):  # a fragment of a sentence cut by the passage
        return True
    if _INFINITIVE_END.search(s) and not _FINITE.search(s):
        return True
    if _INTERNAL.search(s) or _STAFF_IMPERATIVE.search(s) or _STAFF_WORDS.search(s):
        return True
    if _LEGAL_STATEMENT.match(s):  # "Nach § 48 Abs. 1 SGB X ist ... aufzuheben": the law, not an instruction
        return False
    return bool(_STAFF_DUTY.search(s)) and not _ADDRESSED.search(s)


QUOTE_BONUS = 2.0  # ready-made letter text (Textbausteine are block quotes) is preferred


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


#: document types that are an application (the Antrag of a Vorgang)
APPLICATION_TYPES = ("Antrag", "Erstantrag", "Weiterleistungsantrag", "Änderungsantrag", "Folgeantrag",
                     "Überprüfungsantrag")
#: document types of an outgoing request for documents (Mitwirkungsaufforderung) or its reminder
REQUEST_TYPES = frozenset({"Nachforderung", "Mitwirkungsaufforderung", "Aufforderung zur Mitwirkung",
                           "Aufforderung Auskunft", "Auskunftsersuchen", "Erinnerung"})
#: titles of the request letters Lotse files (the e-file names a document by its title)
REQUEST_TITLES = ("Anforderung fehlender Unterlagen", "Erinnerung")


def legal_references(text: str) -> list[str]:
    """Legal references such as '§ 66 Abs. 3 SGB I' or 'Art. 36 BayVwVfG', in order, without duplicates."""
    out: list[str] = []
    for m in _LEGAL_REF.finditer(text):
        ref = re.sub(r"\s+", " ", m.group(0)).strip()
        if ref not in out:
            out.append(ref)
    return out


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
    case_type = CASE_TYPE_BY_PROCEDURE.get(case.procedure_type or "")
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
    requests: list[date] = []
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
            elif (target is not None and proc.coo == target.coo
                  and (dtype in REQUEST_TYPES or d.name.startswith(REQUEST_TITLES))):
                # a request of an earlier Vorgang (last year's application) does not count
                when = _date_of(d.created_at)
                if when is not None:
                    requests.append(when)
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
             application.coo if application else None, "found" if applicant else "missing", len(requests))
    return CaseData(case, case_type, target.coo if target else None, applicant, antrag_date,
                    cat.document_type(application.name) if application is not None else None, receipt,
                    frozenset(held), frozenset(target_types), tuple(sorted(requests)), confirmed)


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
            "eingangsdatum": format_date(data.receipt_date) if data.receipt_date else ""}


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


# -- missing documents and the office's sequence rule for requests -----------------------------

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
}
#: checklist items that a continuation (any Vorgang after the first) must bring anew: an older
#: proof in an earlier Vorgang does not count (Wohngeld checklist: "aktuelle Einkommensnachweise")
CURRENT_TYPES = frozenset({"Nachweis Einkommen", "Einkommensnachweis"})
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
    "Rentenbescheid": "aktueller Rentenbescheid bzw. Rentenanpassungsmitteilung",
    "Meldebescheinigung": "Meldebescheinigung",
    "Geburtsurkunde": "Geburtsurkunde des Kindes",
    "Schulbescheinigung": "Schulbescheinigung",
    "Heimvertrag": "Heimvertrag",
    "Pflegegutachten": "Pflegegutachten des Medizinischen Dienstes",
}


def request_rule(case_type: str | None, rules: OfficeRules | None = None) -> RequestRule:
    """The office's rule for requests for documents (``regeln/amtsregeln.yaml``)."""
    return (rules or default_rules()).request(case_type)


_DEFAULT_RULES: OfficeRules | None = None


def default_rules() -> OfficeRules:
    global _DEFAULT_RULES
    if _DEFAULT_RULES is None:
        _DEFAULT_RULES = load_rules(None)
    return _DEFAULT_RULES


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


class ProposalBuilder:
    """Text proposals for generated fields from the knowledge base (no language model)."""

    def __init__(self, kb, cfg: LetterConfig):
        self.kb, self.cfg = kb, cfg
        self._cache: dict[tuple, tuple[float, list]] = {}
        self._lock = threading.Lock()

    def _search(self, query: str, departments: list[str] | None) -> list:
        """Knowledge-base search, reused for ``proposal_cache_s`` (queries carry no personal data)."""
        key = (query, tuple(departments) if departments is not None else None)
        now = time.monotonic()
        ttl = self.cfg.proposal_cache_s
        if ttl > 0:
            with self._lock:
                hit = self._cache.get(key)
                if hit and now - hit[0] < ttl:
                    return hit[1]
        hits = self.kb.search(query, self.cfg.proposal_passages, departments=departments)
        if ttl > 0:
            with self._lock:
                if len(self._cache) > 256:
                    self._cache.clear()
                self._cache[key] = (now, hits)
        return hits

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _departments(self, principal: Principal, case_type: str | None) -> list[str] | None:
        wanted = self.cfg.proposal_departments.get(case_type or "") or None
        if principal.departments is None:
            return wanted
        allowed = list(principal.departments)
        return [d for d in wanted if d in allowed] if wanted else allowed

    def propose(self, spec: FieldSpec, principal: Principal, case_type: str | None, verfahren: str,
                template: str = "") -> dict[str, Any]:
        query = f"{spec.query or spec.hint} {verfahren}".strip()
        empty = {"proposal": True, "value": [] if spec.type == "list" else "", "query": query, "sources": [],
                 "legal_references": [], "message": ""}
        if self.kb is None:
            return {**empty, "message": "Keine Wissensbasis angebunden: bitte Text selbst verfassen."}
        deps = self._departments(principal, case_type)
        if deps == []:
            return {**empty, "message": "Für Sie sind keine passenden Quellen freigegeben."}
        hits = self._search(query, deps)
        if not hits and deps and principal.departments is None:
            hits = self._search(query, None)
        if not hits:
            return {**empty, "message": "Keine passende Textstelle in den freigegebenen Quellen gefunden."}
        grants = case_type == "zuschuss"
        if spec.type == "list":
            value, used = self._list(query, hits, grants)
        else:
            value, used = self._text(query, hits, grants)
        if not used:
            return {**empty, "sources": self._to_read(hits),
                    "message": "Die Quellen enthalten hierzu nur interne Arbeitshinweise, keinen Text für den "
                               "Brief. Bitte formulieren Sie diesen Teil selbst; die Quellen helfen beim "
                               "Nachlesen."}
        text = "\n".join(value) if isinstance(value, list) else value
        refs = legal_references(text)
        for i in used:
            for r in legal_references(hits[i].text):
                if r not in refs:
                    refs.append(r)
        if spec.type != "list" and refs and not legal_references(text):
            value = f"{value}\nRechtsgrundlagen: {', '.join(refs[:4])}."
        sources = [{"n": n, "source": hits[i].source, "title": hits[i].title, "section": hits[i].section,
                    "page": hits[i].page, "chunk_id": hits[i].chunk_id, "score": round(hits[i].score, 4)}
                   for n, i in enumerate(used, 1)]
        return {"proposal": True, "value": value, "query": query, "sources": sources, "legal_references": refs,
                "message": "Vorschlag aus den freigegebenen Quellen – bitte prüfen, anpassen und übernehmen."}

    def suggest_reasons(self, spec: FieldSpec, principal: Principal, case_type: str | None, verfahren: str,
                        catalog_: ReasonCatalog) -> dict[str, Any]:
        """Which reason blocks fit, judged from the guidance found for the procedure: block ids and the
        passages to read. Nothing from the guidance becomes letter text."""
        blocks = catalog_.for_case(case_type, spec.reasons or "")
        base = {"proposal": False, "kind": "bausteine", "value": [], "suggested": [], "sources": [],
                "legal_references": []}
        if not blocks:
            return {**base, "message": f"Für dieses Verfahren sind keine {KINDS.get(spec.reasons or '', 'Gründe')} "
                                       "hinterlegt. Bitte schreiben Sie die Begründung selbst (Tatsachen und "
                                       "Rechtsgrundlage)."}
        note = (f"Bitte wählen Sie die zutreffenden {KINDS[spec.reasons]} und füllen Sie die Tatsachen des "
                "Einzelfalls aus.")
        if self.kb is None:
            return {**base, "message": note}
        deps = self._departments(principal, case_type)
        if deps == []:
            return {**base, "message": note}
        query = f"{KINDS[spec.reasons]} {verfahren} " + " ".join(b.title for b in blocks)
        hits = self._search(query, deps)
        from indexer import analyze

        found = suggest(catalog_, blocks, hits, analyze)
        if found:
            titles = ", ".join(f"„{catalog_.get(f['baustein']).title}“" for f in found)
            note += f" Nach den Arbeitshilfen passt möglicherweise: {titles} – bitte am Einzelfall prüfen."
        return {**base, "suggested": found, "sources": self._to_read(hits), "message": note}

    def passages_to_read(self, spec: FieldSpec, principal: Principal, case_type: str | None,
                         verfahren: str) -> list[dict[str, Any]]:
        """The best passages for a field, offered to read beside a proposal made from the case."""
        if self.kb is None:
            return []
        deps = self._departments(principal, case_type)
        if deps == []:
            return []
        return self._to_read(self._search(f"{spec.query or spec.hint} {verfahren}".strip(), deps))

    @staticmethod
    def _to_read(hits) -> list[dict[str, Any]]:
        return [{"n": n, "source": h.source, "title": h.title, "section": h.section, "page": h.page,
                 "chunk_id": h.chunk_id, "score": round(h.score, 4)} for n, h in enumerate(hits[:3], 1)]

    # -- assembly ------------------------------------------------------------------
    def _score(self, weights: dict[str, float], sentence: str) -> float:
        from indexer import analyze

        terms = set(analyze(sentence))
        overlap = sum(w * self.kb.idf(t) for t, w in weights.items() if t in terms)
        return overlap / math.log(8 + len(terms)) if overlap > 0 else 0.0

    @staticmethod
    def _candidates(text: str, grants: bool = False) -> tuple[list[str], bool]:
        quoted = [ln.lstrip().lstrip(">").strip() for ln in text.splitlines() if ln.lstrip().startswith(">")]
        body = "\n".join(quoted) if quoted else text
        out = []
        for raw in (x for line in body.splitlines() for x in split_sentences(line)):
            s = LIST_MARK.sub("", raw).strip().lstrip(">").strip()
            if " | " in s or addressed_to_staff(s) or not 25 <= len(s) <= 600:
                continue
            if not grants and _GRANT_WORDS.search(s):
                continue
            out.append(s if s[-1] in ".!?:)" else s + ".")
        return out, bool(quoted)

    def _text(self, query: str, hits, grants: bool = False) -> tuple[str, list[int]]:
        from indexer import analyze_query

        weights = analyze_query(query)
        scored = []
        top = hits[0].score or 1.0
        for i, h in enumerate(hits):
            if h.score < 0.5 * top:
                break
            prior = 1.0 / (1 + 0.35 * i)
            candidates, quoted = self._candidates(h.text, grants)
            if quoted:
                prior *= QUOTE_BONUS
            for pos, s in enumerate(candidates):
                sc = self._score(weights, s) * prior
                if sc > 0:
                    scored.append((sc, i, pos, s))
        if not scored:
            return "", []
        scored.sort(key=lambda x: -x[0])
        best = scored[0][0]
        chosen = [x for x in scored if x[0] >= 0.3 * best][: self.cfg.proposal_max_sentences]
        chosen.sort(key=lambda x: (x[1], x[2]))  # keep the passages' own order
        paragraphs: list[str] = []
        used: list[int] = []
        for _, i, _, s in chosen:
            if i not in used:
                used.append(i)
                paragraphs.append(s)
            else:
                paragraphs[-1] += " " + s
        return "\n".join(paragraphs), used

    def _list(self, query: str, hits, grants: bool = False) -> tuple[list[str], list[int]]:
        items: list[str] = []
        used: list[int] = []
        top = hits[0].score or 1.0
        for i, h in enumerate(hits):
            if h.score < 0.6 * top:
                break
            lines = [ln.strip() for ln in h.text.splitlines() if ln.strip()]
            found = []
            table = [ln for ln in lines if " | " in ln]
            if len(table) >= 2:  # first column of a table, without its header row
                for ln in table[1:]:
                    found.append(ln.split(" | ")[0].strip())
            else:
                found = [LIST_MARK.sub("", ln).strip().rstrip(",;") for ln in lines if LIST_MARK.match(ln)]
            found = [f for f in found if 3 <= len(f) <= 300 and not addressed_to_staff(f)
                     and (grants or not _GRANT_WORDS.search(f))]
            if not found:
                continue
            used.append(i)
            for f in found:
                if f not in items:
                    items.append(f)
            if len(items) >= self.cfg.proposal_max_items:
                break
        if not items:  # no list in the passages: the best sentences become the items
            text, used = self._text(query, hits, grants)
            items = [s for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()]
        return items[: self.cfg.proposal_max_items], used


def computed_value(spec: FieldSpec, today: date, empfaenger: dict[str, Any] | None) -> str:
    if spec.rule == "briefanrede":
        return briefanrede(empfaenger)
    return format_date(deadline(spec.rule or "today", today))


def case_facts(data: CaseData, today: date) -> CaseFacts:
    found = missing_documents(data)
    return CaseFacts(today=today, case_type=data.case_type, has_application=data.application_type is not None,
                     receipt_confirmed=data.receipt_confirmed, missing=tuple(found[0]) if found else (),
                     request_dates=data.request_dates)


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
        elif spec.source == "generated" and proposals is not None:
            p = proposals.propose(spec, principal, data.case_type, akte["verfahren"], template.name)
            props[spec.name] = p
            values[spec.name] = p["value"]
        else:
            values[spec.name] = empty_value(spec)
    return values, props, notes


def empty_value(spec: FieldSpec) -> Any:
    if spec.type in ("list", "reasons"):
        return []
    if spec.type in ("address", "organisation", "person", "case"):
        return {}
    return ""
