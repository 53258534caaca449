"""`python -m knowledge eval [FILE]`: accuracy of the engine and of two baselines on labelled questions.

Case file (YAML): `cases: [{q, expect, kind, profile?, context?, also?}]` where expect is an entry
id, `clarify:region`, `clarify:scheme`, `not_found` or `smalltalk`; kind is in | profile |
followup | clarify | oos | near | smalltalk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jieba
import numpy as np
from rapidfuzz import fuzz, process

from knowledge.bm25 import BM25
from knowledge.engine import Decision, Engine
from knowledge.yamlio import LINE_KEY, load_yaml

IN_SCOPE = ("in", "profile", "followup")
EVAL_DIR = Path(__file__).resolve().parent / "eval"
DEFAULT_FILE = EVAL_DIR / "dev.yaml"


@dataclass(frozen=True, slots=True)
class Case:
    q: str
    expect: str
    kind: str
    region: str | None = None
    scheme: str | None = None
    context: str | None = None
    also: tuple[str, ...] = ()
    line: int = 0

    @property
    def accepted(self) -> set[str]:
        return {self.expect, *self.also}


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # answer | clarify | not_found | smalltalk
    top: tuple[str, ...]  # entry ids, best first (answer first, then runners-up)
    slot: str | None = None


@dataclass(slots=True)
class Report:
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    misses: list[tuple[Case, Outcome]] = field(default_factory=list)

    def add(self, metric: str, ok: bool) -> None:
        self.counts[metric] = self.counts.get(metric, 0) + 1
        self.hits[metric] = self.hits.get(metric, 0) + int(ok)

    def rate(self, metric: str) -> float:
        total = self.counts.get(metric, 0)
        return self.hits.get(metric, 0) / total if total else float("nan")


def load_cases(path: Path) -> list[Case]:
    doc = load_yaml(path) or {}
    cases = []
    for item in doc.get("cases") or []:
        profile = item.get("profile") or {}
        cases.append(
            Case(
                q=str(item["q"]),
                expect=str(item["expect"]),
                kind=str(item.get("kind", "in")),
                region=profile.get("region"),
                scheme=profile.get("scheme"),
                context=item.get("context"),
                also=tuple(item.get("also") or ()),
                line=int(item.get(LINE_KEY, 0)),
            )
        )
    return cases


def engine_outcome(engine: Engine, case: Case) -> Outcome:
    context = None
    if case.context:
        context = engine.decide(case.context, region=case.region, scheme=case.scheme).context
    decision = engine.decide(case.q, region=case.region, scheme=case.scheme, context=context)
    return outcome_of(decision)


def outcome_of(decision: Decision) -> Outcome:
    ranked = [c.entry.id for c in decision.candidates]
    if decision.kind == "answer" and decision.entry is not None:
        top = [decision.entry.id] + [i for i in ranked if i != decision.entry.id]
    elif decision.kind == "clarify":
        top = [e.id for e in decision.waiting] + ranked
    else:
        top = [e.id for e in decision.near] + ranked
    return Outcome(decision.kind, tuple(dict.fromkeys(top)), decision.slot)


def score_cases(name: str, cases: Iterable[Case], run: Callable[[Case], Outcome]) -> Report:
    report = Report(name)
    for case in cases:
        out = run(case)
        if case.kind in IN_SCOPE:
            top1 = out.kind == "answer" and out.top[:1] and out.top[0] in case.accepted
            report.add("top1", bool(top1))
            report.add("top3", bool(case.accepted & set(out.top[:3])) and out.kind != "smalltalk")
            report.add("wrongly_rejected", out.kind == "not_found")
            ok = bool(top1)
        elif case.kind == "clarify" or case.expect.startswith("clarify:"):
            slot = case.expect.partition(":")[2]
            ok = out.kind == "clarify" and out.slot == slot
            report.add("clarify", ok)
        elif case.kind == "smalltalk":
            ok = out.kind == "smalltalk"
            report.add("smalltalk", ok)
        else:  # oos or near: must not answer
            ok = out.kind in ("not_found", "smalltalk")
            report.add("oos_rejected" if case.kind == "oos" else "near_rejected", ok)
        if not ok:
            report.misses.append((case, out))
    return report


# -- baselines --------------------------------------------------------------------------------
# A baseline ranks entries and gives its best score; `tuned_baseline` applies a threshold.
Ranker = Callable[[Case], tuple[tuple[str, ...], float]]


def wratio_baseline(engine: Engine) -> Ranker:
    """rapidfuzz WRatio over the question strings (canonical + alternates) alone."""
    texts: list[str] = []
    owners: list[str] = []
    for entry in engine.kb.entries:
        for text in (entry.question, *entry.alternates):
            texts.append(text)
            owners.append(entry.id)

    def rank(case: Case) -> tuple[tuple[str, ...], float]:
        query = f"{case.context} {case.q}" if case.context else case.q
        hits = process.extract(query, texts, scorer=fuzz.WRatio, limit=12)
        ranked = tuple(dict.fromkeys(owners[i] for _t, _s, i in hits))
        return ranked, (hits[0][1] / 100 if hits else 0.0)

    return rank


def bm25_baseline(engine: Engine) -> Ranker:
    """Plain BM25 over default jieba tokens of the question strings; no slots, synonyms or fuzz."""
    seg = jieba.Tokenizer()
    texts: list[list[str]] = []
    owners: list[str] = []
    for entry in engine.kb.entries:
        for text in (entry.question, *entry.alternates):
            texts.append([t for t in seg.lcut(text, HMM=False) if t.strip()])
            owners.append(entry.id)
    index = BM25(texts)

    def rank(case: Case) -> tuple[tuple[str, ...], float]:
        query = f"{case.context} {case.q}" if case.context else case.q
        words = [t for t in seg.lcut(query, HMM=False) if t.strip()]
        scores = index.scores(words) / (index.upper_bound(words) or 1.0)
        order = np.argsort(-scores)[:12]
        ranked = tuple(dict.fromkeys(owners[int(i)] for i in order))
        return ranked, (float(scores[order[0]]) if len(order) else 0.0)

    return rank


def tuned_baseline(name: str, rank: Ranker, cases: list[Case], grid: Iterable[float]) -> Report:
    """Give each baseline its own best rejection threshold (most cases right), for fairness."""
    ranked = {id(c): rank(c) for c in cases}
    best: Report | None = None
    best_value = -1
    for threshold in grid:

        def run(case: Case, t: float = threshold) -> Outcome:
            top, score = ranked[id(case)]
            return Outcome("answer" if score >= t else "not_found", top)

        report = score_cases(f"{name} (threshold {threshold:.2f})", cases, run)
        value = sum(report.hits.get(m, 0) for m in ("top1", "oos_rejected", "near_rejected"))
        if value > best_value:
            best, best_value = report, value
    assert best is not None
    return best


METRICS = (
    ("top1", "top-1 accuracy (in scope)"),
    ("top3", "top-3 accuracy (in scope)"),
    ("clarify", "clarification correct"),
    ("oos_rejected", "out-of-scope rejected"),
    ("near_rejected", "near-domain rejected"),
    ("wrongly_rejected", "in scope wrongly rejected"),
    ("smalltalk", "greetings/thanks recognised"),
)


def format_reports(reports: list[Report]) -> str:
    lines = [f"{'metric':34s}" + "".join(f"{r.name[:28]:>30s}" for r in reports)]
    for key, label in METRICS:
        if not any(key in r.counts for r in reports):
            continue
        row = f"{label:34s}"
        for r in reports:
            if key in r.counts:
                row += f"{100 * r.rate(key):>22.1f}% ({r.hits[key]:3d}/{r.counts[key]:3d})"
            else:
                row += f"{'-':>30s}"
        lines.append(row)
    return "\n".join(lines)


def run_eval(engine: Engine, path: Path) -> tuple[Report, list[Report]]:
    cases = load_cases(path)
    ours = score_cases("engine", cases, lambda c: engine_outcome(engine, c))
    baselines = [
        tuned_baseline("WRatio", wratio_baseline(engine), cases, np.arange(0.3, 0.96, 0.05)),
        tuned_baseline("BM25", bm25_baseline(engine), cases, np.arange(0.0, 0.8, 0.05)),
    ]
    return ours, baselines


def describe_miss(case: Case, out: Outcome) -> str:
    extra: list[Any] = []
    if case.region or case.scheme:
        extra.append(f"profile={case.region or ''}/{case.scheme or ''}")
    if case.context:
        extra.append(f"context={case.context}")
    got = out.kind if out.kind != "answer" else out.top[0]
    if out.kind == "clarify":
        got = f"clarify:{out.slot}"
    top = list(out.top[:3])
    return f"  line {case.line}: {case.q!r} expect {case.expect} got {got} {' '.join(extra)} top={top}"
