"""Calibrate the refusal threshold: support scores of in-scope vs out-of-scope questions.

    python benchmarks/calibrate_refusal.py [--data-dir DIR]

In-scope: the demo-corpus (and with --corpus all the law) question sets; out-of-scope:
out_of_scope.jsonl. Rule: the highest threshold (most out-of-scope refusals) that still
answers at least --min-answered of the in-scope dev questions (even positions); the
refusal precision/recall is then reported on the held-out half. The default corpus is
the one a fresh installation has: the bundled demo corpus.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import LAW_CORPUS, QUESTIONS, knowledge_base, read_jsonl


def scores(kb, questions: list[dict]) -> list[float]:
    out = []
    for q in questions:
        hits = kb.search(q["question"], 5)
        out.append(kb.support(q["question"], hits))
    return out


def evaluate(threshold: float, ins: list[float], outs: list[float]) -> dict:
    tp = sum(s < threshold for s in outs)  # correctly refused
    fp = sum(s < threshold for s in ins)  # wrongly refused
    fn = len(outs) - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    answered = 1 - fp / len(ins) if ins else 1.0
    return {"precision": precision, "recall": recall, "in_scope_answered": answered}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lotse-bench-retrieval")
    ap.add_argument("--corpus", choices=["demo", "all"], default="demo")
    ap.add_argument("--min-answered", type=float, default=0.85)
    args = ap.parse_args()
    from indexer import DEMO_CORPUS

    data_dir = args.data_dir if args.corpus == "all" else args.data_dir.with_name(args.data_dir.name + "-demo")
    kb = knowledge_base(data_dir)
    if args.corpus == "all":
        kb.index(LAW_CORPUS, progress=False)
    kb.index(DEMO_CORPUS, progress=False)
    ins = read_jsonl(QUESTIONS / "demo_questions.jsonl")
    if args.corpus == "all":
        ins += read_jsonl(QUESTIONS / "law_questions.jsonl")
    outs = read_jsonl(QUESTIONS / "out_of_scope.jsonl")
    dev_in, test_in = ins[::2], ins[1::2]
    dev_out, test_out = outs[::2], outs[1::2]
    s_dev_in, s_dev_out = scores(kb, dev_in), scores(kb, dev_out)
    candidates = [t / 100 for t in range(1, 100)
                  if evaluate(t / 100, s_dev_in, s_dev_out)["in_scope_answered"] >= args.min_answered]
    best = max(candidates) if candidates else 0.0
    s_test_in, s_test_out = scores(kb, test_in), scores(kb, test_out)
    q = sorted(s_dev_in)
    print(f"in-scope support (dev): min {q[0]:.3f} p10 {q[len(q) // 10]:.3f} median {q[len(q) // 2]:.3f}")
    o = sorted(s_dev_out)
    print(f"out-of-scope support (dev): median {o[len(o) // 2]:.3f} p90 {o[int(len(o) * 0.9)]:.3f} max {o[-1]:.3f}")
    print(f"chosen threshold (dev): {best:.2f}")
    m = evaluate(best, s_test_in, s_test_out)
    print(f"held-out: refusal precision {m['precision']:.3f}, refusal recall {m['recall']:.3f}, "
          f"in-scope answered {m['in_scope_answered']:.3f} (n_in={len(test_in)}, n_out={len(test_out)})")


if __name__ == "__main__":
    main()
