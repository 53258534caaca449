"""The new-entry form: its fields ↔ an entry item as the YAML files hold it.

The form has the fields of an entry in knowledge/data/entries/*.yaml; lists are typed one per
line (phrasings) or separated by 、 , ， or spaces (tags, regions, ids); `answers` one subject a
line, ``主题: 种类, 种类``. Whether the item is a valid entry is the loader's to say (the same
checks as the files); this module only reports what it cannot even read.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knowledge.engine import Engine
from knowledge.overlay import SOURCE_TITLE
from knowledge.reading import key_parts
from knowledge.schema import NATIONWIDE, TOPICS

_SPLIT = re.compile(r"[、,，;；\s]+")
_ANSWER_LINE = re.compile(r"^\s*([^:：]+)[:：](.*)$")
TEXT_FIELDS = ("id", "question", "answer", "city", "entry_group", "estimate", "source", SOURCE_TITLE, "date")
WORD_LIST_FIELDS = ("tags", "persons", "requires", "related", "conflicts")


@dataclass(slots=True)
class EntryForm:
    """What the operator typed (kept as typed, to show the form again)."""

    values: dict[str, str] = field(default_factory=dict)
    schemes: list[str] = field(default_factory=list)

    @classmethod
    def from_post(cls, form: Mapping[str, Any]) -> EntryForm:
        names = ("topic", "alternates", "region", "answers", *TEXT_FIELDS, *WORD_LIST_FIELDS)
        values = {name: str(form.get(name, "")).strip() for name in names}
        getall = getattr(form, "getall", None)
        schemes = [str(s) for s in getall("schemes", [])] if getall else []
        return cls(values, schemes)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def to_item(self) -> tuple[str, dict[str, Any], list[str]]:
        """(topic, entry item, problems reading the form)."""
        problems: list[str] = []
        topic = self.get("topic")
        if topic not in TOPICS:
            problems.append("请选择条目所属的主题文件")
        entry_id = self.get("id") or f"{topic}.op-{secrets.token_hex(3)}"
        item: dict[str, Any] = {"id": entry_id}
        for name in ("question", "answer"):
            item[name] = self.get(name)
        item["alternates"] = [line.strip() for line in self.get("alternates").splitlines() if line.strip()]
        regions = _words(self.get("region")) or [NATIONWIDE]
        item["region"] = regions[0] if len(regions) == 1 else regions
        if self.get("city"):
            item["city"] = self.get("city")
        item["schemes"] = list(self.schemes)
        item["tags"] = _words(self.get("tags"))
        item["answers"], answer_problems = parse_answers(self.get("answers"))
        problems += answer_problems
        for name in ("persons", "requires", "related", "conflicts"):
            if self.get(name):
                item[name] = _words(self.get(name))
        if self.get("entry_group"):  # the form's `group` is the unanswered group it came from
            item["group"] = self.get("entry_group")
        if self.get("estimate"):
            item["estimate"] = self.get("estimate")
        item["source"] = self.get("source")
        item["date"] = self.get("date")
        if self.get(SOURCE_TITLE):
            item[SOURCE_TITLE] = self.get(SOURCE_TITLE)
        return topic, item, problems


def _words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text) if w]


def parse_answers(text: str) -> tuple[dict[str, list[str]], list[str]]:
    """``生育津贴: 金额, 计算`` lines → {subject: [kinds]}; problems for lines it cannot read."""
    answers: dict[str, list[str]] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _ANSWER_LINE.match(line)
        if match is None:
            problems.append(f"“回答什么”第{number}行要写成 主题: 种类, 种类")
            continue
        kinds = answers.setdefault(match.group(1).strip(), [])
        kinds.extend(k for k in _words(match.group(2)) if k not in kinds)
    return answers, problems


def prefill(engine: Engine, key: str, example: str) -> EntryForm:
    """A form started from a group of unanswered questions: its subject, kinds of asking and
    place as understood, and an example question."""
    subjects, ask_labels, places = key_parts(key)
    by_label = {a.label: a.name for a in engine.vocabulary.asks.values()}
    asks = [by_label.get(label, label) for label in ask_labels]
    ours = [
        s for s in subjects if s in engine.vocabulary.subjects and not engine.vocabulary.subjects[s].outside
    ]
    topic = _likely_topic(engine, ours)
    values = {
        "topic": topic,
        "question": example,
        "region": "、".join(places) or NATIONWIDE,
        "answers": "\n".join(f"{s}: {', '.join(asks)}" for s in ours),
    }
    return EntryForm(values, [])


def _likely_topic(engine: Engine, subjects: list[str]) -> str:
    """The topic file whose entries are most often about these subjects."""
    counts: dict[str, int] = {}
    stems = {name: stem for stem, name in TOPICS.items()}
    for entry in engine.kb.entries:
        if any(entry.is_about(s) for s in subjects) and entry.topic in stems:
            counts[stems[entry.topic]] = counts.get(stems[entry.topic], 0) + 1
    return max(counts, key=lambda stem: counts[stem]) if counts else ""


def declarable_asks(engine: Engine) -> list[str]:
    """Kinds of asking an entry may declare (the others are answered through these)."""
    return [a.name for a in engine.vocabulary.asks.values() if not (a.open or a.accepts)]


def our_subjects(engine: Engine) -> list[str]:
    return [s.name for s in engine.vocabulary.subjects.values() if not s.outside]


def outside_subjects(engine: Engine) -> list[str]:
    return [s.name for s in engine.vocabulary.subjects.values() if s.outside]
