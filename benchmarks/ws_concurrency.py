"""50 concurrent WebSocket conversations against one `lotse serve` process.

    python benchmarks/ws_concurrency.py [--clients 50] [--data-dir DIR]

Starts the real server (uvicorn) on a free loopback port with the demo corpus,
opens N WebSocket connections at once, each asks one question and waits for the
final message. Prints errors and the full-answer time p50/p95.
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


async def one(url: str, question: str) -> tuple[float, str | None]:
    t = time.perf_counter()
    try:
        async with websockets.connect(url, open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "ask", "question": question}))
            while True:
                ev = json.loads(await asyncio.wait_for(ws.recv(), 120))
                if ev["type"] == "error":
                    return time.perf_counter() - t, ev["message"]
                if ev["type"] == "done":
                    return time.perf_counter() - t, None
    except Exception as exc:  # noqa: BLE001 - counted as an error
        return time.perf_counter() - t, type(exc).__name__


async def run(url: str, questions: list[str]) -> list[tuple[float, str | None]]:
    return await asyncio.gather(*(one(url, q) for q in questions))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lotse-bench-ws")
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LOTSE_DATA_DIR": str(args.data_dir), "LOTSE_LOG_LEVEL": "WARNING"}
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
        qs = [q["question"] for q in read_jsonl(QUESTIONS / "demo_questions.jsonl")][: args.clients]
        results = asyncio.run(run(f"ws://127.0.0.1:{port}/ws/chat", qs))
        times = sorted(t * 1000 for t, _ in results)
        errors = [e for _, e in results if e]
        print(f"{len(results)} concurrent conversations: {len(errors)} errors {errors[:3]}")
        print(f"full answer p50 {statistics.median(times):.0f} ms, p95 {times[int(len(times) * .95) - 1]:.0f} ms, "
              f"max {times[-1]:.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
