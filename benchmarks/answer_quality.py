"""Answer benchmark on the bundled demo corpus, with questions in caseworker language.

    python benchmarks/answer_quality.py [--split dev|test|all] [--data-dir DIR] [--show-failures] [--limit N]

The questions (benchmarks/questions/answers_{dev,test}.jsonl, see ANSWERS_README.md) were written
without looking at Lotse's answers. Each answerable question lists the facts a right answer must
contain (each fact as alternatives, matched case-insensitively), its gold document and section;
unanswerable questions (absent from the sources, or off-topic) must be refused; follow-ups carry
the conversation before them. Reported:

- correct: the answer is not refused and contains every fact;
- first citation = gold document;
- answerable refused (should be low) and unanswerable refused (should be high);
- follow-ups correct;
- latency of the whole pipeline: first streamed token and full answer, p50/p95.

Tune on ``dev`` only; report ``test``. Runs whatever provider the settings choose
(``LOTSE_LLM__KIND=openai`` measures an OpenAI-compatible server on the same yardstick).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from _common import QUESTIONS, read_jsonl


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, int(round(len(values) * p)) - 1)] if values else 0.0


def _norm(text: str) -> str:
    text = text.lower().replace("\u00a0", " ").replace("–", "-")
    return re.sub(r"\s+", " ", text)


def has_fact(answer: str, alternatives: list[str]) -> bool:
    low = _norm(answer)
    return any(_norm(a) in low for a in alternatives)


def load(split: str) -> list[dict]:
    names = ["dev", "test"] if split == "all" else [split]
    out = []
    for name in names:
        for q in read_jsonl(QUESTIONS / f"answers_{name}.jsonl"):
            q["split"] = name
            out.append(q)
    return out


def build_assistant(data_dir: Path):
    """The assistant exactly as `lotse serve` builds it from the LOTSE_* settings, on a fresh data dir."""
    from indexer import DEMO_CORPUS
    from lotse.factory import build_assistant as build, build_knowledge_base
    from lotse.settings import Settings

    settings = Settings(data_dir=data_dir)
    kb = build_knowledge_base(settings)
    t0 = time.perf_counter()
    kb.index(DEMO_CORPUS, progress=False)
    print(f"demo corpus indexed in {time.perf_counter() - t0:.1f} s")
    return build(settings, kb, ensure_corpus=False)


def run_one(a, q: dict, me) -> dict:
    history = [tuple(x) for x in q.get("history") or []]
    if history and not any(c for r, c in history if r == "assistant"):
        # the benchmark gives the first turn's real answer as history, like the chat would
        first = a.ask(history[0][1], me)
        history = [("user", history[0][1]), ("assistant", first["answer"])]
    result = None
    for ev in a.pipeline.run(q["question"], me, history=history):
        if ev["type"] == "done":
            result = ev
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["dev", "test", "all"], default="test")
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lotse-bench-answers")
    ap.add_argument("--show-failures", action="store_true", help="print every wrong answer")
    ap.add_argument("--limit", type=int, default=0, help="only the first N lines of the split (a slow LLM: "
                    "shows the path works, not the split's figures)")
    args = ap.parse_args()
    from assistant import Principal

    a = build_assistant(args.data_dir)
    me = Principal("bench", "Benchmark")
    qs = load(args.split)
    if args.limit:
        qs = qs[:args.limit]
    first_ms, total_ms = [], []
    ans = [q for q in qs if q["answerable"] and not q.get("followup")]
    fol = [q for q in qs if q["answerable"] and q.get("followup")]
    una = [q for q in qs if not q["answerable"]]
    stats = {"correct": 0, "first_doc": 0, "refused": 0, "fu_correct": 0, "fu_refused": 0, "una_refused": 0}
    by_type: dict[str, list[int]] = {}
    failures = []
    for q in qs:
        r = run_one(a, q, me)
        first_ms.append(r["timings"]["first_token_ms"])
        total_ms.append(r["timings"]["total_ms"])
        if not q["answerable"]:
            stats["una_refused"] += r["refused"]
            if not r["refused"]:
                failures.append((q, r, "answered"))
            continue
        correct = not r["refused"] and all(has_fact(r["answer"], f) for f in q["facts"])
        first = r["citations"][0]["source"] if r["citations"] else None
        if q.get("followup"):
            stats["fu_correct"] += correct
            stats["fu_refused"] += r["refused"]
        else:
            stats["correct"] += correct
            stats["refused"] += r["refused"]
            stats["first_doc"] += first == q["gold_source"]
            by_type.setdefault(q.get("type", "other"), [0, 0])
            by_type[q.get("type", "other")][0] += correct
            by_type[q.get("type", "other")][1] += 1
        if not correct:
            failures.append((q, r, "refused" if r["refused"] else f"missing facts; first citation {first}"))

    def share(x: int, n: int) -> str:
        return f"{x / n:.3f} ({x}/{n})" if n else "n/a"

    print(f"split {args.split}: {len(ans)} answerable, {len(fol)} follow-ups, {len(una)} unanswerable; "
          f"provider {a.pipeline.provider.name}, refusal threshold {a.cfg.refusal_threshold}")
    print(f"correct (all facts present)      {share(stats['correct'], len(ans))}")
    print(f"first citation = gold document   {share(stats['first_doc'], len(ans))}")
    print(f"answerable refused               {share(stats['refused'], len(ans))}")
    print(f"unanswerable refused             {share(stats['una_refused'], len(una))}")
    print(f"follow-ups correct               {share(stats['fu_correct'], len(fol))} "
          f"(refused {stats['fu_refused']})")
    print("correct by question type: " + ", ".join(f"{t} {c}/{n}" for t, (c, n) in sorted(by_type.items())))
    print(f"latency: first token p50 {statistics.median(first_ms):.0f} ms p95 {pct(first_ms, .95):.0f} ms; "
          f"full answer p50 {statistics.median(total_ms):.0f} ms p95 {pct(total_ms, .95):.0f} ms (n={len(total_ms)})")
    if args.show_failures:
        for q, r, why in failures:
            print(f"\n--- {q['id']} [{why}] {q['question']}\n    facts {q['facts']} gold {q.get('gold_source')} "
                  f"/ {q.get('gold_section')}\n    " + r["answer"].replace("\n", "\n    "))


if __name__ == "__main__":
    main()
