"""Retrieval quality: recall@1, recall@5, MRR@10 for BM25-only, dense-only and hybrid.

    python benchmarks/retrieval_quality.py [--data-dir DIR] [--split test|dev|all] [--weights 0,0.2,...]
                                           [--unit-rerank 0.8]

Indexes the law corpus (../shared/corpus/gesetze) and the bundled demo corpus into
DIR (reused when present, incremental), then evaluates benchmarks/questions/*.jsonl.
``--unit-rerank W`` adds a row for the hybrid ranking re-ranked by the closest sentence
(``LOTSE_INDEX__UNIT_RERANK``); only the sentences of the passages the questions retrieve are
embedded (the re-ranking reads no others), not the whole corpus.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import LAW_CORPUS, QUESTIONS, is_gold, knowledge_base, read_jsonl


def evaluate(kb, questions, mode: str, weight: float | None = None, rerank: float = 0.0, **filters) -> dict:
    from indexer import RERANK_DEPTH

    r1 = r5 = mrr = 0.0
    for q in questions:
        if rerank:
            wide = kb.search(q["question"], RERANK_DEPTH, mode=mode, dense_weight=weight, **filters)
            kb.unit_vectors.warm((h.section, h.text) for h in wide)
            hits = kb.rerank(q["question"], wide, rerank)[:10]
        else:
            hits = kb.search(q["question"], 10, mode=mode, dense_weight=weight, **filters)
        rank = next((i for i, h in enumerate(hits, 1) if is_gold(h, q["gold"])), None)
        if rank:
            r1 += rank == 1
            r5 += rank <= 5
            mrr += 1 / rank
    n = len(questions) or 1
    return {"recall@1": r1 / n, "recall@5": r5 / n, "mrr@10": mrr / n, "n": len(questions)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lotse-bench-retrieval")
    ap.add_argument("--split", default="all", choices=["all", "dev", "test"])
    ap.add_argument("--weights", default="", help="comma-separated dense weights to sweep (hybrid)")
    ap.add_argument("--embedding-model", default=None, help="local sentence-transformers folder "
                    "(e.g. the output of `lotse adapt-embedder`); default: the shipped MiniLM")
    ap.add_argument("--embedder", default="transformer", choices=["transformer", "static"])
    ap.add_argument("--dense-weight", type=float, default=None, help="dense weight of the 'hybrid (Lotse)' row "
                    "and of the re-ranked one (default: the setting's default; scripts/run.sh uses 0.3 with "
                    "EmbeddingGemma)")
    ap.add_argument("--unit-rerank", type=float, default=0.0, help="also report the hybrid ranking re-ranked "
                    "by the closest sentence with this weight")
    args = ap.parse_args()

    from indexer import DEMO_CORPUS

    extra = {} if args.dense_weight is None else {"dense_weight": args.dense_weight}
    kb = knowledge_base(args.data_dir, embedding_model=args.embedding_model, embedder=args.embedder, **extra)
    kb.index(LAW_CORPUS, progress=False, warm_units=False)
    kb.index(DEMO_CORPUS, progress=False, warm_units=False)
    sets = {}
    law = read_jsonl(QUESTIONS / "law_questions.jsonl")
    if args.split != "all":
        law = [q for q in law if q.get("split") == args.split]
    # law questions are judged against the law corpus, demo questions against the demo corpus
    sets[f"law ({args.split})"] = (law, {"doc_types": ["gesetz"]})
    demo_file = QUESTIONS / "demo_questions.jsonl"
    if demo_file.exists():
        demo = read_jsonl(demo_file)
        for q in demo:  # demo gold sources are relative to the demo corpus root
            q["gold"] = [dict(g) for g in q["gold"]]
        sets["demo corpus"] = (demo, {"departments": ["S-I", "S-II", "S-III", "S-Z"]})
    print(f"index: {kb.stats()['chunks']} chunks, default dense weight {kb.cfg.dense_weight}")
    print(f"{'question set':<16} {'method':<18} {'n':>4} {'R@1':>6} {'R@5':>6} {'MRR@10':>7}")
    for name, (qs, filters) in sets.items():
        rows = [("bm25-only", "lexical", None), ("dense-only", "dense", None), ("hybrid (Lotse)", "hybrid", None)]
        for w in [float(x) for x in args.weights.split(",") if x.strip()]:
            rows.append((f"hybrid w={w:.2f}", "hybrid", w))
        rows = [(label, mode, w, 0.0) for label, mode, w in rows]
        if args.unit_rerank:
            rows.append((f"hybrid+rerank {args.unit_rerank:g}", "hybrid", None, args.unit_rerank))
        for label, mode, w, rerank in rows:
            m = evaluate(kb, qs, mode, w, rerank, **filters)
            print(f"{name:<16} {label:<18} {m['n']:>4} {m['recall@1']:>6.3f} {m['recall@5']:>6.3f} {m['mrr@10']:>7.3f}")


if __name__ == "__main__":
    main()
