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

from ..identity import Principal
from .calendar import deadline, format_date, parse_date
from .config import LetterConfig
from .errors import LetterValidationError
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
_SPLIT = re.compile(r"(?<!Abs\.)(?<!Nr\.)(?<!Art\.)(?<! S\.)(?<!vgl\.)(?<!bzw\.)(?<!ggf\.)(?<! z\. B\.)"
                    r"(?<!Buchst\.)(?<=[.!?])\s+(?=[A-ZÄÖÜ(§0-9„\"])|\n+")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
# sentences meant for staff, not for a citizen's letter
_INTERNAL = re.compile(r"Sachbearbeitung|\bintern\b|Leitfaden|Arbeitsanweisung|Checkliste|Teamleitung|Amtsleitung|"
                       r"Sachgebietsleitung|Fachverfahren|Vier-Augen|Textbaustein|Kürzel", re.I)
QUOTE_BONUS = 2.0  # ready-made letter text (Textbausteine are block quotes) is preferred


@dataclass
class CaseData:
    """What a letter needs from the e-file. ``applicant`` holds personal data: memory only."""

    case: Case
    case_type: str | None
    procedure_coo: str | None  # the Vorgang letters are filed into (the latest open one)
    applicant: dict[str, Any] | None = field(default=None, repr=False)
    antrag_date: date | None = None


def legal_references(text: str) -> list[str]:
    """Legal references such as '§ 66 Abs. 3 SGB I' or 'Art. 36 BayVwVfG', in order, without duplicates."""
    out: list[str] = []
    for m in _LEGAL_REF.finditer(text):
        ref = re.sub(r"\s+", " ", m.group(0)).strip()
        if ref not in out:
            out.append(ref)
    return out


def load_case(efile: EFileConnector, aktenzeichen: str) -> CaseData:
    """Find the case by Aktenzeichen and read its Antrag (``antrag.json``) live."""
    az = aktenzeichen.strip()
    refs = efile.search_cases(aktenzeichen=az)
    if not refs:
        raise NotFound(f"Zum Aktenzeichen {az} gibt es keine (nicht stornierte) Akte in der E-Akte.")
    case = efile.get_case(refs[0].coo)
    case_type = CASE_TYPE_BY_PROCEDURE.get(case.procedure_type or "")
    procedures = []
    for ref in case.procedures:
        try:
            procedures.append(efile.get_procedure(ref.coo))
        except NotFound:
            continue
    open_procs = [p for p in procedures if (p.state or "") not in CLOSED_STATES]
    target = (open_procs[-1] if open_procs else (procedures[-1] if procedures else None))
    applicant, antrag_date = None, None
    for proc in procedures:
        docs = efile.list_documents(proc.coo)
        antrag = next((d for d in docs if (d.kind in (None, "Eingang")) and d.name.startswith("Antrag")), None)
        if antrag is None:
            continue
        for f in efile.read_document(antrag.coo):
            if f.file_name == "antrag.json":
                try:
                    applicant = json.loads(f.content.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    log.warning("antrag.json of document %s is not valid JSON", antrag.coo)
                    applicant = None
                break
        if applicant is not None:
            raw = applicant.get("antragsdatum") if isinstance(applicant, dict) else None
            try:
                antrag_date = parse_date(raw) if raw else None
            except ValueError:
                antrag_date = None
            if antrag_date is None and antrag.created_at is not None:
                antrag_date = antrag.created_at.date()
            break
    if antrag_date is None and case.runtime_from is not None:
        antrag_date = case.runtime_from.date()
    log.info("case %s loaded for a letter: %d procedures, filing target %s, antrag %s", case.coo,
             len(procedures), target.coo if target else None, "found" if applicant else "missing")
    return CaseData(case, case_type, target.coo if target else None,
                    applicant if isinstance(applicant, dict) else None, antrag_date)


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
    verfahren = ""
    if data.applicant and isinstance(data.applicant.get("verfahren"), str):
        verfahren = data.applicant["verfahren"]
    verfahren = verfahren or data.case.procedure_type or ""
    antragsdatum = format_date(data.antrag_date) if data.antrag_date else ""
    betreff = f"{verfahren} – Antrag vom {antragsdatum}" if antragsdatum else verfahren
    return {"aktenzeichen": data.case.aktenzeichen, "betreff": betreff, "verfahren": verfahren,
            "antragsdatum": antragsdatum}


def sachbearbeitung_for(principal: Principal, cfg: LetterConfig, case_type: str | None) -> dict[str, str]:
    p = cfg.sachbearbeitung.get(principal.user_id)
    if p is not None:
        return p.model_dump()
    b = cfg.behoerde_for(case_type)
    return {"name": principal.display_name, "telefon": b.telefon, "email": b.email, "zimmer": ""}


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

    def propose(self, spec: FieldSpec, principal: Principal, case_type: str | None, verfahren: str) -> dict[str, Any]:
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
        if spec.type == "list":
            value, used = self._list(query, hits)
        else:
            value, used = self._text(query, hits)
        if not used:
            return {**empty, "message": "Keine passende Textstelle in den freigegebenen Quellen gefunden."}
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

    # -- assembly ------------------------------------------------------------------
    def _score(self, weights: dict[str, float], sentence: str) -> float:
        from indexer import analyze

        terms = set(analyze(sentence))
        overlap = sum(w * self.kb.idf(t) for t, w in weights.items() if t in terms)
        return overlap / math.log(8 + len(terms)) if overlap > 0 else 0.0

    @staticmethod
    def _candidates(text: str) -> tuple[list[str], bool]:
        quoted = [ln.lstrip().lstrip(">").strip() for ln in text.splitlines() if ln.lstrip().startswith(">")]
        body = "\n".join(quoted) if quoted else text
        out = []
        for raw in _SPLIT.split(body):
            s = _LIST_MARK.sub("", raw).strip().lstrip(">").strip()
            if " | " in s or _INTERNAL.search(s) or not 25 <= len(s) <= 600:
                continue
            out.append(s if s[-1] in ".!?:)" else s + ".")
        return out, bool(quoted)

    def _text(self, query: str, hits) -> tuple[str, list[int]]:
        from indexer import analyze_query

        weights = analyze_query(query)
        scored = []
        top = hits[0].score or 1.0
        for i, h in enumerate(hits):
            if h.score < 0.5 * top:
                break
            prior = 1.0 / (1 + 0.35 * i)
            candidates, quoted = self._candidates(h.text)
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

    def _list(self, query: str, hits) -> tuple[list[str], list[int]]:
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
                found = [_LIST_MARK.sub("", ln).strip().rstrip(",;") for ln in lines if _LIST_MARK.match(ln)]
            found = [f for f in found if 3 <= len(f) <= 300 and not _INTERNAL.search(f)]
            if not found:
                continue
            used.append(i)
            for f in found:
                if f not in items:
                    items.append(f)
            if len(items) >= self.cfg.proposal_max_items:
                break
        if not items:  # no list in the passages: the best sentences become the items
            text, used = self._text(query, hits)
            items = [s for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()]
        return items[: self.cfg.proposal_max_items], used


def computed_value(spec: FieldSpec, today: date, empfaenger: dict[str, Any] | None) -> str:
    if spec.rule == "briefanrede":
        return briefanrede(empfaenger)
    return format_date(deadline(spec.rule or "today", today))


def prefill(template: LetterTemplate, data: CaseData, principal: Principal, cfg: LetterConfig,
            proposals: ProposalBuilder | None, today: date | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Field values and proposals for a new draft of ``template`` for the case ``data``."""
    today = today or datetime.now().date()
    if data.case_type and data.case_type not in template.case_types:
        label = CASE_TYPE_LABELS.get(data.case_type, data.case_type)
        raise LetterValidationError(f"Die Vorlage „{template.title}“ passt nicht zum Verfahren „{label}“ "
                                    f"der Akte {data.case.aktenzeichen}.")
    values: dict[str, Any] = {}
    props: dict[str, Any] = {}
    empfaenger = recipient(data.applicant, data.case_type)
    akte = case_block(data)
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
        elif spec.source == "computed":
            values[spec.name] = computed_value(spec, today, empfaenger)
        elif spec.source == "generated" and proposals is not None:
            p = proposals.propose(spec, principal, data.case_type, akte["verfahren"])
            props[spec.name] = p
            values[spec.name] = p["value"]
        else:
            values[spec.name] = empty_value(spec)
    return values, props


def empty_value(spec: FieldSpec) -> Any:
    if spec.type == "list":
        return []
    if spec.type in ("address", "organisation", "person", "case"):
        return {}
    return ""
