"""Operators' changes to the shipped knowledge, and how they are applied to it.

The operator console (bot/console/) records each change as a small JSON-able record in a
change log (Redis, or a local file); every bot process applies the log on top of the shipped
data files and builds its engine from the result. The shipped files are never edited in
place: `python -m knowledge export DIR` writes them with the changes for review (export.py).

Kinds of change and their `data`:

    alternate  {"entry": id, "text": "新问法"}           another phrasing of an existing entry
    entry      {"topic": "ka", "item": {…}}              a new entry: `item` has the fields of an
                                                          entry in entries/<topic>.yaml (its own
                                                          `source` and `date`, plus an optional
                                                          `source_title`), checked as they are
    outside    {"subject": "养老保险", "term": "养老金"}   a word that names a neighbouring topic
                                                          (`outside` in subjects.yaml); questions
                                                          naming it get that topic's advice
    dismiss    {}                                         nothing to learn from the group
    revert     {"change": 12}                             undoes change 12

Every change has a sequence `id`, who made it (`by`), when (`at`, unix time) and, when it came
from a group of unanswered questions, that group's key (`group`: 生育津贴 · 到账 · 浙江), which the
console then lists as handled.

A change that does not pass the validator is never applied: `apply_changes` returns it with its
problems (two operators saving at once can both pass alone and clash together).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from knowledge.reading import ReadingVocabulary
from knowledge.schema import TOPICS

ALTERNATE, ENTRY, OUTSIDE, DISMISS, REVERT = "alternate", "entry", "outside", "dismiss", "revert"
KINDS = (ALTERNATE, ENTRY, OUTSIDE, DISMISS, REVERT)
ORIGIN_KEY = "__origin__"  # on an entry item an operator added: the change it came from
SOURCE_TITLE = "source_title"  # an operator entry's source: its title (kept in sources.yaml)
MAX_PHRASING = 200
MAX_TERM = 12


def origin(change_id: int) -> str:
    """How validation messages name a change (in place of file:line)."""
    return f"操作员修改 #{change_id}"


def change_of_origin(name: str) -> int | None:
    prefix = origin(0)[:-1]
    if name.startswith(prefix) and name[len(prefix) :].isdigit():
        return int(name[len(prefix) :])
    return None


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    by: str = ""
    at: float = 0.0
    group: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "data": self.data,
            "by": self.by,
            "at": self.at,
            "group": self.group,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Change:
        data = raw.get("data")
        return cls(
            int(raw["id"]),
            str(raw["kind"]),
            dict(data) if isinstance(data, dict) else {},
            str(raw.get("by") or ""),
            float(raw.get("at") or 0.0),
            str(raw.get("group") or ""),
        )

    @property
    def reverts(self) -> int | None:
        if self.kind != REVERT:
            return None
        target = self.data.get("change")
        return int(target) if isinstance(target, int | str) and str(target).isdigit() else None

    @property
    def changes_knowledge(self) -> bool:
        return self.kind in (ALTERNATE, ENTRY, OUTSIDE)


def read_changes(path: Path | str) -> list[Change]:
    """The changes in a change-log file, one `Change.to_dict()` JSON object a line (bot's
    FileChangeLog writes it), in id order; none when the file does not exist. Blank and broken
    lines (a write cut short by a crash) are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            out.append(Change.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(out, key=lambda c: c.id)


def reverted_ids(changes: Iterable[Change]) -> set[int]:
    return {target for c in changes if (target := c.reverts) is not None}


def active(changes: Iterable[Change]) -> list[Change]:
    """The changes in force: not reverts themselves, not reverted, in id order."""
    changes = list(changes)
    undone = reverted_ids(changes)
    return sorted((c for c in changes if c.kind != REVERT and c.id not in undone), key=lambda c: c.id)


def entry_item(change: Change) -> dict[str, Any]:
    """The YAML item of an `entry` change, as the loader reads it (a copy)."""
    item = change.data.get("item")
    return copy.deepcopy(item) if isinstance(item, dict) else {}


@dataclass(slots=True)
class Applied:
    """Problems found while applying changes: (change id, message), for the loader to report
    under the change's origin."""

    problems: list[tuple[int, str]] = field(default_factory=list)


def apply_to_documents(
    docs: dict[str, dict[str, Any]],
    sources: dict[str, dt.date],
    changes: Sequence[Change],
) -> Applied:
    """Apply the knowledge changes among `changes` to the parsed entry files (`docs`: file
    stem → parsed YAML, changed in place) and the sources (changed in place). New entries are
    added to their topic's file marked with ORIGIN_KEY; what cannot be applied at all is
    returned as problems. Whether the result is valid is for the loader to say."""
    out = Applied()
    items: dict[str, dict[str, Any]] = {}
    for doc in docs.values():
        for item in doc.get("entries") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                items.setdefault(item["id"], item)
    for change in active(changes):
        if change.kind == ENTRY:
            _add_entry(change, docs, sources, items, out)
        elif change.kind == ALTERNATE:
            _add_alternate(change, items, out)
    return out


def _add_entry(
    change: Change,
    docs: dict[str, dict[str, Any]],
    sources: dict[str, dt.date],
    items: dict[str, dict[str, Any]],
    out: Applied,
) -> None:
    topic = str(change.data.get("topic") or "")
    item = entry_item(change)
    if topic not in TOPICS:
        out.problems.append((change.id, f"unknown topic {topic!r}; known: {', '.join(TOPICS)}"))
        return
    if not item:
        out.problems.append((change.id, "the new entry has no fields"))
        return
    item.pop(SOURCE_TITLE, None)  # kept in sources.yaml (export.py), not in the entry
    source, date = item.get("source"), item.get("date")
    if isinstance(date, str):
        with contextlib.suppress(ValueError):  # else the loader says it is not YYYY-MM-DD
            item["date"] = date = dt.date.fromisoformat(date)
    if isinstance(source, str) and source.strip() and isinstance(date, dt.date):
        sources.setdefault(source, date)  # the same name with another date: the loader says so
    item["__line__"] = 0
    item[ORIGIN_KEY] = origin(change.id)
    doc = docs.setdefault(topic, {"topic": TOPICS[topic], "entries": []})
    doc.setdefault("entries", []).append(item)
    if isinstance(item.get("id"), str):
        items.setdefault(item["id"], item)


def _add_alternate(change: Change, items: dict[str, dict[str, Any]], out: Applied) -> None:
    entry_id = str(change.data.get("entry") or "")
    text = str(change.data.get("text") or "").strip()
    item = items.get(entry_id)
    if item is None:
        out.problems.append((change.id, f"entry {entry_id!r} does not exist"))
        return
    problem = phrasing_problem(text)
    if problem:
        out.problems.append((change.id, problem))
        return
    alternates = item.get("alternates")
    if not isinstance(alternates, list):
        out.problems.append((change.id, f"{entry_id}: its `alternates` are not a list"))
        return
    if _same_text(text) in {_same_text(str(a)) for a in [item.get("question"), *alternates]}:
        out.problems.append((change.id, f"{entry_id} already has the phrasing {text!r}"))
        return
    item["alternates"] = [*alternates, text]


def phrasing_problem(text: str) -> str | None:
    if not text.strip():
        return "the phrasing is empty"
    if len(text) > MAX_PHRASING:
        return f"a phrasing is at most {MAX_PHRASING} characters"
    if "\n" in text.strip():
        return "a phrasing is one line"
    return None


def _same_text(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def outside_terms(changes: Sequence[Change]) -> list[Change]:
    """The active `outside` changes that add a term."""
    return [c for c in active(changes) if c.kind == OUTSIDE and str(c.data.get("term") or "").strip()]


def term_problem(term: str) -> str | None:
    if not term:
        return "the word is empty"
    if len(term) > MAX_TERM:
        return f"a word naming a topic is at most {MAX_TERM} characters"
    if any(ch.isspace() for ch in term):
        return "one word, without spaces"
    if len(term) < 2:
        return "a one-character word would match too many questions"
    return None


def extend_vocabulary(
    vocabulary: ReadingVocabulary, changes: Sequence[Change]
) -> tuple[ReadingVocabulary, list[tuple[int, str]]]:
    """The reading vocabulary with the operators' words for neighbouring topics; the same
    object when there are none (so engines built on it can share what they worked out)."""
    adding = outside_terms(changes)
    if not adding:
        return vocabulary, []
    subjects = dict(vocabulary.subjects)
    problems: list[tuple[int, str]] = []
    for change in adding:
        name = str(change.data.get("subject") or "")
        term = str(change.data.get("term") or "").strip().lower()
        subject = subjects.get(name)
        problem = term_problem(term)
        if subject is None or not subject.outside:
            problems.append((change.id, f"{name!r} is not a neighbouring topic (outside in subjects.yaml)"))
        elif problem:
            problems.append((change.id, problem))
        elif (term,) in subject.terms:
            problems.append((change.id, f"{name} already has the word {term!r}"))
        else:
            subjects[name] = replace(subject, terms=(*subject.terms, (term,)))
    return ReadingVocabulary(subjects, vocabulary.asks, vocabulary.persons), problems
