"""Configuration of the letter workflow (``letters`` in ``lotse.settings.Settings``).

Environment example: ``LOTSE_LETTERS__BEHOERDE__TELEFON="089 233-96000"``,
``LOTSE_LETTERS__TEMPLATES_DIR=/srv/lotse/vorlagen``. The defaults per procedure (letterhead,
Rechtsweg, departments searched for text proposals) come from the procedure catalog
(``connectors/catalog/procedures.yaml``); what holds for every letter (the Internet address, the
letterhead of a letter without a known procedure) comes from the office file the city edits
(``templates/regeln/dienststellen.yaml``, or ``LOTSE_LETTERS__OFFICE_FILE``). Settings override both.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.catalog import catalog
from connectors.yamlfile import read_mapping

#: the office file shipped with Lotse (the city edits it like the templates)
OFFICE_FILE = Path(__file__).resolve().parent / "templates" / "regeln" / "dienststellen.yaml"

#: Rechtsbehelf of a Bescheid; the allowed values are the procedure catalog's ``rechtswege``
Rechtsweg = Literal[catalog().rechtswege]  # type: ignore[valid-type]


class _OfficeLetterhead(BaseModel):
    """The office's letterhead fields, as the office file writes them for a letter without a procedure."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    amt: str
    abteilung: str
    strasse: str
    plz_ort: str
    telefon: str
    email: str


class BehoerdeConfig(_OfficeLetterhead):
    """Letterhead and contact block (``behoerde`` in the templates); values from the office file."""

    internet: str


class OfficeFileError(ValueError):
    """The office file cannot be read or is incomplete; the German message names the file."""


class OfficeData(BaseModel):
    """Contents of the office file (``dienststellen.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    internet: str
    ohne_verfahren: _OfficeLetterhead

    def fallback(self) -> dict[str, str]:
        """Letterhead of a letter whose procedure is not in the catalog."""
        return {**self.ohne_verfahren.model_dump(), "internet": self.internet}


_GERMAN = {"missing": "fehlt", "extra_forbidden": "ist kein bekannter Eintrag", "string_type": "muss ein Text sein",
           "model_type": "muss eine Zuordnung sein", "dict_type": "muss eine Zuordnung sein"}


def load_office(path: str | Path | None = None) -> OfficeData:
    """Read and validate an office file (default: the shipped one); re-read when the file changes."""
    p = Path(path) if path else OFFICE_FILE
    try:
        stamp = p.stat().st_mtime_ns
    except OSError as exc:
        raise OfficeFileError(f"Die Dienststellen-Datei {p} kann nicht gelesen werden ({exc.strerror}).") from None
    return _load_office(p, stamp)


@lru_cache(maxsize=8)
def _load_office(p: Path, _stamp: int) -> OfficeData:
    data = read_mapping(p, "Die Dienststellen-Datei", "internet, ohne_verfahren", OfficeFileError)
    try:
        return OfficeData.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(x) for x in err['loc'])}: {_GERMAN.get(err['type'], err['msg'])}"
                    for err in exc.errors()]
        raise OfficeFileError(f"Die Dienststellen-Datei {p} ist unvollständig oder fehlerhaft: "
                              + "; ".join(problems)) from None


class PersonConfig(BaseModel):
    """The caseworker signing the letter (``sachbearbeitung``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    telefon: str = ""
    email: str = ""
    zimmer: str = ""


def _catalog_letterheads(office: OfficeData) -> dict[str, dict[str, str]]:
    cat = catalog()
    return {p.case_type: {**cat.letterhead(p), "internet": office.internet} for p in cat.procedures}


def _default_rechtsweg() -> dict[str, Rechtsweg]:
    return {p.case_type: p.rechtsweg for p in catalog().procedures}


def _default_departments() -> dict[str, list[str]]:
    cat = catalog()
    return {p.case_type: cat.proposal_departments(p) for p in cat.procedures}


class LetterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    templates_dir: Path | None = Field(None, description="Folder with the Word templates and YAML sidecars "
                                       "(default: assistant/letters/templates)")
    office_file: Path | None = Field(None, description="Office file with the Internet address and the "
                                     "letterhead of letters without a known procedure (default: "
                                     "assistant/letters/templates/regeln/dienststellen.yaml)")
    behoerde: BehoerdeConfig = Field(description="Letterhead when no entry for the procedure exists "
                                     "(default: the office file's ohne_verfahren); single keys override it")
    behoerden: dict[str, BehoerdeConfig] = Field(
        description="Letterhead per procedure (case type), JSON; default: the procedure catalog's with the "
        "office file's Internet address; keys an entry leaves out come from 'behoerde'")
    sachbearbeitung: dict[str, PersonConfig] = Field(
        default_factory=dict, description="Contact data per user id; default: the user's display name and "
        "the office's telephone and e-mail")
    rechtsweg: dict[str, Rechtsweg] = Field(default_factory=_default_rechtsweg,
                                            description="Legal remedy per case type for 'rechtsweg'")
    proposal_departments: dict[str, list[str]] = Field(
        default_factory=_default_departments, description="Knowledge-base departments searched for "
        "text proposals per case type (empty: all)")
    proposal_passages: int = Field(5, ge=1, le=20, description="Passages searched per proposal")
    proposal_max_sentences: int = Field(4, ge=1, le=12, description="Sentences in a text proposal")
    proposal_max_items: int = Field(6, ge=1, le=20, description="Items in a list proposal")
    proposal_cache_s: float = Field(300.0, ge=0, description="Seconds search results for a proposal query are "
                                    "reused (the query holds no case data); 0 switches the cache off")

    @model_validator(mode="before")
    @classmethod
    def _office_defaults(cls, data: Any) -> Any:
        """Fill the letterheads from the office file and the procedure catalog; given keys win."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        office = load_office(data.get("office_file") or None)
        behoerde = data.get("behoerde")
        if not isinstance(behoerde, BehoerdeConfig):
            behoerde = {**office.fallback(), **(behoerde if isinstance(behoerde, dict) else {})}
            data["behoerde"] = behoerde
        base = behoerde.model_dump() if isinstance(behoerde, BehoerdeConfig) else behoerde
        given = data.get("behoerden")
        if given is None:
            data["behoerden"] = _catalog_letterheads(office)
        elif isinstance(given, dict):
            data["behoerden"] = {k: v if isinstance(v, BehoerdeConfig) else {**base, **v} if isinstance(v, dict)
                                 else v for k, v in given.items()}
        return data

    def behoerde_for(self, case_type: str | None) -> BehoerdeConfig:
        return self.behoerden.get(case_type or "", self.behoerde)
