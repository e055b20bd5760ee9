"""The e-file (E-Akte) connector: protocol, REST client for the EAI, and a test double.

Import what you need from the submodules; ``build_connector`` in ``registry`` is the
usual entry point::

    from connectors.efile.config import EFileConfig
    from connectors.efile.registry import build_connector
"""

from .errors import EFileAuthError, EFileRefused
from .protocol import (
    Case,
    CaseRef,
    ContentFile,
    DocumentRef,
    EFileConnector,
    FilingReceipt,
    Health,
    Procedure,
    ProcedureRef,
)

__all__ = [
    "Case",
    "CaseRef",
    "ContentFile",
    "DocumentRef",
    "EFileAuthError",
    "EFileConnector",
    "EFileRefused",
    "FilingReceipt",
    "Health",
    "Procedure",
    "ProcedureRef",
]
