"""Retrieval latency p50/p95 at 10k and 100k chunks (hybrid: query embedding + BM25 + Chroma + catalog).

    python benchmarks/search_latency.py [--sizes 10000,100000] [--queries 200]

Extra chunks are generated from the law corpus: sentences of real sections are
recombined into new sections of new "laws". Their vectors are the real vectors of
the source sections plus small noise (embedding 100k chunks on 2 CPU cores would
take an hour and measures indexing, not retrieval). Data dirs are cached in /tmp.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import LAW_CORPUS, QUESTIONS, knowledge_base, read_jsonl


def fill(kb, target: int, seed: int = 7) -> None:
    from indexer.chunking import Chunk
    from indexer.pipeline import chunk_terms

    have = kb.catalog.stats()["chunks"]
    if have >= target:
        return
    rows = kb.catalog.chunks(sorted(kb.catalog.all_chunk_ids()))
    base = list(rows.values())
    vecs = kb.vectors.existing_embeddings([r.chunk_id for r in base])
    sentences = [s for r in base for s in re.split(r"(?<=[.;])\s+", r.text) if len(s) > 30]
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    batch_no = 0
    while have < target:
        n = min(2000, target - have)
        chunks, terms, embs = [], [], []
        for i in range(n):
            src = base[rng.randrange(len(base))]
            text = " ".join(rng.sample(sentences, 4))
            cid = f"synthetic-{batch_no}-{i}"
            section = f"§ {rng.randrange(1, 400)} {src.section.split(' ', 2)[-1]}"
            c = Chunk(cid, f"synthetisch_{batch_no % 50}.md", f"Synthetisches Gesetz {batch_no % 50}", section,
                      (section,), None, text, i, "allgemein", "gesetz", cid)
            chunks.append(c)
            terms.append(chunk_terms(c, None))
            v = np.array(vecs[src.chunk_id]) + nprng.normal(0, 0.02, 384)
            embs.append((v / np.linalg.norm(v)).tolist())
        kb.vectors.upsert([c.chunk_id for c in chunks], embs,
                          [{"department": "allgemein", "doc_type": "gesetz", "source": c.source} for c in chunks])
        kb.catalog.replace_file(file_key=f"synthetic::{batch_no}", root="synthetic", source=f"synthetic_{batch_no}",
                                digest="x", title="synthetic", department="allgemein", doc_type="gesetz",
                                chunks=chunks, terms=terms)
        have += n
        batch_no += 1
        print(f"  ... {have} chunks", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    questions = [q["question"] for q in read_jsonl(QUESTIONS / "law_questions.jsonl")]
    questions += [q["question"] for q in read_jsonl(QUESTIONS / "demo_questions.jsonl")]
    for size in [int(s) for s in args.sizes.split(",")]:
        data = Path(tempfile.gettempdir()) / f"lotse-bench-latency-{size}"
        kb = knowledge_base(data)
        if kb.catalog.stats()["chunks"] == 0:
            kb.index(LAW_CORPUS, progress=False)
        fill(kb, size)
        kb.search("Aufwärmen des Index", 5)  # builds the lexical matrix and loads the model
        for mode in ("lexical", "dense", "hybrid"):
            lat = []
            for i in range(args.queries):
                q = questions[i % len(questions)]
                t = time.perf_counter()
                kb.search(q, 5, mode=mode)
                lat.append((time.perf_counter() - t) * 1000)
            lat.sort()
            print(f"{kb.catalog.stats()['chunks']:>7} chunks  {mode:<8} p50 {statistics.median(lat):6.1f} ms  "
                  f"p95 {lat[int(len(lat) * 0.95) - 1]:6.1f} ms  (n={len(lat)})")


if __name__ == "__main__":
    main()
