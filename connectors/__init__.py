"""Connectors: where documents and cases come from (folders, the e-file)."""

from .errors import ConnectorError, NotFound, SourceUnavailable
from .folder import SourceFile, scan_folder

__all__ = ["ConnectorError", "NotFound", "SourceUnavailable", "SourceFile", "scan_folder"]
