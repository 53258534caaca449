"""Does the bot answer each entry's own phrasings with that entry?

Every `question` and `alternate` is a curator's statement: "this entry answers this". When the
engine declines such a phrasing, the entry's `answers` declaration is narrower than its answer
(or the phrasing asks more than the answer says); when it answers with *another* entry, a
question the knowledge base itself assigns elsewhere gets a confident answer to something else
— the failure to fix first. `python -m knowledge selfcheck [--list]` prints the counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from knowledge.engine import Engine
from knowledge.impact import known_questions

OWN, OTHER, CLARIFY, DECLINE = "own", "other", "clarify", "decline"


@dataclass(frozen=True, slots=True)
class Result:
    entry_id: str
    file: str  # the entry file's name (jiaofei.yaml)
    text: str
    outcome: str  # OWN | OTHER | CLARIFY | DECLINE (smalltalk counts as a decline)
    detail: str = ""  # the other entry's id, the slot asked back, or why it was declined


def check(engine: Engine) -> list[Result]:
    files = {e.id: Path(e.file).name for e in engine.kb.entries}
    results = []
    for question in known_questions(engine):
        decision = engine.decide(question.text)
        file = files[question.entry_id]
        if decision.kind == "answer" and decision.entry is not None:
            own = decision.entry.id == question.entry_id
            outcome, detail = (OWN, "") if own else (OTHER, decision.entry.id)
        elif decision.kind == "clarify":
            outcome, detail = CLARIFY, decision.slot or ""
        else:
            # broad: a subject and nothing asked of it, so the bot lists the subject's questions
            outcome, detail = DECLINE, decision.decline or ("topics" if decision.broad else decision.kind)
        results.append(Result(question.entry_id, file, question.text, outcome, detail))
    return results


def summary(results: list[Result]) -> str:
    lines = []
    total = Counter(r.outcome for r in results)
    lines.append(_row("all", total, len(results)))
    for file in sorted({r.file for r in results}):
        mine = [r for r in results if r.file == file]
        lines.append(_row(file, Counter(r.outcome for r in mine), len(mine)))
    return "\n".join(lines)


def _row(name: str, counts: Counter[str], size: int) -> str:
    own = counts[OWN]
    parts = ", ".join(f"{k} {counts[k]}" for k in (OTHER, CLARIFY, DECLINE))
    return f"{name:16s} {own:5d} of {size:5d} answered by their own entry ({own / size:.1%}); {parts}"
