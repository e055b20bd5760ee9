"""German PII guard for e-file case metadata: a field allowlist plus a free-text detector.

Two layers, one module each:

1. **Case records** (:mod:`.records`, :class:`CaseRecordBuilder`): nothing from an e-file case
   reaches the index unless its field is on the allowlist; structured values are reduced to the
   controlled vocabularies of the procedure catalog (``connectors/catalog/procedures.yaml``).
2. **Detector** (:mod:`.detector`, :func:`scrub`): regexes and a name gazetteer for what remains
   in free text; hits become typed placeholders (``[NAME]``, ``[IBAN]``, ...).
"""

from .detector import KINDS, Finding, Gazetteer, detect, load_gazetteer, scrub
from .records import (
    CASE_FIELDS,
    DEPARTMENTS,
    DOCUMENT_FIELDS,
    FREE_TEXT_FIELDS,
    PROCEDURE_FIELDS,
    CaseRecord,
    CaseRecordBuilder,
    ProcedureSummary,
    document_type,
    vocabulary_filter,
)

__all__ = ["Finding", "KINDS", "scrub", "detect", "CaseRecord", "CaseRecordBuilder", "ProcedureSummary",
           "DEPARTMENTS", "CASE_FIELDS", "PROCEDURE_FIELDS", "DOCUMENT_FIELDS", "FREE_TEXT_FIELDS",
           "document_type", "vocabulary_filter", "load_gazetteer", "Gazetteer"]
