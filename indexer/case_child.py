"""The reader process of the e-file case sync (:mod:`indexer.case_reader`): reading cases into
non-sensitive records, and the child's main loop.

:class:`LocalReader` reads through a live connector and runs :class:`~indexer.pii.CaseRecordBuilder`.
In the child (:func:`main`, started as ``python -m indexer.case_reader``) it reads behind the wire
protocol of :mod:`indexer.case_protocol`; in the calling process it exists for callers that hand
:class:`~indexer.cases.CaseSync` a live connector object (tests, benchmarks) and is **not
isolated**: that process holds raw case data.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from connectors.errors import ConnectorError, NotFound

from .case_protocol import SEARCH_LIMIT, CaseReader, ReadResult, error_payload, message_line, record_to_dict
from .pii import CaseRecordBuilder

log = logging.getLogger(__name__)

_COO = re.compile(r"^COO(?:\.\d+){3,6}$")


class LocalReader(CaseReader):
    """Reads through a live connector in *this* process. Not isolated: see the module docstring."""

    isolated = False

    def __init__(self, connector, builder: CaseRecordBuilder, workers: int = 8):
        # connectors without a search cap (XDOMEA import) say so with ``search_limit = None``
        super().__init__(builder, workers, getattr(connector, "search_limit", SEARCH_LIMIT))
        self.connector = connector

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



# -- the child ----------------------------------------------------------------------------------------


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
        data = message_line(msg)
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
                        "failure": None if failure is None else {"coo": failure[0], **error_payload(failure[1])},
                    }})
                elif op == "warnings":
                    write({"ok": {"warnings": reader.import_warnings()}})
                else:
                    write({"error": {"type": "ProtocolError", "internal": True}})
            except Exception as exc:  # noqa: BLE001 - reported to the parent, by type name only
                if not isinstance(exc, ConnectorError):
                    log.error("case reader: %s while handling %s", type(exc).__name__, op)
                write({"error": error_payload(exc)})
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
