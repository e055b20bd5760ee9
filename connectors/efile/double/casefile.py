"""The cases JSON format of the double and loading it into the store.

Top level: ``{"cases": [Case, ...]}`` (a bare list of cases is accepted too).
See docs/efile.md for a full example. COO addresses are optional everywhere;
missing ones are allocated. Dates are ISO-8601; without offset Europe/Berlin is assumed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..procedures import APLAN_ROOT_COO, APLAN_ROOT_NAME, PROCEDURE_TYPES, by_code
from .store import Obj, Store

TZ = ZoneInfo("Europe/Berlin")
KIND_BY_LABEL = {"Eingang": "incoming", "Erledigung": "outgoing", "Intern": "internal"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileSpec(_Model):
    """A Schriftstück: exactly one of ``text``, ``json``, ``base64``."""

    coo: str | None = None
    name: str  # with extension, e.g. "antrag.json"
    text: str | None = None
    json_: Any = Field(default=None, alias="json")
    base64: str | None = None
    filesubj: list[str] = []
    created: str | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _one_content(self) -> FileSpec:
        given = [x is not None for x in (self.text, self.json_, self.base64)]
        if sum(given) != 1:
            raise ValueError(f"Schriftstück {self.name!r}: genau eines von text, json, base64 angeben")
        return self

    def content_bytes(self) -> bytes:
        if self.text is not None:
            return self.text.encode("utf-8")
        if self.base64 is not None:
            return base64.b64decode(self.base64)
        return json.dumps(self.json_, ensure_ascii=False, indent=2).encode("utf-8")


class DocumentSpec(_Model):
    coo: str | None = None
    kind: Literal["Eingang", "Erledigung", "Intern"]
    shortname: str
    objname: str | None = None
    filesubj: str = ""
    objterms: str = ""
    state: str = "In Bearbeitung"
    date: str | None = None  # Eingangsdatum (delivery) or Versanddatum (outgoingdate)
    referredincoming: str | None = None
    doctemplate: str | None = None
    subfiletype: str | None = None
    files: list[FileSpec] = []


class ProcedureSpec(_Model):
    coo: str | None = None
    shortname: str
    objname: str | None = None
    filesubj: str = ""
    objterms: str = ""
    filetype: Literal["Elektronisch", "Papier", "Hybrid"] = "Elektronisch"
    state: str = "In Bearbeitung"  # objdocstate: In Bearbeitung, Abgeschlossen, Storniert ...
    bostate: str = "Erstellt"
    procremark: str = ""
    fileruntimefrom: str | None = None
    fileruntimetill: str | None = None
    documents: list[DocumentSpec] = []


class CaseSpec(_Model):
    coo: str | None = None
    objname: str  # Aktenzeichen, e.g. S-III-WG/2026/001234
    shortname: str
    filesubj: str = ""
    objterms: str = ""
    procedure_type: str | None = None  # code (WG, HZP, BUT, GRUSI, UVG, ZUS); sets apentry
    apentry: str | None = None
    fileouobj: str | None = None
    accdef: str = "Eigene Organisationseinheit"
    fileruntimefrom: str | None = None
    fileruntimetill: str | None = None
    state: str = "In Bearbeitung"
    procedures: list[ProcedureSpec] = []

    @model_validator(mode="after")
    def _apentry(self) -> CaseSpec:
        if not self.apentry:
            if not self.procedure_type:
                raise ValueError(f"Akte {self.objname}: apentry oder procedure_type angeben")
            self.apentry = by_code(self.procedure_type).apentry_coo
        return self


class CasesFile(_Model):
    cases: list[CaseSpec]


def iso(value: str | None, default: datetime | None = None) -> str | None:
    """Normalise a date to ISO-8601 with offset (Europe/Berlin when none given)."""
    if not value:
        return default.isoformat(timespec="seconds") if default else None
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    return dt.isoformat(timespec="seconds")


def read_cases_file(path: Path) -> list[CaseSpec]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(raw, list):
        raw = {"cases": raw}
    return CasesFile.model_validate(raw).cases


def parse_cases(cases: list[dict[str, Any]]) -> list[CaseSpec]:
    return CasesFile.model_validate({"cases": cases}).cases


def aplan_objects() -> list[Obj]:
    objs = [Obj(APLAN_ROOT_COO, "apentry", None, objname=APLAN_ROOT_NAME, shortname=APLAN_ROOT_NAME)]
    for p in PROCEDURE_TYPES:
        objs.append(
            Obj(p.apentry_coo, "apentry", APLAN_ROOT_COO, objname=p.apentry_name, shortname=p.name,
                data={"basenr": p.apentry_basenr})
        )
    return objs


def load_cases(store: Store, cases: list[CaseSpec]) -> int:
    """Insert the Aktenplan (once) and the cases; returns the number of objects written."""
    given = [coo for coo in _walk_coos(cases) if coo]
    store.reserve_above(given)
    now = datetime.now(TZ)
    objs: list[Obj] = []
    if store.get(APLAN_ROOT_COO) is None:
        objs.extend(aplan_objects())
    terms: set[str] = set()
    for case in cases:
        objs.extend(_case_objects(store, case, now, terms))
    store.add_terms(terms)
    return store.insert_many(objs)


def _walk_coos(cases: list[CaseSpec]) -> Iterator[str | None]:
    for c in cases:
        yield c.coo
        for p in c.procedures:
            yield p.coo
            for d in p.documents:
                yield d.coo
                yield from (f.coo for f in d.files)


def _terms(value: str, sink: set[str]) -> None:
    sink.update(t.strip() for t in value.split(";") if t.strip())


def _case_objects(store: Store, case: CaseSpec, now: datetime, terms: set[str]) -> list[Obj]:
    objs: list[Obj] = []
    case_coo = case.coo or store.new_coo()
    _terms(case.objterms, terms)
    objs.append(
        Obj(case_coo, "file", case.apentry, case.state, case.objname, case.shortname, case.filesubj,
            data={
                "objterms": case.objterms,
                "accdef": case.accdef,
                "fileouobj": case.fileouobj,
                "fileruntimefrom": iso(case.fileruntimefrom),
                "fileruntimetill": iso(case.fileruntimetill),
                "procedureaccdef": "Aktengebunden",
            })
    )
    for pi, proc in enumerate(case.procedures, start=1):
        proc_coo = proc.coo or store.new_coo()
        ref = f"{case.objname}-{pi:04d}"
        _terms(proc.objterms, terms)
        objs.append(
            Obj(proc_coo, "procedure", case_coo, proc.state, proc.objname or f"{proc.shortname} ({ref})",
                proc.shortname, proc.filesubj,
                data={
                    "objterms": proc.objterms,
                    "accdef": "Aktengebunden",
                    "filetype": proc.filetype,
                    "bostate": proc.bostate,
                    "procremark": proc.procremark,
                    "fileruntimefrom": iso(proc.fileruntimefrom),
                    "fileruntimetill": iso(proc.fileruntimetill),
                    "reference": ref,
                    "objowngroup": case.fileouobj,
                })
        )
        for di, doc in enumerate(proc.documents, start=1):
            doc_coo = doc.coo or store.new_coo()
            kind = KIND_BY_LABEL[doc.kind]
            date = iso(doc.date, now)
            data: dict[str, Any] = {"objterms": doc.objterms, "accdef": "Aktengebunden", "objcreatedat": date}
            if kind == "outgoing":
                data.update(outgoingdate=date, referredincoming=doc.referredincoming,
                            doctemplate=doc.doctemplate, subfiletype=doc.subfiletype or "Schreiben")
            elif kind == "incoming":
                data.update(delivery=date)
            _terms(doc.objterms, terms)
            objs.append(
                Obj(doc_coo, kind, proc_coo, doc.state, doc.objname or f"{doc.shortname} ({ref}-{di:04d})",
                    doc.shortname, doc.filesubj, data=data)
            )
            for f in doc.files:
                objs.append(content_object(f.coo or store.new_coo(), doc_coo, f.name, f.content_bytes(),
                                           f.filesubj, iso(f.created, now) or date or ""))
    return objs


def content_object(coo: str, doc_coo: str, file_name: str, content: bytes,
                   filesubj: list[str], created: str) -> Obj:
    stem, dot, ext = file_name.rpartition(".")
    if not dot:
        stem, ext = file_name, ""
    return Obj(coo, "content", doc_coo, "In Bearbeitung", file_name, stem, "\n".join(filesubj),
               data={"fileName": stem, "fileExtention": ext, "filesubj": filesubj, "objcreatedat": created},
               content=content)
