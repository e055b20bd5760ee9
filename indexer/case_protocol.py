"""The wire between the case sync and its reader process (:mod:`indexer.case_reader`): the results,
the errors, case records as plain JSON data, and one message per line.

Protocol (one JSON object per line). Parent -> child on stdin::

    {"config": {...EFileConfig...}, "builder": {...}, "workers": n, "log_levels": {...}}   (first line)
    {"op": "search", "apentry": "COO..."}
    {"op": "read", "coos": ["COO...", ...]}
    {"op": "warnings"}
    {"op": "close"}                                                       (or end of input)

Child -> parent on the child's original stdout (its fd 1 is pointed at stderr, so a stray
``print`` cannot corrupt the protocol): one answer per request, ``{"ok": {...}}`` or
``{"error": {"type": ..., "message": ...}}``, and at any time ``{"log": [level, logger, text]}``
for the child's log records (the same rule holds there: COO addresses and counts, never case
content). Errors that are not :class:`~connectors.errors.ConnectorError` (programming errors,
which may quote raw values) travel as their type name only (:func:`error_payload`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from connectors.errors import ConnectorError, NotFound, SourceUnavailable

from .pii import CaseRecord, CaseRecordBuilder, ProcedureSummary

SEARCH_LIMIT = 500  # the EAI answers at most 500 hits per search, without paging


@dataclass(frozen=True)
class ReadResult:
    """One case as the sync needs it: the scrubbed record (None: the case is gone) and the
    COO address of its Aktenplan entry (only when it is one)."""

    coo: str
    record: CaseRecord | None
    apentry: str | None = None


class CaseReader:
    """What the sync reads cases through: :class:`~indexer.case_child.LocalReader` (in this process) or
    :class:`~indexer.case_reader.ChildReader` (in a child process); ``search_limit`` None: no cap."""

    isolated: bool

    def __init__(self, builder: CaseRecordBuilder, workers: int, search_limit: int | None):
        self.builder = builder
        self.workers = max(1, workers)
        self.search_limit: int | None = search_limit


class ReaderFailure(ConnectorError):
    """The reader process failed (crashed, internal error, could not start); German message."""


class ConfigError(Exception):
    """The e-file configuration could not be turned into a connector (German message)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def message_line(msg: dict) -> bytes:
    """One protocol message as the line that travels (UTF-8 JSON, newline-terminated)."""
    return json.dumps(msg, ensure_ascii=False).encode("utf-8") + b"\n"


# -- records as plain data ----------------------------------------------------------------------

_RECORD_FIELDS = tuple(f.name for f in fields(CaseRecord))


def record_to_dict(record: CaseRecord) -> dict:
    """A :class:`CaseRecord` as JSON-compatible data (exactly its own fields, nothing else)."""
    return asdict(record)


def record_from_dict(data: Mapping) -> CaseRecord:
    """Rebuild a :class:`CaseRecord`; refuses unknown or missing fields."""
    if set(data) != set(_RECORD_FIELDS):
        raise ValueError("unexpected case record fields")
    procs = tuple(ProcedureSummary(str(p["title"]), None if p["state"] is None else str(p["state"]),
                                   tuple(str(t) for t in p["document_types"])) for p in data["procedures"])
    return CaseRecord(
        coo=str(data["coo"]), aktenzeichen=str(data["aktenzeichen"]), procedure_type=data["procedure_type"],
        apentry_name=data["apentry_name"], department=str(data["department"]), state=str(data["state"]),
        org_unit=data["org_unit"], runtime_from=data["runtime_from"], runtime_till=data["runtime_till"],
        keywords=tuple(str(k) for k in data["keywords"]), procedures=procs,
        documents=tuple((str(k), str(t), int(c)) for k, t, c in data["documents"]),
        last_document=data["last_document"], free_text=tuple(str(t) for t in data["free_text"]),
        scrubbed=int(data["scrubbed"]), version=str(data["version"]))


def builder_settings(builder: CaseRecordBuilder) -> dict:
    return {"include_free_text": builder.include_free_text, "departments": dict(builder.departments),
            "default_department": builder.default_department}


# -- errors across the wire -------------------------------------------------------------------------


def error_payload(exc: BaseException) -> dict:
    """The child's error as data: a connector error with its German message, anything else by type name."""
    if isinstance(exc, ConnectorError):
        return {"type": type(exc).__name__, "message": exc.message}
    return {"type": type(exc).__name__, "internal": True}  # no message: it may quote raw values


_ERROR_TYPES: dict[str, type[ConnectorError]] = {"ConnectorError": ConnectorError,
                                                 "SourceUnavailable": SourceUnavailable, "NotFound": NotFound}


def _error_class(name: str) -> type[ConnectorError]:
    if name not in _ERROR_TYPES:
        try:
            from connectors.efile import errors as efile_errors

            cls = getattr(efile_errors, name, None)
            if isinstance(cls, type) and issubclass(cls, ConnectorError):
                return cls
        except ImportError:  # pragma: no cover
            pass
    return _ERROR_TYPES.get(name, ConnectorError)


def rebuild_error(err: Mapping) -> ConnectorError:
    """The child's error as an exception of the parent; the message is German and safe to show."""
    kind = str(err.get("type") or "")
    if err.get("internal"):
        return ReaderFailure(f"Der Leseprozess für die E-Akte ist mit einem internen Fehler ({kind}) "
                             "abgebrochen.")
    message = str(err.get("message") or "Unbekannter Fehler der E-Akte.")
    try:
        return _error_class(kind)(message)
    except TypeError:  # a subclass with other required arguments
        return ConnectorError(message)

