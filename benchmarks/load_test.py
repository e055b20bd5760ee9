"""Bounded load test: N logged-in clients asking POST /api/ask for D seconds against a real `lotse serve`.

    python benchmarks/load_test.py [--clients 100] [--seconds 60] [--data-dir DIR] [--index-template DIR]
                                   [--json]

Prepares a data dir (a copy of ``--index-template``, an already indexed data dir, if given; otherwise the
server indexes the demo corpus on its first start, a minute or more), creates the account ``lasttest``
with ``lotse user add``, starts ``lotse serve`` on a free loopback port, logs every client in through the
login form (own session each, cookie + X-CSRF-Token), then lets all clients ask questions from
``benchmarks/questions/demo_questions.jsonl`` back to back for D seconds (httpx, async). Reports errors
(non-200 answers and transport errors, by kind), p50/p95/max latency, requests/s, and the server's
resident memory (RSS from /proc) before the load, at its end and at its peak. Exit code 1 on any error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from _common import QUESTIONS, read_jsonl

USER = "lasttest"
PASSWORD = "lasttest-passwort-1"


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB (Linux /proc), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, round(p * len(sorted_values)) - 1))]


async def login(base: str, limits: httpx.Limits) -> httpx.AsyncClient:
    c = httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(120, connect=30), limits=limits)
    page = await c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await c.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": token, "next": "/"})
    if r.status_code not in (200, 303) or "lotse_session" not in c.cookies:
        raise SystemExit(f"Anmeldung fehlgeschlagen: {r.status_code} {r.text[:200]}")
    c.headers["X-CSRF-Token"] = (await c.get("/api/me")).json()["csrf_token"]
    return c


async def client_loop(c: httpx.AsyncClient, questions: list[str], offset: int, end: float,
                      latencies: list[float], errors: Counter, details: list[dict], start: float) -> None:
    i = offset
    while time.monotonic() < end:
        q = questions[i % len(questions)]
        i += 1
        t, t0 = time.perf_counter(), time.monotonic()
        try:
            r = await c.post("/api/ask", json={"question": q})
            ok = r.status_code == 200 and "answer" in r.json()
            if not ok:
                errors[f"HTTP {r.status_code}"] += 1
                details.append({"at_s": round(t0 - start, 1), "client": offset // 7, "request": i - offset,
                                "kind": f"HTTP {r.status_code}", "detail": r.text[:200]})
        except Exception as exc:  # noqa: BLE001 - every failure counts as an error, by kind
            errors[type(exc).__name__] += 1
            details.append({"at_s": round(t0 - start, 1), "client": offset // 7, "request": i - offset,
                            "kind": type(exc).__name__, "detail": repr(exc)[:200]})
            ok = False
        if ok:
            latencies.append(time.perf_counter() - t)


async def sample_rss(pid: int, stop: asyncio.Event, samples: list[float]) -> None:
    while not stop.is_set():
        value = rss_mb(pid)
        if value is not None:
            samples.append(value)
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass


async def run_load(base: str, pid: int, clients: int, seconds: float) -> dict:
    questions = [q["question"] for q in read_jsonl(QUESTIONS / "demo_questions.jsonl")]
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    t = time.perf_counter()
    sessions = []
    for _ in range(clients):  # one after another: argon2id per login, not part of the measurement
        sessions.append(await login(base, limits))
    login_s = time.perf_counter() - t
    # warm-up: the first answer loads the analyzers
    await sessions[0].post("/api/ask", json={"question": questions[0]})
    rss_start = rss_mb(pid)
    latencies: list[float] = []
    errors: Counter = Counter()
    details: list[dict] = []  # when and where each error happened (seconds after the start, client, its n-th request)
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, stop, samples))
    start = time.monotonic()
    end = start + seconds
    await asyncio.gather(*(client_loop(c, questions, i * 7, end, latencies, errors, details, start)
                           for i, c in enumerate(sessions)))
    elapsed = time.monotonic() - start
    stop.set()
    await sampler
    rss_end = rss_mb(pid)
    for c in sessions:
        await c.aclose()
    lat = sorted(x * 1000 for x in latencies)
    return {
        "clients": clients, "seconds": round(elapsed, 1), "logins_s": round(login_s, 1),
        "requests": len(lat) + sum(errors.values()), "ok": len(lat), "errors": sum(errors.values()),
        "errors_by_kind": dict(errors), "errors_detail": details[:20],
        "requests_per_s": round((len(lat) + sum(errors.values())) / elapsed, 1),
        "latency_ms": {"p50": round(statistics.median(lat)) if lat else None, "p95": round(percentile(lat, .95)),
                       "max": round(lat[-1]) if lat else None},
        "rss_mb": {"start": round(rss_start or 0), "end": round(rss_end or 0),
                   "peak": round(max(samples)) if samples else None},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lotse() -> list[str]:
    exe = Path(sys.executable).parent / "lotse"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "lotse.cli"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--data-dir", type=Path, help="data dir of the server (default: a new temporary one)")
    ap.add_argument("--index-template", type=Path, help="an indexed data dir to copy first (skips indexing)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    data = args.data_dir or Path(tempfile.mkdtemp(prefix="lotse-load-")) / "data"
    if args.index_template and not data.exists():
        shutil.copytree(args.index_template, data)
    data.mkdir(parents=True, exist_ok=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LOTSE_")},
           "LOTSE_DATA_DIR": str(data), "LOTSE_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1",
           "ANONYMIZED_TELEMETRY": "False"}
    if os.environ.get("LOTSE_LAW_CORPUS"):
        env["LOTSE_LAW_CORPUS"] = os.environ["LOTSE_LAW_CORPUS"]
    known = subprocess.run([*lotse(), "user", "list", "--json"], env=env, capture_output=True, text=True)
    if USER not in known.stdout:
        added = subprocess.run([*lotse(), "user", "add", USER, "--name", "Lasttest", "--roles", "sachbearbeitung",
                                "--departments", "*"], env=env, input=PASSWORD + "\n", capture_output=True,
                               text=True)
        if added.returncode != 0:
            raise SystemExit(f"lotse user add: {added.stderr or added.stdout}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(data.parent / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*lotse(), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 900
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"lotse serve endete mit {proc.returncode}, siehe {log.name}")
            try:
                if httpx.get(f"{base}/health", timeout=120).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise SystemExit("lotse serve antwortet nicht")
            time.sleep(1)
        result = asyncio.run(run_load(base, proc.pid, args.clients, args.seconds))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        lat, rss = result["latency_ms"], result["rss_mb"]
        print(f"{result['clients']} clients, {result['seconds']} s of POST /api/ask "
              f"({result['clients']} logins took {result['logins_s']} s)")
        print(f"requests {result['requests']}, ok {result['ok']}, errors {result['errors']} "
              f"{result['errors_by_kind'] or ''}")
        print(f"latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, max {lat['max']} ms; "
              f"{result['requests_per_s']} requests/s")
        print(f"server RSS: start {rss['start']} MiB, end {rss['end']} MiB, peak {rss['peak']} MiB")
        for d in result["errors_detail"]:
            print(f"error at {d['at_s']} s: client {d['client']}, its request {d['request']}: {d['kind']} {d['detail']}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
