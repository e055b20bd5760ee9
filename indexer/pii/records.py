"""Case records: the non-sensitive view of an e-file case (Akte) that goes into the index.

Nothing from an e-file case reaches the index unless its field is listed in :data:`CASE_FIELDS`,
:data:`PROCEDURE_FIELDS` or :data:`DOCUMENT_FIELDS`. Structured values are reduced to the
controlled vocabularies of the procedure catalog (procedure type, state, document type,
Aktenzeichen pattern, COO address); titles keep only vocabulary words. Free-text subjects are
left out unless ``include_free_text=True``, and then only after :func:`~indexer.pii.detector.scrub`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

from connectors.catalog import COO_PATTERN, catalog
from connectors.efile.protocol import Case, DocumentRef, Procedure

from .detector import scrub

_CATALOG = catalog()


#: the only fields of the connector dataclasses the record builder may read
CASE_FIELDS = frozenset({"coo", "aktenzeichen", "apentry", "procedure_type", "org_unit", "runtime_from",
                         "runtime_till", "keywords", "procedures"})
PROCEDURE_FIELDS = frozenset({"coo", "title", "keywords", "state", "processing_state", "filetype"})
DOCUMENT_FIELDS = frozenset({"coo", "name", "kind", "created_at"})
#: free-text fields, read only with ``include_free_text=True`` and always scrubbed
FREE_TEXT_FIELDS = frozenset({"Case.subject", "Procedure.subject"})

#: procedure type name -> department of the Sozialreferat (from the procedure catalog)
DEPARTMENTS: Mapping[str, str] = MappingProxyType(_CATALOG.department_by_name)

KNOWN_STATES = _CATALOG.efile.states
CLOSED_STATES = frozenset(_CATALOG.efile.closed_states)
DOCUMENT_KINDS = _CATALOG.efile.document_kinds
#: canonical document types; a document's name is classified by its longest matching prefix
DOCUMENT_TYPES = _CATALOG.efile.document_types
document_type = _CATALOG.document_type
vocabulary_filter = _CATALOG.vocabulary_filter
_COO = re.compile(COO_PATTERN)


def _field(obj: object, name: str) -> object:
    """Read an allowlisted field; reading any other field is a programming error."""
    allowed = {Case: CASE_FIELDS, Procedure: PROCEDURE_FIELDS, DocumentRef: DOCUMENT_FIELDS}.get(type(obj))
    if allowed is None or name not in allowed:
        raise PermissionError(f"field {type(obj).__name__}.{name} is not on the PII allowlist")
    return getattr(obj, name)


def _free_text(obj: object, name: str) -> str:
    key = f"{type(obj).__name__}.{name}"
    if key not in FREE_TEXT_FIELDS:
        raise PermissionError(f"free-text field {key} is not on the PII allowlist")
    return str(getattr(obj, name) or "")


def _state(value: object) -> str | None:
    s = str(value or "").strip()
    return s if s in KNOWN_STATES else None


def _day(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%d.%m.%Y")


@dataclass(frozen=True)
class ProcedureSummary:
    title: str
    state: str | None
    document_types: tuple[str, ...]


@dataclass(frozen=True)
class CaseRecord:
    """The non-sensitive view of one e-file case (Akte) that goes into the index."""

    coo: str
    aktenzeichen: str
    procedure_type: str | None
    apentry_name: str | None
    department: str
    state: str
    org_unit: str | None
    runtime_from: str | None
    runtime_till: str | None
    keywords: tuple[str, ...]
    procedures: tuple[ProcedureSummary, ...]
    documents: tuple[tuple[str, str, int], ...]  # (kind, type, count)
    last_document: str | None
    free_text: tuple[str, ...] = ()
    scrubbed: int = 0  # number of detector findings removed from free text (count only)
    version: str = field(default="1", repr=False)

    @property
    def section(self) -> str:
        return self.procedure_type or "Akte"

    @property
    def title(self) -> str:
        return f"Akte {self.aktenzeichen}"

    @property
    def source(self) -> str:
        return f"efile:{self.aktenzeichen}"

    def text(self) -> str:
        lines = [f"Akte {self.aktenzeichen} ({self.section})"]
        if self.procedure_type:
            ap = f", Aktenplan {self.apentry_name}" if self.apentry_name else ""
            lines.append(f"Verfahren: {self.procedure_type}{ap}.")
        lines.append(f"Status: {self.state}.")
        if self.org_unit:
            lines.append(f"Zuständige Organisationseinheit: {self.org_unit} ({self.department}).")
        else:
            lines.append(f"Abteilung: {self.department}.")
        if self.runtime_from or self.runtime_till:
            lines.append(f"Laufzeit: {self.runtime_from or 'offen'} bis {self.runtime_till or 'offen'}.")
        if self.keywords:
            lines.append("Schlagworte: " + ", ".join(self.keywords) + ".")
        if self.procedures:
            procs = "; ".join(f"{p.title} ({p.state or 'Status unbekannt'})" for p in self.procedures)
            lines.append(f"Vorgänge ({len(self.procedures)}): {procs}.")
        if self.documents:
            by_kind: dict[str, list[str]] = {}
            for kind, dtype, count in self.documents:
                by_kind.setdefault(kind, []).append(dtype if count == 1 else f"{dtype} ({count}x)")
            total = sum(c for _, _, c in self.documents)
            lines.append(f"Dokumente ({total}): " + "; ".join(f"{k}: {', '.join(v)}" for k, v in by_kind.items())
                         + ".")
        else:
            lines.append("Dokumente: keine.")
        present = {t for _, t, _ in self.documents}
        procedure = _CATALOG.by_name(self.procedure_type)
        missing = [t for t in (procedure.checklist if procedure else ()) if t not in present]
        if missing:
            lines.append("Fehlende Unterlagen: " + ", ".join(missing) + ".")
        if self.last_document:
            lines.append(f"Letztes Dokument vom {self.last_document}.")
        for t in self.free_text:
            lines.append(f"Betreff (bereinigt): {t}")
        return "\n".join(lines)

    def digest(self) -> str:
        h = hashlib.sha256()
        for part in (self.version, self.department, self.section, self.source, self.text()):
            h.update(part.encode("utf-8"))
            h.update(b"\x1f")
        return h.hexdigest()


class CaseRecordBuilder:
    """Turns an e-file case (connector dataclasses) into a :class:`CaseRecord` without personal data."""

    VERSION = "1"

    def __init__(self, *, include_free_text: bool = False, departments: Mapping[str, str] | None = None,
                 default_department: str | None = None):
        """``departments`` (procedure name -> department) and ``default_department`` (for cases of no
        known procedure) default to the procedure catalog's."""
        self.include_free_text = include_free_text
        self.departments = dict(DEPARTMENTS if departments is None else departments)
        self.default_department = default_department or _CATALOG.default_department

    def build(self, case: Case, procedures: Sequence[Procedure],
              documents: Mapping[str, Sequence[DocumentRef]]) -> CaseRecord:
        """``documents`` maps each procedure's COO to its documents (``list_documents``)."""
        az_raw = str(_field(case, "aktenzeichen") or "").strip()
        coo = str(_field(case, "coo"))
        aktenzeichen = az_raw if _CATALOG.is_aktenzeichen(az_raw) else f"ohne Aktenzeichen ({coo})"
        ptype = _field(case, "procedure_type")
        other = ptype == _CATALOG.other_procedure and ptype not in self.departments
        ptype = ptype if ptype in self.departments or _CATALOG.by_name(ptype) is not None or other else None
        entry = _CATALOG.by_apentry(_field(case, "apentry"))
        ap_name = entry.apentry_name if entry else None
        org = str(_field(case, "org_unit") or "")
        # "sonstiges Verfahren": department from the Aktenplan prefix mapping or the Federführung
        other_dep = _CATALOG.department_of_other(str(_field(case, "apentry") or ""), org) if other else None
        org_unit = org if _COO.match(org) else None
        keywords = []
        for kw in _field(case, "keywords") or ():
            kept = vocabulary_filter(str(kw))
            if kept and kept == str(kw).strip() and kept not in keywords:
                keywords.append(kept)
        summaries: list[ProcedureSummary] = []
        counts: dict[tuple[str, str], int] = {}
        last_doc: datetime | None = None
        states: list[str | None] = []
        free: list[str] = []
        n_scrubbed = 0
        if self.include_free_text:
            text, found = scrub(_free_text(case, "subject"))
            if text.strip():
                free.append(text.strip())
            n_scrubbed += len(found)
        for proc in procedures:
            pcoo = str(_field(proc, "coo"))
            state = _state(_field(proc, "state"))
            states.append(state)
            title = vocabulary_filter(str(_field(proc, "title") or "")) or "Vorgang"
            title, found = scrub(title)  # belt and braces: the vocabulary holds no personal data
            n_scrubbed += len(found)
            types: list[str] = []
            for doc in documents.get(pcoo, ()):
                kind = _field(doc, "kind")
                kind = kind if kind in DOCUMENT_KINDS else "Dokument"
                dtype = document_type(str(_field(doc, "name") or "")) or "Sonstiges"
                counts[(kind, dtype)] = counts.get((kind, dtype), 0) + 1
                types.append(dtype)
                created = _field(doc, "created_at")
                if isinstance(created, datetime) and (last_doc is None or created > last_doc):
                    last_doc = created
            summaries.append(ProcedureSummary(title, state, tuple(types)))
            if self.include_free_text:
                text, found = scrub(_free_text(proc, "subject"))
                if text.strip():
                    free.append(text.strip())
                n_scrubbed += len(found)
        if not states:
            case_state = "ohne Vorgang"
        elif all(s in CLOSED_STATES for s in states):
            case_state = "Abgeschlossen"
        else:
            case_state = "In Bearbeitung"
        order = {k: i for i, k in enumerate(DOCUMENT_KINDS)}
        docs = tuple(sorted(((k, t, c) for (k, t), c in counts.items()),
                            key=lambda x: (order.get(x[0], 9), x[1])))
        return CaseRecord(
            coo=coo, aktenzeichen=aktenzeichen, procedure_type=ptype, apentry_name=ap_name,
            department=self.departments.get(ptype or "") or other_dep or self.default_department, state=case_state,
            org_unit=org_unit, runtime_from=_day(_field(case, "runtime_from")),
            runtime_till=_day(_field(case, "runtime_till")), keywords=tuple(keywords),
            procedures=tuple(summaries), documents=docs, last_document=_day(last_doc),
            free_text=tuple(free), scrubbed=n_scrubbed,
            version=self.VERSION + ("f" if self.include_free_text else ""),
        )
