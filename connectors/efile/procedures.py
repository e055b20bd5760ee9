"""Procedure types of the social department and their Aktenplan entries, from the procedure catalog
(``connectors/catalog/procedures.yaml``).

The double's Aktenplan uses the catalog's COO addresses, so the procedure type of a case is
derivable from its ``apentry``; the code in the Aktenzeichen (``S-III-WG/...``) is the fallback
for e-files with other addresses.
"""

from __future__ import annotations

from ..catalog import Procedure as ProcedureType
from ..catalog import catalog

APLAN_ROOT_COO = catalog().aktenplan_root.coo
APLAN_ROOT_NAME = catalog().aktenplan_root.name

PROCEDURE_TYPES: tuple[ProcedureType, ...] = catalog().procedures


def by_code(code: str) -> ProcedureType:
    return catalog().by_code(code)


def procedure_type_of(apentry: str | None, aktenzeichen: str | None = None) -> str | None:
    """Name of the procedure type from the Aktenplan entry, else from the Aktenzeichen."""
    p = catalog().by_apentry(apentry) or catalog().procedure_of_aktenzeichen(aktenzeichen)
    return p.name if p else None


__all__ = ["APLAN_ROOT_COO", "APLAN_ROOT_NAME", "PROCEDURE_TYPES", "ProcedureType", "by_code", "procedure_type_of"]
