"""What else a knowledge change would answer differently, before it is saved.

An operator adds a phrasing or an entry for one question, but the engine is lexical: the new
wording also pulls other questions that share it — an entry's own phrasings, or what users have
asked — towards the changed entry, and a word marked as a neighbouring topic turns away every
question that contains it. `shifts()` decides the questions that could be affected with the
knowledge as it is and as it would be, and returns those whose reply changes.

Which questions "could be affected" is decided lexically, so the check stays cheap enough for a
preview (a few hundred decisions at most, ~1 ms each): the questions most like the changed
texts (rapidfuzz partial ratio) and, for a word, the questions that contain it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge.decision import Decision
from knowledge.engine import Engine
from knowledge.normalise import normalise

LIMIT = 120  # questions decided per changed text, most alike first
CUTOFF = 60.0  # partial ratio (0–100) below which a question is too unlike to be pulled


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    entry_id: str = ""  # the entry it is a phrasing of; "" for a question a user asked


@dataclass(frozen=True, slots=True)
class Shift:
    question: Question
    before: Decision
    after: Decision

    @property
    def loses_its_entry(self) -> bool:
        """A phrasing of an entry, answered with that entry before, and not after: the change
        breaks what the knowledge base already answered."""
        own = self.question.entry_id
        return bool(own) and _answered_with(self.before) == own and _answered_with(self.after) != own


def _answered_with(decision: Decision) -> str | None:
    return decision.entry.id if decision.kind == "answer" and decision.entry is not None else None


def _same(a: Decision, b: Decision) -> bool:
    return (a.kind, _answered_with(a), a.slot) == (b.kind, _answered_with(b), b.slot)


def known_questions(engine: Engine, asked: Iterable[str] = ()) -> list[Question]:
    """Every phrasing of every entry, then what users asked (`asked`), each text once."""
    seen: set[str] = set()
    out: list[Question] = []
    for entry in engine.kb.entries:
        for text in (entry.question, *entry.alternates):
            if text not in seen:
                seen.add(text)
                out.append(Question(text, entry.id))
    for text in asked:
        if text and text not in seen:
            seen.add(text)
            out.append(Question(text))
    return out


def likely_affected(
    pool: Sequence[Question],
    texts: Iterable[str] = (),
    words: Iterable[str] = (),
    *,
    limit: int = LIMIT,
    cutoff: float = CUTOFF,
) -> list[Question]:
    """The questions of `pool` most like any of `texts`, and those containing any of `words`."""
    normalised = [normalise(q.text) for q in pool]
    chosen: dict[int, None] = {}
    for text in texts:
        if not (text := normalise(text)):
            continue
        found = process.extract(text, normalised, scorer=fuzz.partial_ratio, limit=limit, score_cutoff=cutoff)
        chosen.update((index, None) for _match, _score, index in found)
    for word in words:
        if word := normalise(word):
            chosen.update((i, None) for i, q in enumerate(normalised) if word in q)
    return [pool[i] for i in chosen]


def shifts(
    before: Engine, after: Engine, questions: Iterable[Question], exclude: Iterable[str] = ()
) -> list[Shift]:
    """The questions whose reply differs between the two engines; those that break an
    entry's own phrasing first. `exclude`: texts the caller shows on their own."""
    skip = set(exclude)
    out = []
    for question in questions:
        if question.text in skip:
            continue
        old, new = before.decide(question.text), after.decide(question.text)
        if not _same(old, new):
            out.append(Shift(question, old, new))
    out.sort(key=lambda s: not s.loses_its_entry)
    return out
