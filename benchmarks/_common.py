"""Shared helpers of the benchmark scripts (question sets, gold matching, data dirs)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "benchmarks" / "questions"
LAW_CORPUS = Path(os.environ.get("LOTSE_LAW_CORPUS", ROOT.parent / "shared" / "corpus" / "gesetze"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(ROOT))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_gold(hit, gold: list[dict]) -> bool:
    src = hit.source if isinstance(hit.source, str) else hit["source"]
    section = hit.section
    path = tuple(getattr(hit, "heading_path", ()) or ())
    for g in gold:
        if src != g["source"] and Path(src).name != g["source"]:
            continue
        gs = g["section"].strip()
        if section == gs or section.startswith(gs + " ") or gs in path:
            return True
    return False


def knowledge_base(data_dir: Path, **cfg):
    from indexer import IndexConfig, KnowledgeBase

    return KnowledgeBase(IndexConfig(**cfg), data_dir)
