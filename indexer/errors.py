"""Errors of the indexer layer.

    IndexingError
     ├── LoaderError        one file could not be read (corrupt, empty, too big, encrypted)
     └── StoreError         the vector store or the index database failed
"""

from __future__ import annotations


class IndexingError(Exception):
    """Base class of all indexer errors."""


class LoaderError(IndexingError):
    """A single file could not be turned into text. ``reason`` is German, for the summary."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreError(IndexingError):
    """The vector store or the index database is unavailable or inconsistent."""
