"""Time to create a prefilled letter draft for an e-file case (target: < 2 s per draft).

    python benchmarks/letters_draft.py [--drafts 50] [--cases 200] [--data-dir DIR] [--no-proposals]

Starts the e-file double as its own process with N generated cases, uses a knowledge base on
the demo corpus (indexed into ``--data-dir`` on first use) and SQLite, warms up once (model
load), then creates ``--drafts`` drafts for different cases and templates and prints p50/p95/max,
plus the share spent in the e-file and in the text proposals.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import _common  # noqa: E402,F401  (offline model, path)

READY = "E-Akte-Double bereit auf "


def _start_double(db: Path, n: int, seed: int):
    proc = subprocess.Popen([sys.executable, "-m", "connectors.efile.double", "--port", "0", "--db", str(db),
                             "--generate", str(n), "--seed", str(seed)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(READY):
            return proc, line[len(READY):].strip()
    raise RuntimeError("E-Akte-Double startete nicht")


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drafts", type=int, default=50)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lotse-bench-letters-kb")
    ap.add_argument("--no-proposals", action="store_true", help="without knowledge base (e-file + render only)")
    args = ap.parse_args()

    from assistant import Principal
    from assistant.letters import LetterService
    from assistant.letters.prefill import CASE_TYPE_BY_PROCEDURE
    from connectors.efile.double.generator import generate_cases
    from connectors.efile.eakte_rest import EAkteRestClient
    from connectors.efile.procedures import by_code
    from indexer import DEMO_CORPUS, IndexConfig, KnowledgeBase

    kb = None
    if not args.no_proposals:
        t0 = time.perf_counter()
        kb = KnowledgeBase(IndexConfig(), args.data_dir)
        if kb.catalog.stats()["documents"] == 0:
            kb.index(DEMO_CORPUS, progress=False)
        print(f"knowledge base ready in {time.perf_counter() - t0:.1f} s ({kb.stats()['chunks']} chunks)")

    cases, _ = generate_cases(args.cases, args.seed)
    active = [c for c in cases if c.get("state") != "Storniert"]
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _start_double(Path(tmp) / "eakte.sqlite3", args.cases, args.seed)
        try:
            efile = EAkteRestClient(url, "lotse-tech", "lotse-secret", timeout=10, userlogin="bench")
            svc = LetterService(f"sqlite:///{tmp}/letters.db", efile, kb)
            me = Principal("bench", "Benchmark Sachbearbeitung")
            templates = {n: svc.templates.get(n) for n in svc.templates.names()}
            jobs = []
            i = 0
            while len(jobs) < args.drafts + 1:
                spec = active[i % len(active)]
                ct = CASE_TYPE_BY_PROCEDURE[by_code(spec["procedure_type"]).name]
                fitting = [n for n, t in templates.items() if ct in t.case_types]
                jobs.append((spec["objname"], fitting[i % len(fitting)]))
                i += 1

            t0 = time.perf_counter()
            svc.create_draft(me, *jobs[0])  # warm-up: model load, first connections
            print(f"warm-up draft: {time.perf_counter() - t0:.2f} s")

            # instrument: time spent in e-file calls and in proposals
            spent = {"efile": 0.0, "proposals": 0.0}

            def timed(obj, name, key):
                fn = getattr(obj, name)

                def wrapper(*a, **kw):
                    t = time.perf_counter()
                    try:
                        return fn(*a, **kw)
                    finally:
                        spent[key] += time.perf_counter() - t
                setattr(obj, name, wrapper)

            for name in ("search_cases", "get_case", "get_procedure", "list_documents", "read_document"):
                timed(efile, name, "efile")
            if svc.proposals is not None:
                timed(svc.proposals, "propose", "proposals")

            runs = {}
            for label, cache_s in (("ohne Such-Cache", 0.0), ("mit Such-Cache (Standard)", 300.0)):
                if svc.proposals is not None:
                    svc.proposals.cfg = svc.proposals.cfg.model_copy(update={"proposal_cache_s": cache_s})
                    svc.proposals.clear_cache()
                spent.update(efile=0.0, proposals=0.0)
                times = []
                for az, template in jobs[1:]:
                    t = time.perf_counter()
                    svc.create_draft(me, az, template)
                    times.append(time.perf_counter() - t)
                runs[label] = (times, dict(spent))
                if kb is None:
                    break
            efile.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    print(f"{args.drafts} drafts per run ({'without' if kb is None else 'with'} text proposals), "
          f"{len({t for _, t in jobs})} templates, {args.cases} cases in the double")
    ok = True
    for label, (times, spent) in runs.items():
        total = sum(times)
        print(f"[{label}] p50 {statistics.median(times) * 1000:.0f} ms   p95 {_pct(times, 95) * 1000:.0f} ms   "
              f"max {max(times) * 1000:.0f} ms   mean {statistics.mean(times) * 1000:.0f} ms   "
              f"(e-file {spent['efile'] / total:.0%}, proposals {spent['proposals'] / total:.0%}, "
              f"rest {1 - (spent['efile'] + spent['proposals']) / total:.0%})")
        ok = ok and _pct(times, 95) < 2.0
    print("target p95 < 2 s: " + ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
