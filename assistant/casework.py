"""Case-aware assistance: what a case holds, what its process checklist asks for, what is missing.

The case is read live from the e-file through the connector and reduced to its
non-sensitive record (indexer.pii.CaseRecordBuilder: procedure, state, document
types); no name, address or free text of the case reaches the answer or the logs.
The checklist comes from the policy corpus (documents of type ``checkliste`` of
the procedure), so every "missing" item carries a citation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from indexer import Hit, KnowledgeBase, analyze

from .errors import AssistantError, NotFoundError

log = logging.getLogger(__name__)

#: one answer for an unknown case and a case of another department: existence is not revealed
CASE_UNAVAILABLE = "Diese Akte gibt es nicht oder sie gehört nicht zu Ihren Fachbereichen."

# Checklist rows that are column headers, not documents
_HEADER_WORDS = {"unterlage", "unterlagen", "nachweis", "einkommensart", "hinweis", "formblatt", "intern"}


@dataclass(frozen=True)
class CaseFacts:
    aktenzeichen: str
    procedure_type: str | None
    department: str
    state: str
    present: tuple[str, ...]  # document types the case holds
    summary: str  # the non-sensitive record text


def read_case(connector, aktenzeichen: str, default_department: str | None = None) -> CaseFacts:
    """The non-sensitive facts of a case. ``default_department`` (``LOTSE_INDEX__DEFAULT_DEPARTMENT``,
    ``kb.cfg.default_department``) is the department of a case of no known procedure; without it, the
    procedure catalog's."""
    from connectors import ConnectorError, NotFound
    from indexer.pii import CaseRecordBuilder

    if connector is None:
        raise AssistantError("Die E-Akte ist nicht angebunden (LOTSE_EFILE_URL fehlt).")
    try:
        refs = connector.search_cases(aktenzeichen=aktenzeichen)
        if not refs:
            raise NotFoundError(CASE_UNAVAILABLE)
        case = connector.get_case(refs[0].coo)
        procedures = [connector.get_procedure(p.coo) for p in case.procedures]
        documents = {p.coo: connector.list_documents(p.coo) for p in procedures}
    except NotFound as exc:
        raise NotFoundError(CASE_UNAVAILABLE) from exc
    except ConnectorError as exc:
        raise AssistantError(f"E-Akte: {exc.message}") from exc
    record = CaseRecordBuilder(default_department=default_department).build(case, procedures, documents)
    present = tuple(sorted({t for _, t, _ in record.documents}))
    return CaseFacts(record.aktenzeichen, record.procedure_type, record.department, record.state, present,
                     record.text())


def checklist_items(kb: KnowledgeBase, facts: CaseFacts, k: int = 4) -> list[tuple[str, Hit]]:
    """Required documents named in the procedure's checklist: (item, the passage naming it)."""
    query = f"Checkliste Unterlagen {facts.procedure_type or ''}".strip()
    hits = kb.search(query, k, doc_types=["checkliste"], departments=[facts.department])
    items: list[tuple[str, Hit]] = []
    seen: set[str] = set()
    for hit in hits:
        for line in hit.text.splitlines():
            cell = line.split(" | ")[0].strip(" -•")
            if " | " not in line or not cell or len(cell) > 80:
                continue
            if set(analyze(cell)) <= {t for w in _HEADER_WORDS for t in analyze(w)}:
                continue
            if cell.lower() not in seen:
                seen.add(cell.lower())
                items.append((cell, hit))
    return items


def missing_documents(items: list[tuple[str, Hit]], present: tuple[str, ...]) -> list[tuple[str, Hit]]:
    have = [set(analyze(p)) for p in present]
    out = []
    for item, hit in items:
        terms = set(analyze(item))
        # present when a document type of the case names it ("Antrag" covers "Antrag auf Mietzuschuss")
        if not any(terms and h and (h <= terms or len(terms & h) / len(terms) >= 0.5) for h in have):
            out.append((item, hit))
    return out
