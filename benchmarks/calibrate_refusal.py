"""Calibrate the refusal threshold on the dev split of the answer benchmark.

    python benchmarks/calibrate_refusal.py [--data-dir DIR] [--max-refused 0.06]

For each candidate threshold, the answerability check (assistant/answerability.py) runs on the
retrieved passages of every dev question (answerable and unanswerable, follow-ups left out).
Rule: the threshold that refuses the most unanswerable questions while refusing at most
--max-refused of the answerable ones; then the same threshold is reported on the test split.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import QUESTIONS, read_jsonl


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lotse-bench-answers")
    ap.add_argument("--max-refused", type=float, default=0.06)
    args = ap.parse_args()
    from assistant.answerability import assess
    from assistant.question_types import question_type
    from indexer import DEMO_CORPUS
    from lotse.factory import build_knowledge_base
    from lotse.settings import Settings

    kb = build_knowledge_base(Settings(data_dir=args.data_dir))
    kb.index(DEMO_CORPUS, progress=False)
    k = Settings(data_dir=args.data_dir).assistant.top_k
    min_dense = Settings(data_dir=args.data_dir).assistant.refusal_min_dense

    def load(split: str) -> list[tuple[dict, list]]:
        qs = [q for q in read_jsonl(QUESTIONS / f"answers_{split}.jsonl") if not q.get("followup")]
        # judged like the pipeline: lexical signals on the lexical ranking, the meaning gate on the answer's
        return [(q, kb.search(q["question"], k, mode="lexical"), kb.search(q["question"], k)) for q in qs]

    def rates(rows, t: float) -> tuple[float, float]:
        ans = [q for q, _, _ in rows if q["answerable"]]
        refused_ans = refused_una = 0
        for q, judged, hits in rows:
            v = assess(q["question"], judged or hits, kb, question_type(q["question"]), t, min_dense=min_dense,
                       nearest=max((h.dense for h in hits), default=0.0))
            if q["answerable"]:
                refused_ans += not v.answerable
            else:
                refused_una += not v.answerable
        n_una = len(rows) - len(ans)
        return refused_ans / len(ans), refused_una / n_una

    dev = load("dev")
    best, best_una = 0.0, -1.0
    for t in [x / 100 for x in range(0, 21)]:
        ra, ru = rates(dev, t)
        print(f"threshold {t:.2f}: answerable refused {ra:.3f}, unanswerable refused {ru:.3f}")
        if ra <= args.max_refused and ru >= best_una:  # ties: the stricter threshold
            best, best_una = t, ru
    print(f"chosen on dev: {best:.2f}")
    ra, ru = rates(load("test"), best)
    print(f"test split at {best:.2f}: answerable refused {ra:.3f}, unanswerable refused {ru:.3f}")


if __name__ == "__main__":
    main()
