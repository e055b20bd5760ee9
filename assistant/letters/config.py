"""Configuration of the letter workflow (the lead wires it into ``lotse.settings.Settings`` as ``letters``).

Environment example: ``LOTSE_LETTERS__BEHOERDE__TELEFON="089 233-96000"``,
``LOTSE_LETTERS__TEMPLATES_DIR=/srv/lotse/vorlagen``. The defaults per procedure (letterhead,
Rechtsweg, departments searched for text proposals) come from the procedure catalog
(``connectors/catalog/procedures.yaml``); settings override them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.catalog import catalog

#: Rechtsbehelf of a Bescheid; the allowed values are the procedure catalog's ``rechtswege``
Rechtsweg = Literal[catalog().rechtswege]  # type: ignore[valid-type]


class BehoerdeConfig(BaseModel):
    """Letterhead and contact block (``behoerde`` in the templates)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    amt: str = "Amt für Wohnen und Migration"
    abteilung: str = "Abteilung Wohngeld und Lastenzuschuss"
    strasse: str = "Werinherstraße 89"
    plz_ort: str = "81541 München"
    telefon: str = "089 233-96000"
    email: str = "wohngeld.soz@muenchen.de"
    internet: str = "www.muenchen.de/sozialreferat"


class PersonConfig(BaseModel):
    """The caseworker signing the letter (``sachbearbeitung``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    telefon: str = ""
    email: str = ""
    zimmer: str = ""


def _default_behoerden() -> dict[str, BehoerdeConfig]:
    cat = catalog()
    return {p.case_type: BehoerdeConfig(**cat.letterhead(p)) for p in cat.procedures}


def _default_rechtsweg() -> dict[str, Rechtsweg]:
    return {p.case_type: p.rechtsweg for p in catalog().procedures}


def _default_departments() -> dict[str, list[str]]:
    cat = catalog()
    return {p.case_type: cat.proposal_departments(p) for p in cat.procedures}


class LetterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    templates_dir: Path | None = Field(None, description="Folder with the Word templates and YAML sidecars "
                                       "(default: assistant/letters/templates)")
    behoerde: BehoerdeConfig = Field(default_factory=BehoerdeConfig,
                                     description="Letterhead when no entry for the procedure exists")
    behoerden: dict[str, BehoerdeConfig] = Field(default_factory=_default_behoerden,
                                                 description="Letterhead per procedure (case type)")
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

    def behoerde_for(self, case_type: str | None) -> BehoerdeConfig:
        return self.behoerden.get(case_type or "", self.behoerde)
