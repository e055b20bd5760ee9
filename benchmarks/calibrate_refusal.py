"""Calibrate when Lotse refuses, on the dev split of the answer benchmark.

    python benchmarks/calibrate_refusal.py [--data-dir DIR] [--max-refused 0.06] [--write FILE]

Every first-turn question of answers_dev.jsonl and answers_test.jsonl goes through the answer
pipeline's own retrieval and answerability check (``AnswerPipeline.judge``, with the LOTSE_* settings
of the environment: embedder, fusion weight, re-ranking). Then, on dev only:

1. the fixed gates: for each threshold on the answerability score, the share of answerable and of
   unanswerable questions refused (the setting ``LOTSE_ASSISTANT__REFUSAL_THRESHOLD``);
2. a refusal model: a logistic regression of "unanswerable" over the signals of
   ``assistant.answerability.FEATURES`` (standardised, L2-regularised), with the probability threshold
   that refuses the most unanswerable dev questions while refusing at most --max-refused of the
   answerable ones. Leave-one-out on dev shows how well that generalises before the test split does.

Both are then reported on the test split, never tuned on it. ``--write`` saves the model as JSON for
the setting ``LOTSE_ASSISTANT__REFUSAL_MODEL`` (it fits one embedder: its similarities are features).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from _common import QUESTIONS, read_jsonl


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000):
    """Logistic regression by gradient descent on standardised features; returns (mean, scale, coef, b)."""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (p - y) + l2 * w) / len(y)
        b -= 0.5 * float(np.mean(p - y))
    return mean, scale, w, b


def predict(params, x: np.ndarray) -> np.ndarray:
    mean, scale, w, b = params
    return 1 / (1 + np.exp(-(((x - mean) / scale) @ w + b)))


def rates(refused: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    return float(refused[y == 0].mean()), float(refused[y == 1].mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lotse-bench-answers")
    ap.add_argument("--max-refused", type=float, default=0.06)
    ap.add_argument("--write", type=Path, help="save the refusal model fitted on dev as JSON")
    args = ap.parse_args()
    from answer_quality import build_assistant

    from assistant.answerability import FACT_ANCHOR_MIN, FEATURES, MODEL_REASONS, RefusalModel, embedder_name
    from assistant.question_types import question_type

    a = build_assistant(args.data_dir)
    pipe = a.pipeline

    def load(split: str):
        rows = []
        for q in read_jsonl(QUESTIONS / f"answers_{split}.jsonl"):
            if q.get("followup"):
                continue
            _, v = pipe.judge(q["question"], question_type(q["question"]), None, all_signals=True)
            # the checks a refusal model keeps (off-topic, missing year) refuse whatever the model says
            hard = v.reason not in MODEL_REASONS | {""}
            # the fixed gates at threshold t, as assess applies them without a model
            gate = {t: hard or v.fact_anchor < FACT_ANCHOR_MIN or v.score < t for t in [x / 100 for x in range(0, 21)]}
            rows.append((q, [v.features[f] for f in FEATURES], gate, hard))
        x = np.array([r[1] for r in rows], dtype=float)
        y = np.array([0.0 if r[0]["answerable"] else 1.0 for r in rows])
        return rows, x, y

    dev, x_dev, y_dev = load("dev")
    test, x_test, y_test = load("test")
    print(f"dev: {int((y_dev == 0).sum())} answerable, {int(y_dev.sum())} unanswerable; "
          f"test: {int((y_test == 0).sum())} answerable, {int(y_test.sum())} unanswerable")

    print("\n1. fixed gates (threshold on the answerability score)")
    best_t, best_una = 0.0, -1.0
    for t in sorted(dev[0][2]):
        ra, ru = rates(np.array([r[2][t] for r in dev]), y_dev)
        print(f"   threshold {t:.2f}: answerable refused {ra:.3f}, unanswerable refused {ru:.3f}")
        if ra <= args.max_refused and ru >= best_una:  # ties: the stricter threshold
            best_t, best_una = t, ru
    ra, ru = rates(np.array([r[2][best_t] for r in test]), y_test)
    print(f"   chosen on dev: {best_t:.2f}; test: answerable refused {ra:.3f}, unanswerable refused {ru:.3f}")

    print("\n2. refusal model (logistic regression over " + ", ".join(FEATURES) + ")")
    params = fit(x_dev, y_dev)
    hard_dev = np.array([r[3] for r in dev])
    hard_test = np.array([r[3] for r in test])
    p_dev = predict(params, x_dev)
    loo = np.array([predict(fit(np.delete(x_dev, i, 0), np.delete(y_dev, i)), x_dev[i:i + 1])[0]
                    for i in range(len(y_dev))])
    best_p, best_una = 0.9, -1.0
    for thr in [x / 100 for x in range(20, 91, 5)]:
        ra, ru = rates(hard_dev | (p_dev > thr), y_dev)
        la, lu = rates(hard_dev | (loo > thr), y_dev)
        print(f"   p > {thr:.2f}: answerable refused {ra:.3f}, unanswerable refused {ru:.3f} "
              f"(leave-one-out: {la:.3f} / {lu:.3f})")
        if ra <= args.max_refused and ru > best_una:  # ties: the higher threshold (fewer refusals)
            best_p, best_una = thr, ru
    ra, ru = rates(hard_test | (predict(params, x_test) > best_p), y_test)
    print(f"   chosen on dev: p > {best_p:.2f}; test: answerable refused {ra:.3f}, unanswerable refused {ru:.3f}")
    mean, scale, w, b = params
    print("   coefficients (standardised): " + ", ".join(f"{f} {c:+.2f}" for f, c in zip(FEATURES, w)))
    if args.write:
        model = RefusalModel(embedder=embedder_name(pipe.kb.embedder.model_id),
                             mean=tuple(round(float(v), 6) for v in mean), scale=tuple(round(float(v), 6) for v in scale),
                             coef=tuple(round(float(v), 6) for v in w), intercept=round(float(b), 6), threshold=best_p)
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(model.as_json(), encoding="utf-8")
        print(f"   written to {args.write}")


if __name__ == "__main__":
    main()
