"""Index and serve at the same time on several hosts (issue 14 item 1): two real ``lotse serve`` processes,
each with a data directory of its own (two hosts), on one PostgreSQL (``LOTSE_DATABASE_URL``: accounts,
sessions and the index catalog) and one real Chroma server (``chroma run``). While a client asks 200
questions spread over both servers, ``lotse index FOLDER`` with a new document and ``lotse sync-cases``
against the e-file double (a process of its own) write through the CLI (``lotse.cli.main`` in the test
process: a third process besides the two servers); then the document is changed, removed and indexed
again. No answer fails, and both servers see the new, changed and removed document and the synced
cases at once, without a restart.

Needs ``LOTSE_TEST_POSTGRES_URL`` (``scripts/test.sh`` starts a PostgreSQL; skipped locally without it,
failed in CI) and the ``chroma`` command of the chromadb package.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from connectors.efile.double.generator import generate_cases
from tests.pg import require_server, throwaway_database
from tests.conftest import ROOT, lotse_cmd, run_lotse_in_process, web_login

try:
    from tests.integration.efile_fixtures import TECH_USER, DoubleProcess
except ImportError:  # pragma: no cover - depends on how pytest puts tests on sys.path
    from efile_fixtures import TECH_USER, DoubleProcess  # type: ignore

# read at import: the autouse fixture in conftest.py removes every LOTSE_* variable before each test
PG_URL = os.environ.get("LOTSE_TEST_POSTGRES_URL")
PASSWORD = "Mehrere-Hosts-2026!"
QUESTIONS = 200
NEW_QUESTION = "Wie hoch ist die Fahrradpauschale für Dienstgänge?"
BASE_QUESTIONS = ["Welche Frist gilt für den Widerspruch?", "Wie werden fehlende Unterlagen angefordert?",
                  NEW_QUESTION]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pg_database():
    with throwaway_database(require_server(PG_URL), "lotse_m") as url:
        yield url


@pytest.fixture
def chroma_server(tmp_path):
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        pytest.skip("chroma CLI not installed")
    port = _free_port()
    log = tmp_path / "chroma.log"
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "chroma-srv"), "--port", str(port),
                                 "--host", "127.0.0.1"], stdout=fh, stderr=subprocess.STDOUT,
                                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "chroma run beendet:\n" + log.read_text(errors="replace")[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "chroma run nicht bereit:\n" + log.read_text(errors="replace")
            time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _host_env(data_dir: Path, port: int, database_url: str, chroma_port: int) -> dict:
    """The environment of one host: its own data directory, the shared database and Chroma server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTSE_")}
    env.update({
        "LOTSE_DATA_DIR": str(data_dir), "LOTSE_PORT": str(port), "LOTSE_HOST": "127.0.0.1",
        "LOTSE_DATABASE_URL": database_url,
        "LOTSE_INDEX__CHROMA__MODE": "server", "LOTSE_INDEX__CHROMA__HOST": "127.0.0.1",
        "LOTSE_INDEX__CHROMA__PORT": str(chroma_port),
        "LOTSE_INDEX__EMBEDDING_MAX_TOKENS": "32",
        "LOTSE_AUTH__INITIAL_ADMIN_PASSWORD": PASSWORD,
        "LOTSE_AUTH__SESSION_SECRET": "mehrere-hosts-gemeinsames-geheimnis-0123456789",
        "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")})
    return env


def _in_process(env: dict, args: list[str], *, stdin: str | None = None, cwd: Path | None = None):
    """``lotse ARGS`` through ``lotse.cli.main`` in the test process, with exactly the LOTSE_* of ``env``."""
    settings = {k: None for k in os.environ if k.startswith("LOTSE_")}
    settings.update({k: v for k, v in env.items() if k.startswith("LOTSE_")})
    r = run_lotse_in_process(args, env=settings, stdin=stdin, cwd=cwd)
    assert r.returncode == 0, f"lotse {' '.join(args)}:\n{r.stdout}\n{r.stderr}"
    return r


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _wait_ready(proc: subprocess.Popen, base: str, log: Path, deadline: float) -> None:
    while True:
        assert proc.poll() is None, "lotse serve beendet:\n" + log.read_text(errors="replace")[-3000:]
        try:
            if httpx.get(base + "/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "lotse serve nicht bereit:\n" + log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)


@pytest.mark.slow  # two real `lotse serve`, a Chroma server, the e-file double, PostgreSQL
def test_two_servers_on_postgres_and_chroma_server_see_cli_writes_at_once(tmp_path, pg_database, chroma_server):
    t_start = time.monotonic()
    cases, _ = generate_cases(8, 14)
    double = DoubleProcess.with_cases(tmp_path, cases)
    hosts = {name: {"data": tmp_path / name / "data", "port": _free_port()} for name in ("a", "b")}
    for h in hosts.values():
        h["env"] = _host_env(h["data"], h["port"], pg_database, chroma_server)
        h["base"] = f"http://127.0.0.1:{h['port']}"
    cli_env = _host_env(tmp_path / "cli" / "data", _free_port(), pg_database, chroma_server)
    cli_env.update({"LOTSE_EFILE__URL": double.base_url, "LOTSE_EFILE__USER": TECH_USER[0],
                    "LOTSE_EFILE__PASSWORD": TECH_USER[1], "LOTSE_EFILE__USERLOGIN": "max.mustermann",
                    "LOTSE_EFILE__JOBOE": "COO.1.2300.1.847", "LOTSE_EFILE__TIMEOUT_S": "20"})
    procs: list[subprocess.Popen] = []
    try:
        # a small base corpus (the servers then skip the demo corpus) and a caseworker of all departments
        base = tmp_path / "basis"
        _write(base / "widerspruch.md", "---\ndepartment: S-III\n---\n# Widerspruch\n\n## Frist\n\n"
               "Der Widerspruch ist innerhalb eines Monats nach Bekanntgabe des Bescheids schriftlich oder zur "
               "Niederschrift einzulegen.\n")
        _write(base / "unterlagen.md", "---\ndepartment: S-III\n---\n# Fehlende Unterlagen\n\n## Anforderung\n\n"
               "Fehlende Unterlagen werden schriftlich mit einer angemessenen Frist angefordert; auf die Folgen "
               "fehlender Mitwirkung wird hingewiesen.\n")
        _in_process(cli_env, ["index", str(base)], cwd=tmp_path)
        _in_process(cli_env, ["user", "add", "sb", "--name", "Sachbearbeitung", "--roles", "sachbearbeitung",
                              "--departments", "*"], stdin=PASSWORD + "\n", cwd=tmp_path)

        for name, h in hosts.items():
            h["log"] = tmp_path / f"serve-{name}.log"
            h["data"].mkdir(parents=True)
            with open(h["log"], "w", encoding="utf-8") as fh:
                h["proc"] = subprocess.Popen(lotse_cmd() + ["serve", "--port", str(h["port"])], env=h["env"],
                                             cwd=h["data"].parent, stdout=fh, stderr=subprocess.STDOUT)
            procs.append(h["proc"])
        deadline = time.monotonic() + 300
        for h in hosts.values():
            _wait_ready(h["proc"], h["base"], h["log"], deadline)
        t_ready = time.monotonic()

        clients = {}
        for name, h in hosts.items():
            c = httpx.Client(base_url=h["base"], timeout=120)
            web_login(c, "sb", PASSWORD)
            clients[name] = c
        # the new document's question is not answerable yet (on either server)
        for c in clients.values():
            r = c.post("/api/ask", json={"question": NEW_QUESTION})
            assert r.status_code == 200, r.text
            assert "17 Euro" not in r.json()["answer"]

        failures: list[str] = []
        asked: dict[str, int] = {"a": 0, "b": 0}
        spans: list[tuple[float, float]] = []  # (start, end) of every answered question
        lock = threading.Lock()
        counter = iter(range(QUESTIONS))

        def hammer() -> None:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                name = "ab"[i % 2]
                started = time.monotonic()
                try:
                    r = clients[name].post("/api/ask", json={"question": BASE_QUESTIONS[i % len(BASE_QUESTIONS)]})
                    ok = r.status_code == 200 and "answer" in r.json()
                    detail = f"{r.status_code}: {r.text[:300]}"
                except (httpx.HTTPError, ValueError) as exc:
                    ok, detail = False, repr(exc)
                with lock:
                    asked[name] += 1
                    spans.append((started, time.monotonic()))
                    if not ok:
                        failures.append(f"{name}: {detail}")
                time.sleep(0.05)  # leave the CPUs to the writers as well

        workers = [threading.Thread(target=hammer, daemon=True) for _ in range(2)]
        for w in workers:
            w.start()
        writes: list[tuple[str, float, float]] = []
        while sum(asked.values()) < 10:  # the servers are answering
            time.sleep(0.1)
        # a new document, indexed through the CLI (another process than both servers)
        folder = tmp_path / "richtlinien"
        doc = folder / "fahrrad.md"

        def policy(amount: str) -> None:
            _write(doc, "---\ntitle: Fahrradpauschale im Außendienst\ndepartment: S-III\n---\n"
                   "# Fahrradpauschale im Außendienst\n\n## Höhe der Fahrradpauschale\n\n"
                   f"Die Fahrradpauschale für Dienstgänge mit dem eigenen Fahrrad beträgt {amount} Euro im Monat.\n")

        def cli(what: str, args: list[str]):
            t0 = time.monotonic()
            r = _in_process(cli_env, args, cwd=tmp_path)
            writes.append((what, t0, time.monotonic()))
            return r

        def answers() -> dict[str, dict]:
            out = {}
            for name, c in clients.items():
                r = c.post("/api/ask", json={"question": NEW_QUESTION})
                assert r.status_code == 200, (name, r.text)
                out[name] = r.json()
            return out

        policy("17")
        cli("index (new)", ["index", str(folder)])
        for name, body in answers().items():  # both servers, at once
            assert not body["refused"] and "17 Euro" in body["answer"], (name, body)
            assert any(ci["source"] == "fahrrad.md" for ci in body["citations"]), (name, body["citations"])
        for name, c in clients.items():
            hits = c.get("/api/search", params={"q": "Fahrradpauschale Dienstgänge", "k": 5}).json()
            assert hits and hits[0]["source"] == "fahrrad.md", (name, hits)

        sync = cli("sync-cases", ["sync-cases", "--json"])
        assert '"added"' in sync.stdout
        for name, c in clients.items():
            akten = c.get("/api/search", params={"q": "Wohngeld Akte", "k": 20}).json()
            assert any(h["doc_type"] == "akte" and h["source"].startswith("efile:") for h in akten), (name, akten)

        policy("23")  # changed: the old amount is gone on both servers
        cli("index (changed)", ["index", str(folder)])
        for name, body in answers().items():
            assert "23 Euro" in body["answer"] and "17 Euro" not in body["answer"], (name, body["answer"])

        doc.unlink()  # removed: never cited again
        _write(folder / "andere.md", "---\ndepartment: S-III\n---\n# Sonstiges\n\nDienstreisen werden vorher beantragt.\n")
        cli("index (removed)", ["index", str(folder)])
        for name, body in answers().items():
            assert all(ci["source"] != "fahrrad.md" for ci in body["citations"]), (name, body["citations"])

        for w in workers:
            w.join(timeout=300)
        assert not any(w.is_alive() for w in workers)
        t_asked = time.monotonic()

        assert sum(asked.values()) == QUESTIONS
        assert not failures, failures[:5]
        assert asked["a"] == asked["b"] == QUESTIONS // 2
        for what, w0, w1 in writes:  # the questions really came while the CLI wrote
            assert any(s < w1 and e > w0 for s, e in spans), (what, w0, w1)
        for name, c in clients.items():
            status = c.get("/api/index/status").json()
            assert status["vectors"] == status["chunks"] > 3, (name, status)
        for name, h in hosts.items():
            log = h["log"].read_text(encoding="utf-8", errors="replace")
            assert "Traceback" not in log and "500 Internal Server Error" not in log, (name, log[-3000:])
        print(f"\nmulti-host: servers ready after {t_ready - t_start:.1f} s; {QUESTIONS} questions "
              f"(a: {asked['a']}, b: {asked['b']}, failed: {len(failures)}) in {t_asked - t_ready:.1f} s; "
              + ", ".join(f"{w} {w1 - w0:.1f} s" for w, w0, w1 in writes)
              + f"; total {time.monotonic() - t_start:.1f} s")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        double.stop()
