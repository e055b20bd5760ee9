"""Text proposals for generated fields: the knowledge base is searched with the field's ``query`` plus
the procedure name; the text is assembled from the best passages (sentences meant for staff are left
out, see :func:`addressed_to_staff`) and carries their legal references and source references. A
proposal stays ``proposal: true`` until a person accepts or edits it. No language model."""

from __future__ import annotations

import math
import re
import threading
import time
from typing import Any

from indexer.text import LIST_MARK, split_sentences

from ..identity import Principal
from .config import LetterConfig
from .reasons import KINDS, ReasonCatalog, suggest
from .templates import FieldSpec

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


def legal_references(text: str) -> list[str]:
    """Legal references such as '§ 66 Abs. 3 SGB I' or 'Art. 36 BayVwVfG', in order, without duplicates."""
    out: list[str] = []
    for m in _LEGAL_REF.finditer(text):
        ref = re.sub(r"\s+", " ", m.group(0)).strip()
        if ref not in out:
            out.append(ref)
    return out


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


