"""The procedure catalog: one YAML file (``procedures.yaml`` next to this module) with every fact
about the social department's procedures, loaded into frozen, validated objects and cached.

Everything else derives its tables from :func:`catalog`: the e-file's procedure types and
Aktenplan (``connectors.efile.procedures``), the department and vocabulary of case records
(``indexer.pii``), case types, letterheads, Rechtsweg and proposal departments of letters
(``assistant.letters``). The file is read once per process; edit it and restart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConnectorError
from ..yamlfile import read_mapping

CATALOG_FILE = Path(__file__).resolve().parent / "procedures.yaml"

#: an e-file object address (COO address)
COO_PATTERN = r"^COO(?:\.\d+){3,6}$"
_DOC_SUFFIX = re.compile(r"\s*\([^()]*\)\s*$")
_YEAR_TOKEN = re.compile(r"^(?:19|20)\d{2}(?:/(?:19|20)?\d{2})?$")


class CatalogError(ConnectorError):
    """The procedure catalog cannot be read or is inconsistent (German message naming the file)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Department(_Frozen):
    amt: str = Field(min_length=1)
    strasse: str = Field(min_length=1)
    plz_ort: str = Field(min_length=1)


class AktenplanEntry(_Frozen):
    coo: str = Field(pattern=COO_PATTERN)
    kennzeichen: str = Field(min_length=1)


class Letterhead(_Frozen):
    abteilung: str = Field(min_length=1)
    telefon: str = Field(min_length=1)
    email: str = Field(min_length=3)


class Procedure(_Frozen):
    """One procedure type with all its facts (see the comments in ``procedures.yaml``)."""

    code: str = Field(pattern=r"^[A-Z]+$")
    name: str = Field(min_length=1)
    department: str = Field(min_length=1)
    aktenplan: AktenplanEntry
    case_type: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    rechtsweg: str
    checklist: tuple[str, ...]
    #: what an application asks for, as letters name it after "Antrag auf" ("Leistungen für Bildung und Teilhabe")
    antrag_auf: str = Field(min_length=1)
    letterhead: Letterhead

    # the names the e-file modules use (EAI terms)
    @property
    def apentry_coo(self) -> str:
        return self.aktenplan.coo

    @property
    def apentry_basenr(self) -> str:
        """Aktenplan-Kennzeichen, e.g. ``S-III 40 10``."""
        return self.aktenplan.kennzeichen

    @property
    def apentry_name(self) -> str:
        return f"{self.apentry_basenr} {self.name}"

    def application(self, kind: str | None = None) -> str:
        """The application as letters name it: ``Antrag auf Wohngeld``, ``Weiterleistungsantrag auf Wohngeld``."""
        return f"{kind or 'Antrag'} auf {self.antrag_auf}"

    @property
    def office(self) -> str:
        """Prefix of new Aktenzeichen: the first part of the Aktenplan-Kennzeichen (not the department)."""
        return self.aktenplan.kennzeichen.split()[0]


class AktenplanRoot(_Frozen):
    coo: str = Field(pattern=COO_PATTERN)
    name: str = Field(min_length=1)


class EfileVocabulary(_Frozen):
    states: tuple[str, ...] = Field(min_length=1)
    closed_states: tuple[str, ...] = Field(min_length=1)
    document_kinds: tuple[str, ...] = Field(min_length=1)
    document_types: tuple[str, ...] = Field(min_length=1)
    title_words: tuple[str, ...] = Field(min_length=1)


class Catalog(_Frozen):
    departments: dict[str, Department] = Field(min_length=1)
    default_department: str = Field(min_length=1)
    shared_departments: tuple[str, ...]
    aktenplan_root: AktenplanRoot
    aktenzeichen_pattern: str
    rechtswege: tuple[str, ...] = Field(min_length=1)
    procedures: tuple[Procedure, ...] = Field(min_length=1)
    efile: EfileVocabulary
    # Cases whose Aktenplan entry is none of the procedures above (e.g. XDOMEA imports of other
    # Aktenpläne) are of this procedure type; their department comes from aktenplan_departments
    # (Aktenplan-Kennzeichen prefix -> department, longest prefix, whole parts), else from the
    # Federführung (an org unit starting with a department code), else default_department.
    other_procedure: str = Field("sonstiges Verfahren", min_length=1)
    aktenplan_departments: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        problems: list[str] = []
        columns = {key: [getattr(p, key) for p in self.procedures] for key in ("code", "name", "case_type")}
        for key in ("coo", "kennzeichen"):
            columns[f"aktenplan.{key}"] = [getattr(p.aktenplan, key) for p in self.procedures]
        for key, values in columns.items():
            dup = sorted({v for v in values if values.count(v) > 1})
            if dup:
                problems.append(f"'{key}' kommt mehrfach vor: {', '.join(dup)}")
        for p in self.procedures:
            if p.department not in self.departments:
                problems.append(f"{p.name}: unbekannte Abteilung '{p.department}' "
                                f"(bekannt: {', '.join(self.departments)})")
            if p.rechtsweg not in self.rechtswege:
                problems.append(f"{p.name}: ungültiger Rechtsweg '{p.rechtsweg}' "
                                f"(erlaubt: {', '.join(self.rechtswege)})")
            if re.match(r"(?i)\s*(?:\w*antrag\b|auf\b)", p.antrag_auf):
                problems.append(f"{p.name}: antrag_auf nennt, was beantragt wird, ohne 'Antrag auf' davor "
                                f"(z. B. 'Leistungen für Bildung und Teilhabe'), nicht '{p.antrag_auf}'")
            unknown = [t for t in p.checklist if t not in self.efile.document_types]
            if unknown:
                problems.append(f"{p.name}: Checkliste nennt unbekannte Dokumentarten: {', '.join(unknown)}")
        unknown = [d for d in self.shared_departments if d not in self.departments]
        if unknown:
            problems.append(f"shared_departments nennt unbekannte Abteilungen: {', '.join(unknown)}")
        unknown = sorted({d for d in self.aktenplan_departments.values()
                          if d not in self.departments and d != self.default_department})
        if unknown:
            problems.append(f"aktenplan_departments nennt unbekannte Abteilungen: {', '.join(unknown)}")
        if self.other_procedure in {p.name for p in self.procedures}:
            problems.append(f"other_procedure '{self.other_procedure}' ist ein Verfahren des Katalogs")
        if self.default_department in self.departments:
            problems.append(f"default_department '{self.default_department}' ist eine Fachabteilung")
        try:
            pattern = re.compile(self.aktenzeichen_pattern)
        except re.error as exc:
            problems.append(f"aktenzeichen_pattern ist kein gültiger regulärer Ausdruck ({exc})")
        else:
            if "code" not in pattern.groupindex:
                problems.append("aktenzeichen_pattern braucht die Gruppe (?P<code>...)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- lookups ---------------------------------------------------------------------------
    @cached_property
    def _by_code(self) -> dict[str, Procedure]:
        return {p.code: p for p in self.procedures}

    @cached_property
    def _by_name(self) -> dict[str, Procedure]:
        return {p.name: p for p in self.procedures}

    @cached_property
    def _aktenzeichen(self) -> re.Pattern[str]:
        return re.compile(self.aktenzeichen_pattern)

    def by_code(self, code: str) -> Procedure:
        """The procedure with this Aktenzeichen code (``KeyError`` if unknown)."""
        return self._by_code[code.upper()]

    def by_name(self, name: str | None) -> Procedure | None:
        return self._by_name.get(name or "")

    def by_apentry(self, coo: str | None) -> Procedure | None:
        return next((p for p in self.procedures if p.aktenplan.coo == coo), None) if coo else None

    def is_aktenzeichen(self, text: str) -> bool:
        return bool(self._aktenzeichen.match(text))

    def procedure_of_aktenzeichen(self, aktenzeichen: str | None) -> Procedure | None:
        """The procedure named by the code in an Aktenzeichen (``S-III-WG/2026/001234`` -> Wohngeld)."""
        m = self._aktenzeichen.match((aktenzeichen or "").strip())
        return self._by_code.get(m.group("code")) if m else None

    def department_of(self, procedure_name: str | None) -> str:
        """Department of a case or letter of this procedure; ``default_department`` if unknown."""
        p = self.by_name(procedure_name)
        return p.department if p else self.default_department

    def department_of_aktenzeichen(self, aktenzeichen: str | None) -> str:
        """Department of the case with this Aktenzeichen: the department of the procedure its code names."""
        p = self.procedure_of_aktenzeichen(aktenzeichen)
        return p.department if p else self.default_department

    def department_of_other(self, aktenplan: str | None, federfuehrung: str | None = None) -> str | None:
        """Department of a case of :attr:`other_procedure`: the longest ``aktenplan_departments``
        prefix of its Aktenplan-Kennzeichen (compared part by part; spaces, dots and slashes
        separate), else the department code its Federführung starts with; ``None`` when neither
        says (the caller then uses its default department)."""
        parts = _aplan_parts(aktenplan or "")
        best: tuple[int, str] | None = None
        for prefix, dep in self.aktenplan_departments.items():
            pp = _aplan_parts(prefix)
            if pp and parts[:len(pp)] == pp and (best is None or len(pp) > best[0]):
                best = (len(pp), dep)
        if best:
            return best[1]
        org = (federfuehrung or "").strip().upper()
        for code in sorted(self.departments, key=len, reverse=True):
            if org == code.upper() or re.match(re.escape(code.upper()) + r"[\s\-/.,:]", org):
                return code
        return None

    def proposal_departments(self, procedure: Procedure) -> list[str]:
        """Departments whose guidance the letters of a procedure may cite: its own, then the shared ones."""
        return list(dict.fromkeys((procedure.department, *self.shared_departments)))

    def letterhead(self, procedure: Procedure) -> dict[str, str]:
        """Letterhead fields (``behoerde`` of the templates): the department's office and address
        with the procedure's Abteilung and contact data."""
        return {**self.departments[procedure.department].model_dump(), **procedure.letterhead.model_dump()}

    # -- derived tables --------------------------------------------------------------------
    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.procedures)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.procedures)

    @property
    def case_types(self) -> tuple[str, ...]:
        return tuple(p.case_type for p in self.procedures)

    @property
    def department_by_name(self) -> dict[str, str]:
        return {p.name: p.department for p in self.procedures}

    @property
    def case_type_by_name(self) -> dict[str, str]:
        return {p.name: p.case_type for p in self.procedures}

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Case-folded words allowed in e-file titles: procedure names and codes, document types,
        title words."""
        words = [*" ".join(self.names).split(), *self.codes, *self.efile.document_types, *self.efile.title_words]
        return frozenset(w.casefold() for w in words)

    # -- vocabulary ------------------------------------------------------------------------
    @cached_property
    def _document_types_longest_first(self) -> list[str]:
        return sorted(self.efile.document_types, key=len, reverse=True)

    def document_type(self, name: str) -> str | None:
        """Canonical type of a document from its name (``Antrag Wohngeld Huber, Anna (AZ-0001-0001)``):
        the longest document type the name starts with."""
        base = _DOC_SUFFIX.sub("", name or "").strip().casefold()
        for t in self._document_types_longest_first:
            tf = t.casefold()
            if base == tf or base.startswith(tf + " ") or base.startswith(tf + ","):
                return t
            if base.startswith(tf) and len(tf) >= 6:  # compounds: "Antragsformular" stays "Antrag"
                return t
        return None

    def vocabulary_filter(self, text: str) -> str:
        """Only the vocabulary words and years of a short title ("Erstantrag Wohngeld 2026")."""
        kept = []
        for tok in re.split(r"\s+", text.strip()):
            bare = tok.strip(",;:()")
            if not bare:
                continue
            if bare.casefold() in self.vocabulary or _YEAR_TOKEN.match(bare):
                kept.append(bare)
        return " ".join(kept)


def _aplan_parts(text: str) -> list[str]:
    """``S-II 30.20`` / ``s-ii/30/20`` -> ``["S-II", "30", "20"]``."""
    return [p for p in re.split(r"[\s./]+", text.strip().upper()) if p]


def _read(path: Path) -> Mapping[str, Any]:
    return read_mapping(path, "Der Verfahrenskatalog", "procedures, departments, ...", CatalogError)


def _german(err: Mapping[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "fehlt"
    if kind == "extra_forbidden":
        return "ist kein bekannter Eintrag"
    if kind == "string_pattern_mismatch":
        return f"hat nicht die Form {ctx.get('pattern')}"
    if kind in ("string_too_short", "too_short"):
        return "ist leer"
    if kind in ("tuple_type", "list_type"):
        return "muss eine Liste sein"
    if kind in ("dict_type", "model_type"):
        return "muss eine Zuordnung sein"
    if kind == "string_type":
        return "muss ein Text sein"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(err["msg"])


def parse_catalog(data: Mapping[str, Any], source: str = "Verfahrenskatalog") -> Catalog:
    """Validate catalog data; :class:`CatalogError` lists every missing or wrong fact."""
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            if isinstance(data.get("procedures"), list) and err["loc"][:1] == ("procedures",) and len(err["loc"]) > 1:
                i = err["loc"][1]
                entry = data["procedures"][i] if isinstance(i, int) else None
                if isinstance(entry, dict) and entry.get("name"):
                    loc = f"{entry['name']}: " + ".".join(str(x) for x in err["loc"][2:])
            problems.append(f"{loc}: {_german(err)}" if loc else _german(err))
        raise CatalogError(f"Der {source} ist unvollständig oder fehlerhaft: " + "; ".join(problems)) from exc


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog file (not cached; :func:`catalog` is the cached one)."""
    p = Path(path) if path else CATALOG_FILE
    return parse_catalog(_read(p), f"Verfahrenskatalog {p}")


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The procedure catalog shipped in ``connectors/catalog/procedures.yaml``, read once per process."""
    return load_catalog(CATALOG_FILE)


__all__ = ["CATALOG_FILE", "COO_PATTERN", "Catalog", "CatalogError", "Department", "Procedure", "catalog",
           "load_catalog", "parse_catalog"]
