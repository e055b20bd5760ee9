"""Answer benchmark (extractive provider unless configured otherwise).

    python benchmarks/answer_quality.py [--data-dir DIR]

- in-scope: demo-corpus questions (gold = document + section) and law questions
  (gold = law + §): share of answers whose FIRST citation is a gold source document
  (and, stricter, gold section), share refused;
- out-of-scope questions: refusal precision and recall;
- latency of the extractive path: first streamed token and full answer, p50/p95.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from _common import LAW_CORPUS, QUESTIONS, knowledge_base, read_jsonl


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, int(round(len(values) * p)) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lotse-bench-retrieval")
    args = ap.parse_args()
    from assistant import Assistant, AssistantConfig, ExtractiveConfig, Principal
    from indexer import DEMO_CORPUS

    kb = knowledge_base(args.data_dir)
    kb.index(LAW_CORPUS, progress=False)
    kb.index(DEMO_CORPUS, progress=False)
    a = Assistant(AssistantConfig(), ExtractiveConfig(), kb, f"sqlite:///{args.data_dir / 'bench.db'}")
    me = Principal("bench", "Benchmark")
    sets = {"demo": read_jsonl(QUESTIONS / "demo_questions.jsonl"),
            "law": read_jsonl(QUESTIONS / "law_questions.jsonl")}
    first_ms, total_ms = [], []
    print(f"threshold {a.cfg.refusal_threshold}")
    refused_in = 0
    n_in = 0
    for name, qs in sets.items():
        doc_ok = sec_ok = refused = 0
        for q in qs:
            r = None
            for ev in a.pipeline.run(q["question"], me):
                if ev["type"] == "done":
                    r = ev
            first_ms.append(r["timings"]["first_token_ms"])
            total_ms.append(r["timings"]["total_ms"])
            if r["refused"]:
                refused += 1
                continue
            c = r["citations"][0] if r["citations"] else None
            if c and any(c["source"] == g["source"] for g in q["gold"]):
                doc_ok += 1
                gs = [g["section"] for g in q["gold"] if g["source"] == c["source"]]
                if any(c["section"] == s or c["section"].startswith(s + " ") for s in gs):
                    sec_ok += 1
        n = len(qs)
        refused_in += refused
        n_in += n
        print(f"{name:<5} n={n:>3}  first citation = gold document {doc_ok / n:.3f}, = gold section {sec_ok / n:.3f}, "
              f"refused {refused / n:.3f}")
    outs = read_jsonl(QUESTIONS / "out_of_scope.jsonl")
    tp = 0
    for q in outs:
        if a.ask(q["question"], me)["refused"]:
            tp += 1
    precision = tp / (tp + refused_in) if tp + refused_in else 1.0
    print(f"out-of-scope n={len(outs)}: refusal recall {tp / len(outs):.3f}, refusal precision {precision:.3f} "
          f"(refused {tp} of {len(outs)} out-of-scope, {refused_in} of {n_in} in-scope)")
    print(f"extractive latency: first token p50 {statistics.median(first_ms):.0f} ms p95 {pct(first_ms, .95):.0f} ms; "
          f"full answer p50 {statistics.median(total_ms):.0f} ms p95 {pct(total_ms, .95):.0f} ms (n={len(total_ms)})")


if __name__ == "__main__":
    main()
