"""Procedure types of the social department and their Aktenplan entries.

The double's Aktenplan uses these fixed COO addresses, so the procedure type of a
case is derivable from its ``apentry``; the Aktenzeichen code (``S-III-WG/...``)
is the fallback for e-files with other addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcedureType:
    code: str  # short code in the Aktenzeichen, e.g. "WG"
    name: str  # e.g. "Wohngeld"
    office: str  # organisational prefix of the Aktenzeichen, e.g. "S-III"
    apentry_coo: str
    apentry_basenr: str  # Aktenplankennzeichen

    @property
    def apentry_name(self) -> str:
        return f"{self.apentry_basenr} {self.name}"


APLAN_ROOT_COO = "COO.1.2301.1.100000"
APLAN_ROOT_NAME = "Sozialreferat - Aktenplan"

PROCEDURE_TYPES: tuple[ProcedureType, ...] = (
    ProcedureType("WG", "Wohngeld", "S-III", "COO.1.2301.1.100010", "S-III 40 10"),
    ProcedureType("HZP", "Hilfe zur Pflege", "S-III", "COO.1.2301.1.100020", "S-III 50 61"),
    ProcedureType("BUT", "Bildung und Teilhabe", "S-III", "COO.1.2301.1.100030", "S-III 50 34"),
    ProcedureType("GRUSI", "Grundsicherung im Alter", "S-III", "COO.1.2301.1.100040", "S-III 50 41"),
    ProcedureType("UVG", "Unterhaltsvorschuss", "S-II", "COO.1.2301.1.100050", "S-II 30 20"),
    ProcedureType("ZUS", "Zuschussverfahren", "S-GL", "COO.1.2301.1.100060", "S-GL 20 10"),
)

_BY_APENTRY = {p.apentry_coo: p for p in PROCEDURE_TYPES}
_BY_CODE = {p.code: p for p in PROCEDURE_TYPES}
_AZ_CODE = re.compile(r"^[A-Z]+(?:-[A-Z]+)*-([A-Z]+)/\d{4}/\d+$")


def by_code(code: str) -> ProcedureType:
    return _BY_CODE[code.upper()]


def procedure_type_of(apentry: str | None, aktenzeichen: str | None = None) -> str | None:
    """Name of the procedure type from the Aktenplan entry, else from the Aktenzeichen."""
    if apentry and apentry in _BY_APENTRY:
        return _BY_APENTRY[apentry].name
    if aktenzeichen:
        m = _AZ_CODE.match(aktenzeichen.strip())
        if m and m.group(1) in _BY_CODE:
            return _BY_CODE[m.group(1)].name
    return None
