"""`python -m knowledge eval [FILE]`: how the engine and two baselines reply to labelled questions.

Two case shapes, one list `cases:` per file:
- written sets (dev.yaml …): `{q, expect, kind, profile?, context?, also?}` where expect is an
  entry id, `clarify:region`, `clarify:scheme`, `not_found` or `smalltalk`, and kind is in |
  profile | followup | clarify | oos | near | smalltalk;
- real questions (real.yaml): `{q, full: [ids], helpful: [ids]}` — entries that fully answer
  the question, and entries on its subject that would help; neither → the bot should decline.

Every reply is one outcome: full (answered with a full entry), helpful, wrong (answered with
any other entry), clarify, decline or smalltalk. `wrong` over all questions is the figure that
matters most: a confident answer to a different question.
"""

from __future__ import annotations

from collections import Counter
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
OUTCOMES = ("full", "helpful", "wrong", "clarify", "decline", "smalltalk")


@dataclass(frozen=True, slots=True)
class Case:
    q: str
    expect: str  # entry id | clarify:<slot> | not_found | smalltalk | real
    kind: str
    region: str | None = None
    scheme: str | None = None
    context: str | None = None
    full: frozenset[str] = frozenset()
    helpful: frozenset[str] = frozenset()
    line: int = 0

    @property
    def accepted(self) -> frozenset[str]:
        return self.full | self.helpful


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # answer | clarify | not_found | smalltalk
    top: tuple[str, ...]  # entry ids, best first (answer first, then runners-up)
    slot: str | None = None
    parts: int = 0  # for a decline: how many understood parts it says back
    buttons: int = 0  # for a decline: how many entries it offers
    subject_known: bool = False
    why: str = ""  # decline reason or answer id, for --misses


@dataclass(slots=True)
class Report:
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    misses: list[tuple[Case, Outcome]] = field(default_factory=list)
    wrong: list[tuple[Case, Outcome]] = field(default_factory=list)
    total: int = 0

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
        line = int(item.get(LINE_KEY, 0))
        if "expect" in item:
            expect = str(item["expect"])
            ids = frozenset([expect, *(item.get("also") or ())]) if "." in expect else frozenset()
            cases.append(
                Case(
                    q=str(item["q"]),
                    expect=expect,
                    kind=str(item.get("kind", "in")),
                    region=profile.get("region"),
                    scheme=profile.get("scheme"),
                    context=item.get("context"),
                    full=ids,
                    line=line,
                )
            )
        else:
            cases.append(
                Case(
                    q=str(item["q"]),
                    expect="real",
                    kind="real",
                    full=frozenset(item.get("full") or ()),
                    helpful=frozenset(item.get("helpful") or ()),
                    line=line,
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
    reading = decision.reading
    parts = len(reading.parts()) if reading is not None else 0
    if decision.out_of_scope:
        parts = max(parts, 1)
    return Outcome(
        decision.kind,
        tuple(dict.fromkeys(top)),
        decision.slot,
        parts=parts,
        buttons=len(decision.near),
        subject_known=bool(reading is not None and reading.subjects and not decision.out_of_scope),
        why=decision.decline or ("topics" if decision.broad else ""),
    )


def classify(case: Case, out: Outcome) -> str:
    """One of OUTCOMES."""
    if out.kind == "answer" and out.top:
        if out.top[0] in case.full:
            return "full"
        return "helpful" if out.top[0] in case.helpful else "wrong"
    if out.kind == "clarify":
        return "clarify"
    return "smalltalk" if out.kind == "smalltalk" else "decline"


def score_cases(name: str, cases: Iterable[Case], run: Callable[[Case], Outcome]) -> Report:
    report = Report(name)
    for case in cases:
        out = run(case)
        outcome = classify(case, out)
        report.total += 1
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
        if outcome == "wrong" and case.kind != "smalltalk":
            report.wrong.append((case, out))
        report.add("wrong", outcome == "wrong")
        if case.full:
            report.add("full_answered", outcome == "full")
        if case.accepted:
            report.add("useful_answered", outcome in ("full", "helpful"))
        if out.kind == "not_found" and out.subject_known:
            # an honest decline says what it understood and offers what we have on the subject
            report.add("decline_quality", out.parts > 0 and out.buttons > 0)
        ok = _written_set_metrics(report, case, out)
        if not ok:
            report.misses.append((case, out))
    return report


def _written_set_metrics(report: Report, case: Case, out: Outcome) -> bool:
    """The written sets' own figures (top-1 and so on); returns whether the case went as labelled."""
    if case.kind == "real":
        return classify(case, out) in ("full", "helpful") or (
            not case.accepted and out.kind in ("not_found", "clarify")
        )
    if case.kind in IN_SCOPE:
        top1 = out.kind == "answer" and bool(out.top) and out.top[0] in case.full
        report.add("top1", top1)
        report.add("top3", bool(case.full & set(out.top[:3])) and out.kind != "smalltalk")
        report.add("wrongly_rejected", out.kind == "not_found")
        return top1
    if case.kind == "clarify" or case.expect.startswith("clarify:"):
        ok = out.kind == "clarify" and out.slot == case.expect.partition(":")[2]
        report.add("clarify", ok)
        return ok
    if case.kind == "smalltalk":
        ok = out.kind == "smalltalk"
        report.add("smalltalk", ok)
        return ok
    ok = out.kind in ("not_found", "smalltalk")  # oos or near: must not answer
    report.add("oos_rejected" if case.kind == "oos" else "near_rejected", ok)
    return ok


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
        value += report.outcomes.get("full", 0) + report.outcomes.get("helpful", 0)
        value -= report.outcomes.get("wrong", 0) if cases and cases[0].kind == "real" else 0
        if value > best_value:
            best, best_value = report, value
    assert best is not None
    return best


METRICS = (
    ("wrong", "wrong answers (of all questions)"),
    ("full_answered", "full answer, of those that have one"),
    ("useful_answered", "full or helpful answer, of those with one"),
    ("decline_quality", "declines on a known subject: parts+buttons"),
    ("top1", "top-1 accuracy (in scope)"),
    ("top3", "top-3 accuracy (in scope)"),
    ("clarify", "clarification correct"),
    ("oos_rejected", "out-of-scope rejected"),
    ("near_rejected", "near-domain rejected"),
    ("wrongly_rejected", "in scope wrongly rejected"),
    ("smalltalk", "greetings/thanks recognised"),
)


def format_reports(reports: list[Report]) -> str:
    lines = [f"{'metric':40s}" + "".join(f"{r.name[:28]:>30s}" for r in reports)]
    for key, label in METRICS:
        if not any(key in r.counts for r in reports):
            continue
        row = f"{label:40s}"
        for r in reports:
            if key in r.counts:
                row += f"{100 * r.rate(key):>22.1f}% ({r.hits[key]:3d}/{r.counts[key]:3d})"
            else:
                row += f"{'-':>30s}"
        lines.append(row)
    lines.append(f"{'replies: ' + ' / '.join(OUTCOMES):40s}")
    row = f"{'':40s}"
    for r in reports:
        row += f"{' / '.join(str(r.outcomes.get(o, 0)) for o in OUTCOMES):>30s}"
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


def describe(case: Case, out: Outcome) -> str:
    extra: list[Any] = []
    if case.region or case.scheme:
        extra.append(f"profile={case.region or ''}/{case.scheme or ''}")
    if case.context:
        extra.append(f"context={case.context}")
    got = out.kind if out.kind != "answer" else out.top[0]
    if out.kind == "clarify":
        got = f"clarify:{out.slot}"
    elif out.kind == "not_found" and out.why:
        got = f"not_found({out.why})"
    expect = (
        case.expect if case.kind != "real" else f"full={sorted(case.full)} helpful={sorted(case.helpful)}"
    )
    top = list(out.top[:3])
    return f"  line {case.line}: {case.q!r} expect {expect} got {got} {' '.join(extra)} top={top}"


def format_gaps(engine: Engine, path: Path, top: int = 15) -> str:
    """What the questions without an answer ask about: subjects (neighbouring topics too) and
    kinds of asking, with counts — where the material is thinnest for these askers."""
    subjects: Counter[str] = Counter()
    asks: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    declined = 0
    for case in load_cases(path):
        decision = engine.decide(case.q, region=case.region, scheme=case.scheme)
        if decision.kind == "answer" or decision.reading is None:
            continue
        declined += 1
        reading = decision.reading
        named = tuple(dict.fromkeys((*reading.subjects, *reading.outside))) or ("（未识别）",)
        labels = tuple(reading.labels.get(a, a) for a in reading.asks) or ("（未说明）",)
        subjects.update(named)
        asks.update(labels)
        pairs.update(f"{s} · {a}" for s in named for a in labels)
    lines = [f"questions without an answer: {declined}", "", "subject | questions", "--- | ---"]
    lines += [f"{name} | {n}" for name, n in subjects.most_common(top)]
    lines += ["", "kind of asking | questions", "--- | ---"]
    lines += [f"{name} | {n}" for name, n in asks.most_common(top)]
    lines += ["", "subject · kind of asking | questions", "--- | ---"]
    lines += [f"{name} | {n}" for name, n in pairs.most_common(top)]
    return "\n".join(lines)
