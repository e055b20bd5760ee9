"""Fixtures for the e-file tests: the double as a real separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "E-Akte-Double bereit auf "
TECH_USER = ("lotse-tech", "lotse-secret")
READ_USER = ("lotse-lesen", "lotse-lesen-secret")


class DoubleProcess:
    """``python -m connectors.efile.double`` on a free port with its own SQLite file."""

    def __init__(self, db: Path, extra_args: list[str] | None = None):
        self.db = db
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.stderr_lines: list[str] = []

    @classmethod
    def with_cases(cls, folder: Path, cases: list[dict], extra_args: list[str] | None = None) -> DoubleProcess:
        """A started double in ``folder`` that serves exactly ``cases`` (written to ``cases.json``)."""
        cases_file = folder / "cases.json"
        cases_file.write_text(json.dumps({"cases": cases}, ensure_ascii=False), encoding="utf-8")
        return cls(folder / "eakte.sqlite3", ["--cases", str(cases_file), *(extra_args or [])]).start()

    def start(self, timeout: float = 30.0) -> DoubleProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        env.pop("EAKTE_DOUBLE_USERS", None)
        cmd = [sys.executable, "-m", "connectors.efile.double", "--port", "0", "--db", str(self.db),
               *self.extra_args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise RuntimeError("E-Akte-Double beendet:\n" + "".join(self.stderr_lines[-30:]))
                continue
            if line.startswith(READY_PREFIX):
                self.base_url = line[len(READY_PREFIX):].strip()
                return self
        self.stop()
        raise RuntimeError("E-Akte-Double wurde nicht rechtzeitig bereit")

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    # -- admin endpoints --------------------------------------------------------

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        r = httpx.post(f"{self.base_url}/__faults", json=settings, timeout=5)
        r.raise_for_status()
        return r.json()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.base_url}/__faults", timeout=5).raise_for_status()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.base_url}/__stats", timeout=5).json()

    def reset_stats(self) -> None:
        httpx.post(f"{self.base_url}/__stats/reset", timeout=5).raise_for_status()

    def requests(self, key: str) -> int:
        return int(self.stats()["requests"].get(key, 0))


def make_client(base_url: str, user: tuple[str, str] = TECH_USER, **kw: Any):
    from connectors.efile.eakte_rest import EAkteRestClient

    opts: dict[str, Any] = {"timeout": 15.0, "retries": 2, "backoff_s": 0.02, "userlogin": "max.mustermann",
                            "joboe": "COO.1.2300.1.847", "jobposition": "OfficialInCharge"}
    opts.update(kw)
    return EAkteRestClient(base_url, user[0], user[1], **opts)


@pytest.fixture
def efile_double_factory(tmp_path: Path) -> Iterator[Any]:
    """Start doubles on demand (function scope); all are stopped afterwards."""
    started: list[DoubleProcess] = []

    def start(db: Path | None = None, args: list[str] | None = None) -> DoubleProcess:
        d = DoubleProcess(db or tmp_path / "eakte.sqlite3", args).start()
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()
