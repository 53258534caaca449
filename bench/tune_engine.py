"""Tune the ranking weights and the lowest lexical score on the development sets.

    .venv/bin/python bench/tune_engine.py [--rounds 3]

Whether an entry answers is decided by what it declares (knowledge/answers.py), not by these
numbers; the weights only order the entries that do, and `Settings.min_score` turns away an
entry that claims the parts but shares too little of the wording. A coordinate search tries
each weight at several multiples of its value and keeps a change that raises

    objective = right answers and clarifications − 3 × wrong answers

over knowledge/eval/dev.yaml, dev_noisy.yaml and real.yaml (a wrong answer costs three right
ones: it is the worst thing the bot can do). test.yaml is only reported. Copy the printed
Weights / Settings into knowledge/retrieve.py and knowledge/engine.py.
"""

from __future__ import annotations

import argparse
import dataclasses

from knowledge.engine import Engine, Settings, load_engine
from knowledge.evaluate import EVAL_DIR, Case, engine_outcome, format_reports, load_cases, score_cases

RANKING = (
    "query_coverage",
    "doc_coverage",
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
)
FACTORS = (0.0, 0.5, 0.75, 0.9, 1.1, 1.25, 1.5, 2.0)
DEV_FILES = ("dev.yaml", "dev_noisy.yaml", "real.yaml")
WRONG_COST = 3


def dev_cases() -> list[Case]:
    return [case for name in DEV_FILES for case in load_cases(EVAL_DIR / name)]


def objective(engine: Engine, cases: list[Case]) -> int:
    report = score_cases("t", cases, lambda c: engine_outcome(engine, c))
    right = sum(report.outcomes.get(o, 0) for o in ("full", "helpful")) + report.hits.get("clarify", 0)
    return right - WRONG_COST * report.outcomes.get("wrong", 0)


def tune(engine: Engine, cases: list[Case], rounds: int) -> None:
    best = objective(engine, cases)
    print(f"start: {best}")
    for round_no in range(rounds):
        improved = False
        knobs = [("weights", name) for name in RANKING] + [("settings", "min_score")]
        for holder, name in knobs:
            current = getattr(getattr(engine, holder), name)
            for factor in FACTORS:
                trial = dataclasses.replace(getattr(engine, holder), **{name: round(current * factor, 4)})
                if trial == getattr(engine, holder):
                    continue
                previous = getattr(engine, holder)
                setattr(engine, holder, trial)
                value = objective(engine, cases)
                if value > best:
                    best, improved = value, True
                    print(f"  round {round_no + 1}: {name}={getattr(trial, name)} -> {value}")
                else:
                    setattr(engine, holder, previous)
        if not improved:
            break


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = load_engine(settings=Settings())
    cases = dev_cases()
    print(f"development cases: {len(cases)}")
    tune(engine, cases, args.rounds)
    print("\ntuned:", engine.weights, engine.settings, sep="\n")
    for name in (*DEV_FILES, "test.yaml"):
        report = score_cases(name, load_cases(EVAL_DIR / name), lambda c: engine_outcome(engine, c))
        print(f"\n{name}\n{format_reports([report])}")


if __name__ == "__main__":
    main()
