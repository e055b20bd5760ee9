"""Errors of the e-file connector.

    ConnectorError                (connectors.errors)
     ├── SourceUnavailable        e-file unreachable, timeout, internal error (500)
     ├── NotFound                 object unknown or cancelled ("Storniert")
     ├── EFileAuthError           technical user wrong (401) or lacks rights (403)
     └── EFileRefused             the DMS refused the call (400, fehlerQuelle DMS/INTERN)

All messages are German and safe to show to caseworkers.
"""

from __future__ import annotations

from connectors.errors import ConnectorError, NotFound, SourceUnavailable

__all__ = ["ConnectorError", "EFileAuthError", "EFileRefused", "NotFound", "SourceUnavailable"]


class EFileAuthError(ConnectorError):
    """The technical user was rejected (401) or lacks the needed right (403)."""

    def __init__(self, message: str, status_code: int = 401):
        super().__init__(message)
        self.status_code = status_code


class EFileRefused(ConnectorError):
    """The DMS answered 400: the request was understood but refused."""

    def __init__(self, message: str, source: str = "DMS", dms_status: int | None = None):
        super().__init__(message)
        self.source = source
        self.dms_status = dms_status
