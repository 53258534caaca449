"""Write the shipped knowledge with the operators' changes as data files, for review and commit.

`export(source_dir, out_dir, changes)` copies the knowledge directory to `out_dir` and edits the
copy as text, so that every file and line no change touches stays byte-identical and
`diff -ru knowledge/data OUT` (or `git diff --no-index`) shows only what the operators added:

    alternate  `      - 新问法` after the last line of the entry's `alternates:` list (an entry an
               operator added gets it in its own list before it is written)
    entry      the entry at the end of entries/<topic>.yaml, written like the shipped ones; its
               source, when new, at the end of sources.yaml (`added_by: operator`)
    outside    `, 词` at the end of the subject's `terms: [...]` line in subjects.yaml
    dismiss, revert, outside without a word: nothing to write

Only the changes that pass the validator are written (`load_with_changes` says which); the
others are returned in the report with their problems. `python -m knowledge export DIR` is the
command; the bot can call `export()` with the changes it keeps in Redis.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.gazetteer import load_gazetteer
from knowledge.loader import ENTRY_DIR, OPTIONAL, Problem, load_knowledge, load_sources, load_with_changes
from knowledge.overlay import (
    ALTERNATE,
    ENTRY,
    ORIGIN_KEY,
    OUTSIDE,
    SOURCE_TITLE,
    Change,
    active,
    change_of_origin,
    entry_item,
)
from knowledge.paths import data_dir
from knowledge.schema import TOPICS
from knowledge.yamlio import LINE_KEY

SOURCES = "sources.yaml"
SUBJECTS = "subjects.yaml"
# the order of an entry's fields in the shipped files
FIELD_ORDER = (
    "id", "question", "alternates", "answer", "region", "city", "schemes", "tags", "answers",
    "requires", "persons", "source", "date", "related", "group", "conflicts", "estimate",
)  # fmt: skip
_WIDE = 1_000_000  # never fold a line


class ExportError(Exception):
    """The output directory is not usable, or a change cannot be written where it belongs."""


@dataclass(slots=True)
class ExportReport:
    out_dir: Path
    written: list[int] = field(default_factory=list)  # ids of the changes written
    alternates: int = 0
    entries: int = 0
    terms: int = 0  # words for neighbouring topics
    sources: int = 0  # sources added to sources.yaml
    files: list[str] = field(default_factory=list)  # files changed or added, relative to out_dir
    skipped: dict[int, list[Problem]] = field(default_factory=dict)  # changes that do not validate
    problems: list[Problem] = field(default_factory=list)  # the written directory's (none expected)


def export(source_dir: Path | str | None, out_dir: Path | str, changes: Sequence[Change]) -> ExportReport:
    """Copy the knowledge directory `source_dir` (None: $KNOWLEDGE_DIR or the shipped data) to
    `out_dir`, which must not exist or be empty, and write into the copy every change among
    `changes` that validates. Raises ExportError (nothing written) when `out_dir` is not usable
    or a change's place in the files cannot be found, KnowledgeError when the source directory
    itself has problems."""
    base = data_dir(source_dir)
    out = Path(out_dir)
    _check_out(base, out)
    loaded = load_with_changes(base, load_gazetteer(base), changes)
    report = ExportReport(out, skipped=dict(sorted(loaded.rejected.items())))
    edits = _Edits(base)
    applied = set(loaded.applied)
    new_entries: dict[str, tuple[Change, str, dict[str, Any]]] = {}  # id → change, topic, item
    for change in active(changes):
        if change.id not in applied:
            continue
        if change.kind == ENTRY:
            item = _clean_item(entry_item(change))
            new_entries[str(item["id"])] = (change, str(change.data.get("topic")), item)
            report.entries += 1
        elif change.kind == ALTERNATE:
            entry_id = str(change.data.get("entry") or "")
            text = str(change.data.get("text") or "").strip()
            if entry_id in new_entries:
                new_entries[entry_id][2]["alternates"].append(text)
            else:
                entry = loaded.kb.by_id.get(entry_id)
                stem = entry_id.split(".", 1)[0]
                if entry is not None and change_of_origin(entry.file) is None:
                    stem = Path(entry.file).stem
                name = f"{ENTRY_DIR}/{stem}.yaml"
                edits.set(name, _insert_alternate(edits.get(name, change), entry_id, text, change, name))
            report.alternates += 1
        elif change.kind == OUTSIDE and str(change.data.get("term") or "").strip():
            subject = str(change.data.get("subject") or "")
            term = str(change.data.get("term")).strip().lower()
            edits.set(SUBJECTS, _insert_term(edits.get(SUBJECTS, change), subject, term, change))
            report.terms += 1
        else:
            continue
        report.written.append(change.id)
    known = set(load_sources(base, []))
    for change, topic, item in new_entries.values():
        name = f"{ENTRY_DIR}/{topic}.yaml"
        title = item.pop(SOURCE_TITLE, None)
        text = edits.get(name, change, missing=f"topic: {_scalar(TOPICS[topic])}\nentries:\n")
        edits.set(name, _append_entry(text, item, change))
        source = str(item["source"])
        if source not in known:
            known.add(source)
            title = title.strip() if isinstance(title, str) and title.strip() else source
            edits.set(SOURCES, _append_source(edits.get(SOURCES, change), source, item["date"], title))
            report.sources += 1
    shutil.copytree(base, out, dirs_exist_ok=True)
    for name, text in edits.changed.items():
        (out / name).write_text(text, encoding="utf-8")
    report.files = sorted(edits.changed)
    _kb, report.problems = load_knowledge(out)
    return report


def _check_out(base: Path, out: Path) -> None:
    if not base.is_dir():
        raise ExportError(f"{base}: no such knowledge directory")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        raise ExportError(f"{out} is not empty: export into a new or empty directory")
    if out.resolve().is_relative_to(base.resolve()):
        raise ExportError(f"{out} is inside the knowledge directory {base}")


class _Edits:
    """The text of the files being edited, read from the source directory once."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.changed: dict[str, str] = {}

    def get(self, name: str, change: Change, missing: str | None = None) -> str:
        if name in self.changed:
            return self.changed[name]
        path = self.base / name
        if not path.is_file():
            if missing is not None:
                return missing
            raise ExportError(f"{_who(change)}: {name} does not exist in {self.base}")
        return path.read_text(encoding="utf-8")

    def set(self, name: str, text: str) -> None:
        self.changed[name] = text


def _who(change: Change) -> str:
    return f"change #{change.id} ({change.kind})"


# -- YAML text ----------------------------------------------------------------------------------
def _scalar(value: Any) -> str:
    """One scalar as it is written after `key: ` or `- ` in block context, quoted when YAML needs
    it (on one line: a multi-line text is double-quoted with \\n)."""
    text = yaml.safe_dump([value], allow_unicode=True, default_flow_style=False, width=_WIDE)
    if text.count("\n") > 1:
        text = yaml.safe_dump([value], allow_unicode=True, default_style='"', width=_WIDE)
    return text.rstrip("\n").removeprefix("- ")


def _flow(value: Any) -> str:
    """A list or mapping as a one-line flow collection: [a, b], {主题: [种类]}."""
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=_WIDE, sort_keys=False)
    if text.count("\n") > 1:
        text = yaml.safe_dump(
            value,
            allow_unicode=True,
            default_flow_style=True,
            width=_WIDE,
            sort_keys=False,
            default_style='"',
        )
    return text.rstrip("\n")


def _value(value: Any) -> str:
    return _flow(value) if isinstance(value, list | dict) else _scalar(value)


def _is_key_line(line: str, key: str, indent: int) -> str | None:
    """The value of `<indent>- key: value` (None when the line is not that)."""
    prefix = " " * indent + f"- {key}:"
    if not line.startswith(prefix):
        return None
    try:
        value = yaml.safe_load(line[len(prefix) :])
    except yaml.YAMLError:
        return None
    return str(value) if value is not None else None


def _item_span(lines: list[str], key: str, value: str) -> tuple[int, int] | None:
    """Lines [start, end) of the list item at indent 2 whose `key` is `value`."""
    for start, line in enumerate(lines):
        if _is_key_line(line, key, 2) == value:
            end = start + 1
            while end < len(lines) and not _ends_item(lines[end]):
                end += 1
            return start, end
    return None


def _ends_item(line: str) -> bool:
    """A line at indent 2 or less (the next item, a section comment, another key)."""
    stripped = line.strip()
    return bool(stripped) and len(line) - len(line.lstrip(" ")) <= 2


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _insert_alternate(text: str, entry_id: str, alternate: str, change: Change, name: str) -> str:
    lines = text.splitlines(keepends=True)
    span = _item_span(lines, "id", entry_id)
    if span is None:
        raise ExportError(f"{_who(change)}: no entry `- id: {entry_id}` in {name}")
    start, end = span
    key = next((i for i in range(start + 1, end) if lines[i].strip() == "alternates:"), None)
    if key is None:
        raise ExportError(f"{_who(change)}: {entry_id} in {name} has no block list `alternates:`")
    last, item_indent = key, None
    for i in range(key + 1, end):
        line = lines[i]
        if not line.strip():
            break
        indent = _indent(line)
        if item_indent is None:
            if not line.lstrip(" ").startswith("- "):
                break
            item_indent = indent
        if indent < item_indent or (indent == item_indent and not line.lstrip(" ").startswith("- ")):
            break
        last = i
    if item_indent is None:
        raise ExportError(f"{_who(change)}: {entry_id} in {name}: `alternates:` is not followed by - items")
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    lines.insert(last + 1, " " * item_indent + "- " + _scalar(alternate) + "\n")
    return "".join(lines)


_TERMS = re.compile(r"^(?P<head>\s+terms:\s*\[.*)\](?P<tail>\s*)$")


def _insert_term(text: str, subject: str, term: str, change: Change) -> str:
    lines = text.splitlines(keepends=True)
    span = _item_span(lines, "name", subject)
    if span is None:
        raise ExportError(f"{_who(change)}: no subject `- name: {subject}` in {SUBJECTS}")
    for i in range(*span):
        match = _TERMS.match(lines[i])
        if match:
            word = _flow([term])[1:-1]
            lines[i] = f"{match['head']}, {word}]{match['tail']}"
            return "".join(lines)
    raise ExportError(f"{_who(change)}: subject {subject} in {SUBJECTS} has no one-line `terms: [...]`")


def _clean_item(item: dict[str, Any]) -> dict[str, Any]:
    """An operator entry's fields as the files hold them: no marks of the overlay, the date a
    date, the alternates a list of their own (later alternate changes are added to it)."""
    item.pop(ORIGIN_KEY, None)
    item.pop(LINE_KEY, None)
    if isinstance(item.get("date"), str):
        item["date"] = dt.date.fromisoformat(item["date"])
    item["alternates"] = [str(a).strip() for a in item.get("alternates") or []]
    return item


def _entry_lines(item: dict[str, Any]) -> list[str]:
    keys = [k for k in FIELD_ORDER if k in item] + [k for k in item if k not in FIELD_ORDER]
    lines = []
    for key in keys:
        value = item[key]
        if value is None and key in OPTIONAL:
            continue
        if key == "alternates":
            lines.append("    alternates:")
            lines.extend(f"      - {_scalar(a)}" for a in value)
        elif key == "answer" and isinstance(value, str) and "\n" in value.strip():
            lines.extend(_block_text(key, value.strip()))
        else:
            lines.append(f"    {key}: {_value(value)}")
    lines[0] = "  - " + lines[0][4:]
    return lines


def _block_text(key: str, text: str) -> list[str]:
    """`key: |` with the text's lines; a text a literal block cannot hold exactly (control
    characters, \\r) is written as a quoted scalar instead."""
    lines = [f"    {key}: |", *(f"      {line}" if line else "" for line in text.split("\n"))]
    try:
        same = yaml.safe_load("\n".join(lines) + "\n") == {key: text + "\n"}
    except yaml.YAMLError:
        same = False
    return lines if same else [f"    {key}: {_scalar(text)}"]


def _append_entry(text: str, item: dict[str, Any], change: Change) -> str:
    lines = _entry_lines(item)
    block = "\n".join(lines) + "\n"
    try:
        written = yaml.safe_load("entries:\n" + block)["entries"][0]
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise ExportError(f"{_who(change)}: cannot write entry {item.get('id')!r} as YAML: {exc}") from exc
    expected = {k: v for k, v in item.items() if not (v is None and k in OPTIONAL)}
    if _normal(written) != _normal(expected):
        raise ExportError(f"{_who(change)}: entry {item.get('id')!r} does not read back as it was")
    if not text.endswith("\n"):
        text += "\n"
    if not text.rstrip("\n").endswith("entries:"):
        text += "\n"  # a blank line between entries, as in the shipped files
    return text + block


def _normal(item: Any) -> Any:
    """An item to compare with what it reads back as (the answer is written stripped, and a
    multi-line one gains its final newline)."""
    if not isinstance(item, dict):
        return item
    answer = item.get("answer")
    return {**item, "answer": answer.strip()} if isinstance(answer, str) else item


def _append_source(text: str, source: str, date: Any, title: str) -> str:
    if not text.endswith("\n"):
        text += "\n"
    return text + (
        f"  - file: {_scalar(source)}\n    date: {_scalar(date)}\n    title: {_scalar(title)}\n"
        "    added_by: operator\n"
    )
