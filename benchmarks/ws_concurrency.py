"""50 concurrent logged-in users chatting against one `lotse serve` process, and page load times.

    python benchmarks/ws_concurrency.py [--clients 50] [--data-dir DIR]

Creates N local accounts, starts the real server (uvicorn) on a free loopback port with the
demo corpus, logs every user in through the login form, measures the chat page load (HTML +
CSS + JS, warm server, sequential), then opens N WebSocket connections at once with the users'
session cookies; each asks one question and waits for the final message. Prints errors and
the p50/p95 figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from _common import QUESTIONS, read_jsonl


PASSWORD = "benchmark-passwort-1"


def login(base: str, user: str) -> httpx.Client:
    import re

    c = httpx.Client(base_url=base, timeout=120)
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token, "next": "/"})
    if r.status_code not in (200, 303) or "lotse_session" not in c.cookies:
        raise SystemExit(f"login of {user} failed: {r.status_code}")
    return c


def page_load(c: httpx.Client) -> float:
    """Chat page and the assets it references, one after another (like a browser with a cold cache)."""
    import re

    t = time.perf_counter()
    html = c.get("/").text
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        c.get(asset).raise_for_status()
    return time.perf_counter() - t


async def one(url: str, question: str, cookie: str, origin: str) -> tuple[float, str | None]:
    t = time.perf_counter()
    try:
        async with websockets.connect(url, open_timeout=60,
                                      additional_headers={"Cookie": cookie, "Origin": origin}) as ws:
            await ws.send(json.dumps({"type": "ask", "question": question}))
            while True:
                ev = json.loads(await asyncio.wait_for(ws.recv(), 120))
                if ev["type"] == "error":
                    return time.perf_counter() - t, ev["message"]
                if ev["type"] == "done":
                    return time.perf_counter() - t, None
    except Exception as exc:  # noqa: BLE001 - counted as an error
        return time.perf_counter() - t, type(exc).__name__


async def run(url: str, questions: list[str], cookies: list[str], origin: str) -> list[tuple[float, str | None]]:
    return await asyncio.gather(*(one(url, q, c, origin) for q, c in zip(questions, cookies)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lotse-bench-ws")
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LOTSE_DATA_DIR": str(args.data_dir), "LOTSE_LOG_LEVEL": "WARNING"}
    from assistant.accounts import AccountStore

    args.data_dir.mkdir(parents=True, exist_ok=True)
    store = AccountStore(f"sqlite:///{args.data_dir / 'lotse.db'}")
    users = [f"bench{i:03d}" for i in range(args.clients)]
    known = {u["id"] for u in store.list()}
    for u in users:
        if u not in known:
            store.add(u, f"Benchmark {u}", ["sachbearbeitung"], "*", PASSWORD)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "lotse"), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=120).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        base = f"http://127.0.0.1:{port}"
        t = time.perf_counter()
        clients = [login(base, u) for u in users]
        print(f"{len(clients)} logins (argon2id verify) in {time.perf_counter() - t:.1f} s")
        page_load(clients[0])  # warm
        loads = sorted(page_load(clients[i % len(clients)]) * 1000 for i in range(50))
        print(f"chat page load (HTML+CSS+JS, warm server, logged in): p50 {statistics.median(loads):.1f} ms, "
              f"p95 {loads[int(len(loads) * .95) - 1]:.1f} ms, max {loads[-1]:.1f} ms")
        cookies = [f"lotse_session={c.cookies['lotse_session']}" for c in clients]
        pool = [q["question"] for q in read_jsonl(QUESTIONS / "demo_questions.jsonl")]
        qs = [pool[i % len(pool)] for i in range(args.clients)]
        results = asyncio.run(run(f"ws://127.0.0.1:{port}/ws/chat", qs, cookies, base))
        times = sorted(t * 1000 for t, _ in results)
        errors = [e for _, e in results if e]
        print(f"{len(results)} concurrent logged-in users chatting: {len(errors)} errors {errors[:3]}")
        print(f"full answer p50 {statistics.median(times):.0f} ms, p95 {times[int(len(times) * .95) - 1]:.0f} ms, "
              f"max {times[-1]:.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
