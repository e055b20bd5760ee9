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

The reading and the child's main loop are :mod:`indexer.case_child`; the wire (protocol, records
as plain data, errors) is :mod:`indexer.case_protocol`. This module is the parent's side and the
child's entry point; the names other modules use are importable from here.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from connectors.errors import ConnectorError

from .case_child import LocalReader, main
from .case_protocol import (SEARCH_LIMIT, CaseReader, ConfigError, ReaderFailure, ReadResult, builder_settings,
                            message_line, rebuild_error, record_from_dict, record_to_dict)
from .pii import CaseRecordBuilder

log = logging.getLogger(__name__)

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
_CLOSE_TIMEOUT_S = 10.0


def _log_levels() -> dict[str, int]:
    """The parent's explicit logger levels, so the child only sends what would be logged here."""
    levels = {"": logging.getLogger().getEffectiveLevel()}
    for name, lg in logging.root.manager.loggerDict.items():
        if isinstance(lg, logging.Logger) and lg.level != logging.NOTSET:
            levels[name] = lg.level
    return levels


class ChildReader(CaseReader):
    """Reads through a connector built from ``cfg`` in a child process (one per sync run)."""

    isolated = True

    def __init__(self, cfg, builder: CaseRecordBuilder, workers: int = 8):
        super().__init__(builder, workers, SEARCH_LIMIT)  # start() takes the child connector's own
        self.cfg = cfg
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
        proc.stdin.write(message_line(msg))
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
                raise rebuild_error(err)
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
            failure = (str(f["coo"]), rebuild_error(f))
        return results, failure

    def import_warnings(self) -> list[str]:
        if self._dead is not None or self._proc is None:
            return []
        try:
            return [str(w) for w in self._call({"op": "warnings"})["warnings"]]
        except ConnectorError:
            return []



if __name__ == "__main__":
    sys.exit(main())


__all__ = ["CaseReader", "ChildReader", "ConfigError", "LocalReader", "ReadResult", "ReaderFailure", "record_from_dict",
           "record_to_dict", "SEARCH_LIMIT"]
