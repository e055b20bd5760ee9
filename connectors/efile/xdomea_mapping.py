"""Mapping an XDOMEA Akte to the procedure catalog: by its Aktenplaneinheit, else by the code in its
Aktenzeichen; Akten of no known procedure get the catalog's "sonstiges Verfahren"."""

from __future__ import annotations

import re

from ..catalog import catalog
from .procedures import PROCEDURE_TYPES, ProcedureType, procedure_type_of


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _aplan_key(text: str) -> str:
    """Aktenplankennzeichen normalised: ``s-iii.40.10`` / ``S-III 40 10`` -> ``S-III 40 10``."""
    return " ".join(re.split(r"[\s./]+", text.strip().upper())).strip()


#: procedure type of Akten whose Aktenplan entry is none of the catalog's ("sonstiges Verfahren");
#: ``search_cases(apentry=OTHER_PROCEDURE)`` lists them (the case sync searches it as one more entry)
OTHER_PROCEDURE = catalog().other_procedure

_BY_BASENR = {_aplan_key(p.apentry_basenr): p for p in PROCEDURE_TYPES}
_BY_NAME = {p.name: p for p in PROCEDURE_TYPES}


def procedure_type_for(aplan_kennzeichen: str, aktenzeichen: str) -> ProcedureType | None:
    """The procedure type of an XDOMEA Akte: its Aktenplaneinheit (``S-III 40 10``, also a deeper
    entry below it such as ``S-III 40 10 2``, or the Aktenplan COO address), else the code in the
    Aktenzeichen (``S-III-WG/2024/001234``) as :func:`procedure_type_of` does for the REST e-file."""
    key = _aplan_key(aplan_kennzeichen or "")
    if key:
        best = None
        for basenr, pt in _BY_BASENR.items():
            if (key == basenr or key.startswith(basenr + " ")) and (best is None or len(basenr) > len(best[0])):
                best = (basenr, pt)
        if best:
            return best[1]
    name = procedure_type_of(aplan_kennzeichen.strip() if aplan_kennzeichen else None, aktenzeichen)
    return _BY_NAME.get(name) if name else None
