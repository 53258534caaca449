"""The small data files the engine loads besides the entries, each loaded and checked in one
place: word lists (stop words, question words, boundary words), small talk and the region
gazetteer's files. A check returns `(file, line, message)` problems; `load_knowledge` runs
them all, so `python -m knowledge validate` and the bot's /reload refuse a broken file the
same way they refuse a broken entry.
"""

from __future__ import annotations

import csv
from pathlib import Path

from knowledge.normalise import normalise
from knowledge.paths import data_dir
from knowledge.yamlio import LINE_KEY, YamlError, load_yaml

Problems = list[tuple[str, int, str]]

WORD_LISTS = ("stopwords.txt", "generic_words.txt", "boundary_words.txt")
SMALLTALK = "smalltalk.yaml"
SMALLTALK_KINDS = ("greeting", "thanks", "bye")
REGIONS = "regions.tsv"
REGION_COLUMNS = ("level", "name", "short", "province", "prefecture", "aliases", "abbr")
REGION_LEVELS = ("province", "prefecture", "county")
REGION_EXCEPTIONS = "region_exceptions.yaml"


def read_word_list(path: Path, problems: Problems | None = None) -> list[str]:
    """One word a line; `#` starts a comment line. Problems: unreadable, spaces, duplicates."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        if problems is not None:
            problems.append((str(path), 1, f"cannot read: {exc}"))
        return []
    words: list[str] = []
    first: dict[str, int] = {}
    for number, raw in enumerate(lines, 1):
        word = raw.strip()
        if not word or word.startswith("#"):
            continue
        if problems is not None:
            if len(word.split()) > 1:
                problems.append((str(path), number, f"one word a line, got {word!r}"))
            elif word in first:
                problems.append((str(path), number, f"duplicate word {word!r} (first at line {first[word]})"))
        first.setdefault(word, number)
        words.append(word)
    return words


def load_word_list(directory: Path | str | None, name: str) -> frozenset[str]:
    return frozenset(normalise(w) for w in read_word_list(data_dir(directory) / name))


def load_smalltalk(
    directory: Path | str | None = None, problems: Problems | None = None
) -> dict[str, frozenset[str]]:
    """Kind (greeting | thanks | bye) → its phrases, normalised."""
    path = data_dir(directory) / SMALLTALK
    sink: Problems = problems if problems is not None else []
    try:
        doc = load_yaml(path) or {}
    except (OSError, YamlError) as exc:
        sink.append((str(path), getattr(exc, "line", 1), str(exc)))
        return {}
    if not isinstance(doc, dict):
        sink.append((str(path), 1, "must map a kind (greeting, thanks, bye) to a list of phrases"))
        return {}
    out: dict[str, frozenset[str]] = {}
    line = int(doc.get(LINE_KEY, 1))
    for kind, phrases in doc.items():
        if kind == LINE_KEY:
            continue
        if kind not in SMALLTALK_KINDS:
            sink.append((str(path), line, f"unknown kind {kind!r}; known: {', '.join(SMALLTALK_KINDS)}"))
            continue
        if not isinstance(phrases, list) or not all(
            isinstance(p, str | int) and str(p).strip() for p in phrases
        ):
            sink.append((str(path), line, f"{kind}: must be a list of phrases"))
            continue
        out[kind] = frozenset(normalise(str(p)) for p in phrases)
    return out


def check_regions(base: Path, problems: Problems) -> set[str]:
    """Check the gazetteer table; return the province short names it lists."""
    path = base / REGIONS
    provinces: set[str] = set()
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            missing = [c for c in REGION_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                problems.append((str(path), 1, f"missing column(s) {', '.join(missing)}"))
                return set()
            rows = [(number, row) for number, row in enumerate(reader, 2)]
    except OSError as exc:
        problems.append((str(path), 1, f"cannot read: {exc}"))
        return set()
    for _number, row in rows:
        if (row.get("level") or "").strip() == "province":
            provinces.add((row.get("short") or row.get("name") or "").strip())
    for number, row in rows:
        level = (row.get("level") or "").strip()
        if level not in REGION_LEVELS:
            problems.append(
                (str(path), number, f"level must be one of {', '.join(REGION_LEVELS)}, got {level!r}")
            )
        if not (row.get("name") or "").strip():
            problems.append((str(path), number, "empty name"))
        if (row.get("province") or "").strip() not in provinces:
            problems.append((str(path), number, f"unknown province {row.get('province')!r}"))
    return provinces


def check_region_exceptions(base: Path, problems: Problems, provinces: set[str]) -> None:
    path = base / REGION_EXCEPTIONS
    try:
        doc = load_yaml(path) or {}
    except (OSError, YamlError) as exc:
        problems.append((str(path), getattr(exc, "line", 1), str(exc)))
        return
    if not isinstance(doc, dict):
        problems.append((str(path), 1, "must be a mapping with `ambiguous` and `common_words`"))
        return
    for item in doc.get("ambiguous") or []:
        line = item.get(LINE_KEY, 1) if isinstance(item, dict) else 1
        if not isinstance(item, dict) or not item.get("short"):
            problems.append((str(path), line, "each ambiguous name needs `short`"))
            continue
        resolve = item.get("resolve")
        if resolve is not None and provinces and resolve not in provinces:
            problems.append((str(path), line, f"{item['short']}: resolve {resolve!r} is not a province"))
    words = doc.get("common_words") or []
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        problems.append((str(path), int(doc.get(LINE_KEY, 1)), "`common_words` must be a list of names"))


def check_data_files(directory: Path | str | None = None) -> Problems:
    """Problems in the word lists, small talk and gazetteer files."""
    base = data_dir(directory)
    problems: Problems = []
    for name in WORD_LISTS:
        read_word_list(base / name, problems)
    load_smalltalk(base, problems)
    provinces = check_regions(base, problems)
    check_region_exceptions(base, problems, provinces)
    return problems
