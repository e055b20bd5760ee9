"""Reading e-file cases into non-sensitive records, isolated in a separate process.

Why a separate process: Chroma's embedded vector index (hnswlib) writes buffers into its
persisted files (``data_level0.bin``) without clearing them first, so whatever the writing
process once held in memory can end up on disk. The process that embeds and writes Chroma
must therefore never hold raw case data (names, dates of birth, addresses in free text).

:class:`ChildReader` starts ``python -m indexer.case_reader`` for one sync run. The child
builds the connector from the :class:`~connectors.efile.config.EFileConfig` itself (the
parent never constructs or calls a connector), reads cases, procedures and document lists,
runs :class:`~indexer.pii.CaseRecordBuilder` and sends back only what the builder produced
(:class:`~indexer.pii.CaseRecord` as plain JSON), COO addresses from the searches and German
error messages. Raw case data is never serialised, so the parent never receives, decodes or
holds it.

:class:`LocalReader` does the same reading in the calling process. It exists for callers that
hand :class:`~indexer.cases.CaseSync` a live connector object (tests, benchmarks) and is
**not isolated**: that process holds raw case data. ``lotse sync-cases``
(:func:`indexer.cases.run_sync`) always uses :class:`ChildReader`.

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
which may quote raw values) travel as their type name only.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from connectors.errors import ConnectorError, NotFound, SourceUnavailable

from .pii import CaseRecord, CaseRecordBuilder, ProcedureSummary

log = logging.getLogger(__name__)

SEARCH_LIMIT = 500  # the EAI answers at most 500 hits per search, without paging
_COO = re.compile(r"^COO(?:\.\d+){3,6}$")
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
_CLOSE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ReadResult:
    """One case as the sync needs it: the scrubbed record (None: the case is gone) and the
    COO address of its Aktenplan entry (only when it is one)."""

    coo: str
    record: CaseRecord | None
    apentry: str | None = None


class ReaderFailure(ConnectorError):
    """The reader process failed (crashed, internal error, could not start); German message."""


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


# -- reading (runs in the child; in the caller only for LocalReader) ------------------------------


class LocalReader:
    """Reads through a live connector in *this* process. Not isolated: see the module docstring."""

    isolated = False

    def __init__(self, connector, builder: CaseRecordBuilder, workers: int = 8):
        self.connector = connector
        self.builder = builder
        self.workers = max(1, workers)
        # connectors without a search cap (XDOMEA import) say so with ``search_limit = None``
        self.search_limit: int | None = getattr(connector, "search_limit", SEARCH_LIMIT)

    @property
    def pid(self) -> int:
        return os.getpid()

    def search(self, apentry: str) -> tuple[list[str], int]:
        """COO addresses of the cases of one Aktenplan entry, and the number of hits."""
        refs = self.connector.search_cases(apentry=apentry)
        return [str(r.coo) for r in refs], len(refs)

    def _read_one(self, coo: str) -> ReadResult:
        try:
            case = self.connector.get_case(coo)
        except NotFound:
            return ReadResult(coo, None)
        procedures, documents = [], {}
        for ref in case.procedures:
            try:
                proc = self.connector.get_procedure(ref.coo)
                docs = self.connector.list_documents(ref.coo)
            except NotFound:
                continue  # cancelled in between: not part of the case any more
            procedures.append(proc)
            documents[proc.coo] = docs
        record = self.builder.build(case, procedures, documents)
        apentry = case.apentry if isinstance(case.apentry, str) and _COO.match(case.apentry) else None
        return ReadResult(coo, record, apentry)

    def read(self, coos: Sequence[str]) -> tuple[list[ReadResult], tuple[str, ConnectorError] | None]:
        """Results in order up to the first connector error, and that error with its case."""
        results: list[ReadResult] = []
        if self.workers == 1 or len(coos) <= 1:
            for coo in coos:
                try:
                    results.append(self._read_one(coo))
                except ConnectorError as exc:
                    return results, (coo, exc)
            return results, None
        failure: tuple[str, ConnectorError] | None = None
        with ThreadPoolExecutor(max_workers=min(self.workers, len(coos))) as pool:
            futures = [(coo, pool.submit(self._read_one, coo)) for coo in coos]
            for coo, fut in futures:
                try:
                    res = fut.result()
                except ConnectorError as exc:
                    if failure is None:
                        failure = (coo, exc)
                    continue
                if failure is None:  # keep results up to the first failure, in order
                    results.append(res)
        return results, failure

    def import_warnings(self) -> list[str]:
        """Problems of the source itself (XDOMEA: a broken package), German, without case content."""
        fn = getattr(self.connector, "import_warnings", None)
        if not callable(fn):
            return []
        try:
            return [str(w) for w in fn()]
        except ConnectorError:
            return []  # the sync itself already reported the source as unavailable

    def close(self) -> None:
        pass  # the caller owns the connector


# -- the parent's side of the child ---------------------------------------------------------------

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


def _rebuild_error(err: Mapping) -> ConnectorError:
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


class ConfigError(Exception):
    """The e-file configuration could not be turned into a connector (German message)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _log_levels() -> dict[str, int]:
    """The parent's explicit logger levels, so the child only sends what would be logged here."""
    levels = {"": logging.getLogger().getEffectiveLevel()}
    for name, lg in logging.root.manager.loggerDict.items():
        if isinstance(lg, logging.Logger) and lg.level != logging.NOTSET:
            levels[name] = lg.level
    return levels


class ChildReader:
    """Reads through a connector built from ``cfg`` in a child process (one per sync run)."""

    isolated = True

    def __init__(self, cfg, builder: CaseRecordBuilder, workers: int = 8):
        self.cfg = cfg
        self.builder = builder
        self.workers = max(1, workers)
        self.search_limit: int | None = SEARCH_LIMIT
        self._proc: subprocess.Popen[bytes] | None = None
        self._dead: str | None = None

    # lifecycle ---------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """Process id of the reader process (None before start and after close)."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> ChildReader:
        """Start the child and hand it the configuration. Raises :class:`ConfigError` when the
        configuration names no usable connector, :class:`ReaderFailure` when the child fails."""
        config = self.cfg.model_dump(mode="json")
        config["password"] = self.cfg.password.get_secret_value()  # dumped masked otherwise
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
        try:
            self._proc = subprocess.Popen([sys.executable, "-P", "-m", "indexer.case_reader"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=None, env=env, close_fds=True)
        except OSError as exc:
            raise ReaderFailure(f"Der Leseprozess für die E-Akte konnte nicht gestartet werden "
                                f"({exc.strerror or type(exc).__name__}).") from None
        log.debug("case reader process %d started", self._proc.pid)
        answer = self._call({"config": config, "builder": builder_settings(self.builder),
                             "workers": self.workers, "log_levels": _log_levels()}, config_error=True)
        self.search_limit = answer.get("search_limit")
        return self

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None and self._dead is None:
                self._send({"op": "close"}, proc)
        except (OSError, ValueError):
            pass
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=_CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.debug("case reader process %d ended with %s", proc.pid, proc.returncode)

    def __enter__(self) -> ChildReader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # protocol ----------------------------------------------------------------------------------
    @staticmethod
    def _send(msg: dict, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(msg, ensure_ascii=False).encode("utf-8") + b"\n")
        proc.stdin.flush()

    def _crashed(self) -> ReaderFailure:
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait(timeout=5)
        self._dead = "crashed"
        log.warning("case reader process ended unexpectedly (exit code %s)", code)
        return ReaderFailure("Der Leseprozess für die E-Akte wurde unerwartet beendet"
                             + (f" (Exit-Code {code})." if code is not None else "."))

    def _call(self, msg: dict, *, config_error: bool = False) -> dict:
        if self._dead is not None or self._proc is None:
            raise ReaderFailure("Der Leseprozess für die E-Akte läuft nicht mehr.")
        proc = self._proc
        try:
            self._send(msg, proc)
        except (BrokenPipeError, OSError, ValueError):
            raise self._crashed() from None
        assert proc.stdout is not None
        while True:
            line = proc.stdout.readline()
            if not line:
                raise self._crashed()
            try:
                answer = json.loads(line)
            except ValueError:
                self._dead = "protocol"
                raise ReaderFailure("Der Leseprozess für die E-Akte hat unlesbar geantwortet.") from None
            if "log" in answer:
                level, name, text = answer["log"]
                logging.getLogger(str(name)).log(int(level), "%s", text)
                continue
            if "error" in answer:
                err = answer["error"]
                if config_error and err.get("type") == "config":
                    raise ConfigError(str(err.get("message")))
                raise _rebuild_error(err)
            return answer["ok"]

    # reading -----------------------------------------------------------------------------------
    def search(self, apentry: str) -> tuple[list[str], int]:
        ok = self._call({"op": "search", "apentry": apentry})
        return [str(c) for c in ok["coos"]], int(ok["hits"])

    def read(self, coos: Sequence[str]) -> tuple[list[ReadResult], tuple[str, ConnectorError] | None]:
        try:
            ok = self._call({"op": "read", "coos": list(coos)})
        except ConnectorError as exc:  # the child itself failed: nothing of this batch arrived
            return [], (coos[0] if coos else "", exc)
        results = [ReadResult(str(r["coo"]), None if r["record"] is None else record_from_dict(r["record"]),
                              r.get("apentry")) for r in ok["results"]]
        failure = None
        if ok.get("failure") is not None:
            f = ok["failure"]
            failure = (str(f["coo"]), _rebuild_error(f))
        return results, failure

    def import_warnings(self) -> list[str]:
        if self._dead is not None or self._proc is None:
            return []
        try:
            return [str(w) for w in self._call({"op": "warnings"})["warnings"]]
        except ConnectorError:
            return []


# -- the child --------------------------------------------------------------------------------------


def _error_payload(exc: BaseException) -> dict:
    if isinstance(exc, ConnectorError):
        return {"type": type(exc).__name__, "message": exc.message}
    return {"type": type(exc).__name__, "internal": True}  # no message: it may quote raw values


class _ProtocolLogHandler(logging.Handler):
    def __init__(self, write):
        super().__init__()
        self._write = write

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._write({"log": [record.levelno, record.name, record.getMessage()]})
        except Exception:  # pragma: no cover - never let logging break the reader
            pass


def _child_main() -> int:
    # the protocol gets the original stdout; anything printed goes to stderr instead
    proto = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    lock = threading.Lock()

    def write(msg: dict) -> None:
        data = json.dumps(msg, ensure_ascii=False).encode("utf-8") + b"\n"
        with lock:
            proto.write(data)
            proto.flush()

    stdin = sys.stdin.buffer
    first = stdin.readline()
    if not first:
        return 0
    init = json.loads(first)
    root = logging.getLogger()
    root.handlers[:] = [_ProtocolLogHandler(write)]
    for name, level in (init.get("log_levels") or {}).items():
        logging.getLogger(name or None).setLevel(int(level))

    from connectors.efile.config import EFileConfig
    from connectors.efile.registry import build_connector

    try:
        cfg = EFileConfig.model_validate(init["config"])
        connector = build_connector(cfg)
    except ValueError as exc:  # unknown kind, invalid settings: German, no case data involved
        write({"error": {"type": "config", "message": getattr(exc, "message", None) or str(exc)}})
        return 0
    if connector is None:
        write({"error": {"type": "config", "message": "Die E-Akte ist nicht angebunden (efile.kind = \"none\"); "
                                                      "es wurde nichts abgeglichen."}})
        return 0
    reader = LocalReader(connector, CaseRecordBuilder(**init.get("builder", {})), int(init.get("workers", 8)))
    write({"ok": {"search_limit": reader.search_limit, "pid": os.getpid()}})
    try:
        while True:
            line = stdin.readline()
            if not line:
                break
            msg = json.loads(line)
            op = msg.get("op")
            if op == "close":
                break
            try:
                if op == "search":
                    coos, hits = reader.search(str(msg["apentry"]))
                    write({"ok": {"coos": coos, "hits": hits}})
                elif op == "read":
                    results, failure = reader.read([str(c) for c in msg["coos"]])
                    write({"ok": {
                        "results": [{"coo": r.coo, "apentry": r.apentry,
                                     "record": None if r.record is None else record_to_dict(r.record)}
                                    for r in results],
                        "failure": None if failure is None else {"coo": failure[0], **_error_payload(failure[1])},
                    }})
                elif op == "warnings":
                    write({"ok": {"warnings": reader.import_warnings()}})
                else:
                    write({"error": {"type": "ProtocolError", "internal": True}})
            except Exception as exc:  # noqa: BLE001 - reported to the parent, by type name only
                if not isinstance(exc, ConnectorError):
                    log.error("case reader: %s while handling %s", type(exc).__name__, op)
                write({"error": _error_payload(exc)})
    finally:
        connector.close()
    return 0


def main() -> int:
    try:
        return _child_main()
    except BaseException as exc:  # noqa: BLE001 - never print a traceback: it may quote raw values
        if isinstance(exc, SystemExit):
            raise
        sys.stderr.write(f"case reader: {type(exc).__name__}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["ChildReader", "ConfigError", "LocalReader", "ReadResult", "ReaderFailure", "record_from_dict",
           "record_to_dict", "SEARCH_LIMIT"]
