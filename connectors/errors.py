"""Errors of the connectors layer.

    ConnectorError
     ├── SourceUnavailable   a folder or remote system cannot be reached
     └── NotFound            the requested object does not exist
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class of connector errors; ``message`` is German and safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SourceUnavailable(ConnectorError):
    pass


class NotFound(ConnectorError):
    pass
