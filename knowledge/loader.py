"""Load the entry files into typed records, checking everything a reviewer would.

`load_knowledge()` never raises on bad data: it returns the entries it could build and a
list of `Problem`s (file, line, message). The bot refuses to (re)load a knowledge base
that has problems; `python -m knowledge validate` prints them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.datafiles import check_data_files
from knowledge.estimate import ESTIMATORS
from knowledge.gazetteer import Gazetteer, load_gazetteer
from knowledge.overlay import (
    ORIGIN_KEY,
    Change,
    active,
    apply_to_documents,
    change_of_origin,
    extend_vocabulary,
    origin,
)
from knowledge.paths import data_dir
from knowledge.reading import ReadingVocabulary, load_reading_vocabulary
from knowledge.schema import (
    MIN_ALTERNATES,
    NATIONWIDE,
    SCHEMES,
    TOPICS,
    UNNAMED_PROVINCE,
    Entry,
    KnowledgeBase,
)
from knowledge.vocab import load_vocabulary
from knowledge.yamlio import LINE_KEY, YamlError, load_yaml

ID_PATTERN = re.compile(r"^[a-z]+\.[a-z0-9]+(?:-[a-z0-9]+)*$")
REQUIRED = (
    "id", "question", "alternates", "answer", "region", "schemes", "tags", "answers", "source", "date",
)  # fmt: skip
OPTIONAL = ("city", "related", "group", "conflicts", "estimate", "persons", "requires")
ENTRY_DIR = "entries"


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:  # an operator's change (操作员修改 #12) has no line
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


class KnowledgeError(Exception):
    """Raised by `load_or_raise` when the data has problems."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(slots=True)
class _Ctx:
    file: str
    problems: list[Problem]
    vocabulary: ReadingVocabulary | None = None

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))


def load_sources(base: Path, problems: list[Problem]) -> dict[str, dt.date]:
    path = base / "sources.yaml"
    ctx = _Ctx(str(path), problems)
    try:
        doc = load_yaml(path)
    except (OSError, YamlError) as exc:
        ctx.error(getattr(exc, "line", 1), str(exc))
        return {}
    sources: dict[str, dt.date] = {}
    for item in (doc or {}).get("sources") or []:
        date = item.get("date")
        if not isinstance(date, dt.date):
            ctx.error(item.get(LINE_KEY, 1), f"source {item.get('file')!r}: date must be YYYY-MM-DD")
            continue
        sources[str(item.get("file"))] = date
    return sources


def load_knowledge(
    directory: Path | str | None = None,
    gazetteer: Gazetteer | None = None,
    changes: Sequence[Change] = (),
) -> tuple[KnowledgeBase, list[Problem]]:
    """Read every `entries/*.yaml` file, with operators' `changes` applied on top; return the
    knowledge base and all problems found (a change's problems name it: 操作员修改 #12)."""
    kb, _vocabulary, problems = _load(directory, gazetteer, changes)
    return kb, problems


@dataclass(slots=True)
class Loaded:
    """The knowledge with operators' changes: what was applied and what was refused, by id."""

    kb: KnowledgeBase
    vocabulary: ReadingVocabulary
    applied: list[int]
    rejected: dict[int, list[Problem]]


def load_with_changes(
    directory: Path | str | None, gazetteer: Gazetteer, changes: Sequence[Change]
) -> Loaded:
    """The shipped knowledge plus every change that passes the validator; a change that does
    not is left out and returned with its problems. Raises KnowledgeError when the shipped
    files themselves have problems."""
    rejected: dict[int, list[Problem]] = {}
    todo = list(changes)
    while True:
        kb, vocabulary, problems = _load(directory, gazetteer, todo)
        shipped = [p for p in problems if change_of_origin(p.file) is None]
        if shipped:
            raise KnowledgeError(shipped)
        failed: dict[int, list[Problem]] = {}
        for problem in problems:
            failed.setdefault(change_of_origin(problem.file) or 0, []).append(problem)
        if not failed:
            applied = [c.id for c in active(todo) if c.changes_knowledge]
            return Loaded(kb, vocabulary, applied, rejected)
        rejected.update(failed)
        todo = [c for c in todo if c.id not in failed]


def _load(
    directory: Path | str | None, gazetteer: Gazetteer | None, changes: Sequence[Change]
) -> tuple[KnowledgeBase, ReadingVocabulary, list[Problem]]:
    base = data_dir(directory)
    problems: list[Problem] = [Problem(*p) for p in check_data_files(base)]
    try:
        gaz = gazetteer or load_gazetteer(base)
    except (OSError, KeyError, ValueError, YamlError) as exc:
        problems.append(Problem(str(base / "regions.tsv"), 1, f"cannot load the gazetteer: {exc}"))
        return KnowledgeBase(), ReadingVocabulary({}, {}, {}), problems
    sources = load_sources(base, problems)
    vocab, vocab_problems = load_vocabulary(base)
    problems.extend(Problem(*p) for p in vocab_problems)
    reading, reading_problems = load_reading_vocabulary(base, vocab.synonyms)
    problems.extend(Problem(*p) for p in reading_problems)
    reading, term_problems = extend_vocabulary(reading, changes)
    problems.extend(Problem(origin(cid), 0, message) for cid, message in term_problems)
    kb = KnowledgeBase()
    first_seen: dict[str, str] = {}
    pending_refs: list[tuple[_Ctx, int, str, str, str]] = []
    files = sorted((base / ENTRY_DIR).glob("*.yaml"))
    if not files:
        problems.append(Problem(str(base / ENTRY_DIR), 1, "no entry files (*.yaml) found"))
    docs: dict[str, dict[str, Any]] = {}
    paths: dict[str, Path] = {}
    for path in files:
        doc = _read_file(path, _Ctx(str(path), problems, reading))
        if doc is not None:
            docs[path.stem], paths[path.stem] = doc, path
    applied = apply_to_documents(docs, sources, changes)
    problems.extend(Problem(origin(cid), 0, message) for cid, message in applied.problems)
    for stem, doc in docs.items():
        path = paths.get(stem, base / ENTRY_DIR / f"{stem}.yaml")
        for entry, refs, ctx in _build_file(path, doc, _Ctx(str(path), problems, reading), gaz, sources):
            where = f"{ctx.file}:{entry.line}"
            if entry.id in first_seen:
                ctx.error(entry.line, f"duplicate id {entry.id!r} (first at {first_seen[entry.id]})")
                continue
            first_seen[entry.id] = where
            kb.add(entry)
            pending_refs.extend((ctx, entry.line, entry.id, kind, ref) for kind, ref in refs)
    for ctx, line, owner, kind, ref in pending_refs:
        if ref not in kb.by_id:
            ctx.error(line, f"{owner}: {kind} id {ref!r} does not exist")
        elif ref == owner:
            ctx.error(line, f"{owner}: {kind} refers to the entry itself")
    return kb, reading, problems


def load_or_raise(directory: Path | str | None = None, gazetteer: Gazetteer | None = None) -> KnowledgeBase:
    kb, problems = load_knowledge(directory, gazetteer)
    if problems:
        raise KnowledgeError(problems)
    return kb


def _read_file(path: Path, ctx: _Ctx) -> dict[str, Any] | None:
    try:
        doc = load_yaml(path)
    except YamlError as exc:
        ctx.error(exc.line, exc.message)
        return None
    if not isinstance(doc, dict):
        ctx.error(1, "file must be a mapping with `topic` and `entries`")
        return None
    return doc


def _build_file(
    path: Path, doc: dict[str, Any], ctx: _Ctx, gaz: Gazetteer, sources: dict[str, dt.date]
) -> list[tuple[Entry, list[tuple[str, str]], _Ctx]]:
    stem = path.stem
    topic = doc.get("topic")
    if stem not in TOPICS:
        ctx.error(1, f"unknown topic file {stem!r}; known: {', '.join(TOPICS)}")
    elif topic != TOPICS[stem]:
        ctx.error(doc.get(LINE_KEY, 1), f"topic must be {TOPICS[stem]!r} in {path.name}, got {topic!r}")
    items = doc.get("entries")
    if not isinstance(items, list) or not items:
        ctx.error(doc.get(LINE_KEY, 1), "`entries` must be a non-empty list")
        return []
    built = []
    for item in items:
        if not isinstance(item, dict):
            ctx.error(doc.get(LINE_KEY, 1), "each entry must be a mapping")
            continue
        # an entry an operator added is named by its change, not by a file and line
        own = _Ctx(str(item[ORIGIN_KEY]), ctx.problems, ctx.vocabulary) if ORIGIN_KEY in item else ctx
        result = _build_entry(item, stem, own, gaz, sources)
        if result is not None:
            built.append((*result, own))
    return built


def _text(item: dict[str, Any], key: str, ctx: _Ctx, line: int, label: str) -> str | None:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        ctx.error(line, f"{label}: `{key}` must be non-empty text")
        return None
    return value.strip()


def _str_list(item: dict[str, Any], key: str, ctx: _Ctx, line: int, label: str) -> tuple[str, ...] | None:
    value = item.get(key, [])
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        ctx.error(line, f"{label}: `{key}` must be a list of non-empty texts")
        return None
    return tuple(v.strip() for v in value)


def _build_entry(
    item: dict[str, Any], stem: str, ctx: _Ctx, gaz: Gazetteer, sources: dict[str, dt.date]
) -> tuple[Entry, list[tuple[str, str]]] | None:
    line = int(item.get(LINE_KEY, 1))
    raw_id = item.get("id")
    label = str(raw_id) if raw_id else "entry"
    before = len(ctx.problems)
    for key in REQUIRED:
        if key not in item:
            ctx.error(line, f"{label}: missing field `{key}`")
    unknown = sorted(set(item) - set(REQUIRED) - set(OPTIONAL) - {LINE_KEY, ORIGIN_KEY})
    if unknown:
        ctx.error(line, f"{label}: unknown field(s) {', '.join(unknown)}")
    if len(ctx.problems) > before:
        return None

    entry_id = str(raw_id)
    if not ID_PATTERN.match(entry_id):
        ctx.error(line, f"{label}: id must look like `{stem}.some-words` (lowercase ascii)")
    elif stem in TOPICS and not entry_id.startswith(stem + "."):
        ctx.error(line, f"{label}: id must start with `{stem}.` in {stem}.yaml")

    question = _text(item, "question", ctx, line, label)
    answer = _text(item, "answer", ctx, line, label)
    alternates = _str_list(item, "alternates", ctx, line, label)
    if alternates is not None and len(alternates) < MIN_ALTERNATES:
        ctx.error(line, f"{label}: needs at least {MIN_ALTERNATES} alternates, has {len(alternates)}")
    tags = _str_list(item, "tags", ctx, line, label)
    related = _str_list(item, "related", ctx, line, label)
    conflicts = _str_list(item, "conflicts", ctx, line, label)

    raw_region = item.get("region")
    regions: tuple[str, ...] | None = None
    names = [raw_region] if isinstance(raw_region, str) else raw_region
    if not isinstance(names, list) or not names or not all(isinstance(r, str) for r in names):
        ctx.error(line, f"{label}: `region` must be 全国, a province short name, or a list of them")
    else:
        special = (NATIONWIDE, UNNAMED_PROVINCE)
        unknown_regions = [r for r in names if not (r in special or gaz.is_province(r))]
        if unknown_regions:
            ctx.error(
                line,
                f"{label}: unknown region {unknown_regions[0]!r} "
                "(use 全国, 某省 or a province short name such as 山西)",
            )
        elif any(r in special for r in names) and len(names) > 1:
            ctx.error(line, f"{label}: 全国 and 某省 cannot be combined with provinces")
        else:
            regions = tuple(names)
    city = item.get("city")
    if city is not None:
        if not isinstance(city, str) or not city.strip():
            ctx.error(line, f"{label}: `city` must be text")
            city = None
        elif regions and regions[0] in (NATIONWIDE, UNNAMED_PROVINCE):
            ctx.error(line, f"{label}: a `city` needs a province as `region`")
        elif regions and not gaz.city_in_province(city, regions[0]):
            ctx.error(line, f"{label}: unknown city {city!r} in region {regions[0]!r}")

    schemes = _str_list(item, "schemes", ctx, line, label)
    if schemes is not None:
        if not schemes:
            ctx.error(line, f"{label}: `schemes` must name at least one scheme")
        for scheme in schemes:
            if scheme not in SCHEMES:
                ctx.error(line, f"{label}: unknown scheme {scheme!r}; known: {', '.join(SCHEMES)}")

    source = item.get("source")
    date = item.get("date")
    if not isinstance(source, str) or not source.strip():
        ctx.error(line, f"{label}: missing source")
    elif source not in sources:
        ctx.error(line, f"{label}: unknown source {source!r} (not in sources.yaml)")
    if not isinstance(date, dt.date):
        ctx.error(line, f"{label}: `date` must be a date written YYYY-MM-DD")
    elif isinstance(source, str) and source in sources and sources[source] != date:
        ctx.error(line, f"{label}: date {date} differs from the source's date {sources[source]}")

    group = item.get("group")
    if group is not None and (not isinstance(group, str) or not group.strip()):
        ctx.error(line, f"{label}: `group` must be text")

    answers, requires, persons = _understanding(item, ctx, line, label)

    estimate = item.get("estimate")
    if estimate is not None and estimate not in ESTIMATORS:
        ctx.error(line, f"{label}: unknown estimate {estimate!r}; known: {', '.join(ESTIMATORS)}")

    if len(ctx.problems) > before:
        return None
    assert question and answer and alternates is not None and tags is not None
    assert schemes is not None and related is not None and conflicts is not None
    assert regions is not None and isinstance(source, str) and isinstance(date, dt.date)
    entry = Entry(
        id=entry_id,
        topic=TOPICS.get(stem, stem),
        question=question,
        alternates=alternates,
        answer=answer,
        regions=regions,
        city=city.strip() if isinstance(city, str) else None,
        schemes=schemes,
        tags=tags,
        source=source,
        date=date,
        related=related,
        group=group.strip() if isinstance(group, str) else None,
        conflicts=conflicts,
        estimate=estimate if isinstance(estimate, str) else None,
        answers=answers,
        requires=requires,
        persons=persons,
        file=ctx.file,
        line=line,
    )
    refs = [("related", r) for r in related] + [("conflicts", c) for c in conflicts]
    return entry, refs


def _understanding(
    item: dict[str, Any], ctx: _Ctx, line: int, label: str
) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[str, ...], tuple[str, ...]]:
    """What the entry declares it answers: `answers` (subject → kinds of asking), and the
    optional `requires` and `persons`, each checked against the reading vocabularies."""
    vocab = ctx.vocabulary
    raw = item.get("answers")
    answers: list[tuple[str, tuple[str, ...]]] = []
    if not isinstance(raw, dict) or not [k for k in raw if k != LINE_KEY]:
        ctx.error(line, f"{label}: `answers` must map each subject to the kinds of asking it answers")
        raw = {}
    for subject, asks in raw.items():
        if subject == LINE_KEY:
            continue
        if not isinstance(asks, list) or not asks or not all(isinstance(a, str) for a in asks):
            ctx.error(line, f"{label}: answers.{subject} must be a non-empty list of kinds of asking")
            continue
        answers.append((str(subject), tuple(asks)))
    requires = _str_list(item, "requires", ctx, line, label) or ()
    persons = _str_list(item, "persons", ctx, line, label) or ()
    if vocab is None:
        return tuple(answers), requires, persons
    for subject, asks in answers:
        if subject not in vocab.subjects:
            ctx.error(line, f"{label}: unknown subject {subject!r} (see subjects.yaml)")
        for name in asks:
            kind = vocab.asks.get(name)
            if kind is None:
                ctx.error(line, f"{label}: unknown kind of asking {name!r} (see asks.yaml)")
            elif kind.open or kind.accepts:
                answered = "any entry" if kind.open else " or ".join(kind.accepts)
                ctx.error(line, f"{label}: {name!r} is only asked, not declared (answered by {answered})")
    for name in persons:
        if name not in vocab.persons:
            ctx.error(line, f"{label}: unknown person {name!r} (see persons.yaml)")
    return tuple(answers), requires, persons
