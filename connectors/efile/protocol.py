"""What Lotse needs from an e-file: a small protocol with plain result dataclasses.

Ids are COO addresses (``COO.1.2301.1.1042432``). Containment:
Aktenplaneintrag -> Akte (case) -> Vorgang (procedure) -> Dokument -> Schriftstück (file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ProcedureRef:
    coo: str
    name: str


@dataclass(frozen=True)
class CaseRef:
    coo: str
    name: str  # as the search returns it (objname, usually the Aktenzeichen)


@dataclass(frozen=True)
class Case:
    coo: str
    aktenzeichen: str  # objname
    title: str  # shortname
    subject: str  # filesubj (free text, may contain personal data)
    keywords: tuple[str, ...]  # objterms split at ";"
    apentry: str  # COO address of the Aktenplaneintrag
    procedure_type: str | None  # e.g. "Wohngeld", derived from apentry / Aktenzeichen
    org_unit: str | None  # fileouobj
    runtime_from: datetime | None
    runtime_till: datetime | None
    procedures: tuple[ProcedureRef, ...] = ()


@dataclass(frozen=True)
class DocumentRef:
    coo: str
    name: str
    kind: str | None = None  # "Eingang", "Erledigung", "Intern" or None when unknown
    created_at: datetime | None = None


@dataclass(frozen=True)
class Procedure:
    coo: str
    case_coo: str  # referrednumber
    name: str  # objname (Vorgangskennzeichen)
    title: str  # shortname
    subject: str  # filesubj
    keywords: tuple[str, ...]
    state: str | None  # objdocstate, e.g. "In Bearbeitung"
    processing_state: str | None  # bostate
    remark: str | None  # procremark
    filetype: str | None  # Elektronisch / Papier / Hybrid
    documents: tuple[DocumentRef, ...] = ()


@dataclass(frozen=True)
class ContentFile:
    """A Schriftstück with its content."""

    coo: str
    document_coo: str
    file_name: str  # with extension
    extension: str
    mime_type: str
    content: bytes = field(repr=False)
    subject: tuple[str, ...] = ()


@dataclass(frozen=True)
class FilingReceipt:
    objid: str
    objname: str
    already_filed: bool = False  # True when an earlier call with the same key had filed it


@dataclass(frozen=True)
class Health:
    ok: bool
    message: str  # German
    latency_ms: float | None = None


@runtime_checkable
class EFileConnector(Protocol):
    def get_case(self, coo: str) -> Case: ...

    def search_cases(
        self,
        aktenzeichen: str | None = None,
        apentry: str | None = None,
        subject: str | None = None,
    ) -> list[CaseRef]: ...

    def get_procedure(self, coo: str) -> Procedure: ...

    def list_documents(self, procedure_coo: str) -> list[DocumentRef]: ...

    def read_document(self, document_coo: str) -> list[ContentFile]: ...

    def file_outgoing(
        self,
        procedure_coo: str,
        title: str,
        subject: str,
        file_name: str,
        content: bytes,
        idempotency_key: str,
        *,
        userlogin: str | None = None,
    ) -> FilingReceipt: ...

    def health(self) -> Health: ...

    def close(self) -> None: ...
