"""Speed of the e-file double and of the eakte_rest client against it.

    python benchmarks/efile_double_speed.py [--cases 10000] [--reads 300] [--filings 50]

Prints: time to generate and load N cases, start-up time of the double process with
those cases, client read throughput (get_case; full case = case + procedures +
documents + contents of the first document) and filing throughput (idempotent filing,
each with its duplicate check).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.efile.double.casefile import load_cases, parse_cases  # noqa: E402
from connectors.efile.double.generator import generate_cases  # noqa: E402
from connectors.efile.double.store import Store  # noqa: E402
from connectors.efile.eakte_rest import EAkteRestClient  # noqa: E402
from connectors.errors import NotFound  # noqa: E402

READY = "E-Akte-Double bereit auf "


def _start_double(db: Path, n: int, seed: int) -> tuple[subprocess.Popen[str], str, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "connectors.efile.double", "--port", "0", "--db", str(db),
         "--generate", str(n), "--seed", str(seed)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(READY):
            return proc, line[len(READY):].strip(), time.perf_counter() - t0
    raise RuntimeError("double did not start")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--reads", type=int, default=300)
    ap.add_argument("--filings", type=int, default=50)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    t0 = time.perf_counter()
    cases, planted = generate_cases(args.cases, args.seed)
    t_gen = time.perf_counter() - t0
    objects = sum(1 + sum(1 + sum(1 + len(d["files"]) for d in p["documents"]) for p in c["procedures"])
                  for c in cases)
    print(f"generate_cases({args.cases}): {t_gen:.2f} s  ({args.cases / t_gen:,.0f} cases/s, "
          f"{objects:,} objects, {len(planted):,} planted values)")

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        specs = parse_cases(cases)
        store = Store(Path(tmp) / "load.sqlite3")
        load_cases(store, specs)
        store.close()
        print(f"validate + load into SQLite: {time.perf_counter() - t0:.2f} s")

        proc, url, t_start = _start_double(Path(tmp) / "double.sqlite3", args.cases, args.seed)
        print(f"double process ready with {args.cases} cases: {t_start:.2f} s")
        try:
            _client_figures(url, cases, args)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


def _client_figures(url: str, cases: list[dict], args: argparse.Namespace) -> None:
    active = [c for c in cases if c.get("state") != "Storniert"][: args.reads]
    with EAkteRestClient(url, "lotse-tech", "lotse-secret", timeout=10, userlogin="bench") as client:
        t0 = time.perf_counter()
        for c in active:
            client.get_case(c["coo"])
        dt = time.perf_counter() - t0
        print(f"get_case: {len(active) / dt:,.0f} cases/s ({dt / len(active) * 1000:.1f} ms each)")

        t0 = time.perf_counter()
        files = 0
        for c in active:
            case = client.get_case(c["coo"])
            for ref in case.procedures:
                client.get_procedure(ref.coo)
                docs = client.list_documents(ref.coo)
                if docs:
                    files += len(client.read_document(docs[0].coo))
        dt = time.perf_counter() - t0
        print(f"full case read: {len(active) / dt:,.0f} cases/s ({files} files read)")

        t0 = time.perf_counter()
        try:
            client.search_cases(aktenzeichen=active[0]["objname"])
            n_search = 100
            for c in active[:n_search]:
                client.search_cases(aktenzeichen=c["objname"])
            dt = time.perf_counter() - t0
            print(f"search by Aktenzeichen: {n_search / dt:,.0f} searches/s")
        except NotFound:
            pass

        targets = [p["coo"] for c in active for p in c["procedures"]
                   if p.get("state", "In Bearbeitung") == "In Bearbeitung"][: args.filings]
        t0 = time.perf_counter()
        for i, coo in enumerate(targets):
            client.file_outgoing(coo, "Benchmark", "Benchmark-Ablage", "bench.txt", b"x" * 2048, f"bench-{i}")
        dt = time.perf_counter() - t0
        print(f"file_outgoing (with duplicate check): {len(targets) / dt:,.0f} filings/s")


if __name__ == "__main__":
    raise SystemExit(main())
