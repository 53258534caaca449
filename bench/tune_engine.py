"""Tune the engine on the development sets: ranking weights, then the confidence model.

    .venv/bin/python bench/tune_engine.py [--rounds 3]

1. Ranking: coordinate search over the score weights (each tried at several multiples of
   its value), maximising the dev cases whose top candidate is right (answers and
   clarifications), with every question answered (no rejection yet).
2. Confidence: a logistic regression (numpy, L2-regularised) over the top candidate's score
   parts (CONFIDENCE_FEATURES), label 1 when the engine's answer is right and 0 when it is
   wrong or the question is out of scope / near-domain; then the acceptance threshold that
   gets the most dev cases right.
The development sets are knowledge/eval/dev.yaml and dev_noisy.yaml; test.yaml is held out and
only reported. Copy the printed Weights into knowledge/engine.py.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from knowledge.engine import Engine, Weights, load_engine
from knowledge.evaluate import (
    EVAL_DIR,
    IN_SCOPE,
    Case,
    engine_outcome,
    format_reports,
    load_cases,
    score_cases,
)

RANKING = (
    "query_coverage",
    "doc_coverage",
    "bigram_coverage",
    "fuzzy",
    "answer",
    "entry_coverage",
    "unseen_idf_scale",
    "region_match",
    "region_mismatch",
    "profile_region_match",
    "profile_region_mismatch",
    "scheme_match",
    "scheme_mismatch",
    "nationwide_preference",
)
FACTORS = (0.0, 0.5, 0.75, 0.9, 1.1, 1.25, 1.5, 2.0)
DEV_FILES = ("dev.yaml", "dev_noisy.yaml")


def dev_cases() -> list[Case]:
    cases: list[Case] = []
    for name in DEV_FILES:
        path = EVAL_DIR / name
        if path.exists():
            cases += load_cases(path)
    return cases


def ranking_objective(engine: Engine, cases: list[Case]) -> int:
    report = score_cases("t", cases, lambda c: engine_outcome(engine, c))
    return report.hits.get("top1", 0) + report.hits.get("clarify", 0)


def tune_ranking(engine: Engine, cases: list[Case], rounds: int) -> Weights:
    best = dataclasses.replace(engine.weights, confidence=(), answer_threshold=-1.0)
    engine.weights = best
    best_value = ranking_objective(engine, cases)
    print(f"ranking start: {best_value}")
    for round_no in range(rounds):
        improved = False
        for name in RANKING:
            current = getattr(best, name)
            for factor in FACTORS:
                trial = dataclasses.replace(best, **{name: round(current * factor, 4)})
                if trial == best:
                    continue
                engine.weights = trial
                value = ranking_objective(engine, cases)
                if value > best_value:
                    best, best_value, improved = trial, value, True
                    print(f"  round {round_no + 1}: {name}={getattr(trial, name)} -> {value}")
        if not improved:
            break
    engine.weights = best
    return best


def training_rows(engine: Engine, cases: list[Case]) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for case in cases:
        if case.kind == "smalltalk" or case.expect.startswith("clarify:"):
            continue
        context = None
        if case.context:
            context = engine.decide(case.context, region=case.region, scheme=case.scheme).context
        decision = engine.decide(case.q, region=case.region, scheme=case.scheme, context=context)
        if not decision.features:
            continue
        right = (
            case.kind in IN_SCOPE
            and decision.kind == "answer"
            and decision.entry is not None
            and decision.entry.id in case.accepted
        )
        rows.append(decision.features)
        labels.append(1.0 if right else 0.0)
    return np.asarray(rows, dtype=float), np.asarray(labels, dtype=float)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.01, steps: int = 20000) -> np.ndarray:
    """Plain gradient descent on standardised features; returns (bias, coefs) in raw units."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    w = np.zeros(z.shape[1])
    b = 0.0
    lr = 0.5
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        grad_w = z.T @ (p - y) / len(y) + l2 * w
        grad_b = float(np.mean(p - y))
        w -= lr * grad_w
        b -= lr * grad_b
    coefs = w / std
    bias = b - float(np.sum(w * mean / std))
    return np.concatenate([[bias], coefs])


def total_right(engine: Engine, cases: list[Case]) -> int:
    report = score_cases("t", cases, lambda c: engine_outcome(engine, c))
    return sum(
        report.hits.get(m, 0) for m in ("top1", "clarify", "oos_rejected", "near_rejected", "smalltalk")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--confidence-only", action="store_true", help="keep the ranking weights; refit confidence"
    )
    args = parser.parse_args()
    engine = load_engine()
    cases = dev_cases()
    print(f"dev cases: {len(cases)}")
    if args.confidence_only:
        ranked = dataclasses.replace(engine.weights, confidence=(), answer_threshold=-1.0)
        engine.weights = ranked
    else:
        ranked = tune_ranking(engine, cases, args.rounds)
    x, y = training_rows(engine, cases)
    coef = fit_logistic(x, y)
    engine.weights = dataclasses.replace(ranked, confidence=tuple(round(float(c), 4) for c in coef))
    best_t, best_value = 0.5, -1
    for t in np.arange(0.2, 0.81, 0.025):
        engine.weights = dataclasses.replace(engine.weights, confidence_threshold=round(float(t), 3))
        value = total_right(engine, cases)
        if value > best_value:
            best_t, best_value = round(float(t), 3), value
    engine.weights = dataclasses.replace(engine.weights, confidence_threshold=best_t)
    print(f"\nconfidence threshold {best_t}: {best_value}/{len(cases)} dev cases right")
    print("\ntuned:", engine.weights)
    for name in (*DEV_FILES, "test.yaml"):
        path = EVAL_DIR / name
        if path.exists():
            report = score_cases(name, load_cases(path), lambda c: engine_outcome(engine, c))
            print(f"\n{name}\n{format_reports([report])}")


if __name__ == "__main__":
    main()
