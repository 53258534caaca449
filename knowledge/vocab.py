"""Vocabulary data: the jieba user dictionary and the synonym table, with their checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowledge.paths import data_dir
from knowledge.yamlio import LINE_KEY, YamlError, load_yaml

USERDICT = "userdict.txt"
SYNONYMS = "synonyms.yaml"


@dataclass(frozen=True, slots=True)
class Vocabulary:
    userdict_path: Path
    words: tuple[str, ...]
    synonyms: dict[str, str]  # variant → canonical form


def load_vocabulary(directory: Path | str | None = None) -> tuple[Vocabulary, list[tuple[str, int, str]]]:
    """Load both files; return the vocabulary and (file, line, message) problems."""
    base = data_dir(directory)
    problems: list[tuple[str, int, str]] = []
    dict_path = base / USERDICT
    words: list[str] = []
    try:
        lines = dict_path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        problems.append((str(dict_path), 1, f"cannot read: {exc}"))
        lines = []
    seen: set[str] = set()
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split()
        if len(parts) > 3 or (len(parts) >= 2 and not parts[1].isdigit()):
            problems.append((str(dict_path), number, f"expected `word [frequency] [tag]`, got {text!r}"))
            continue
        if parts[0] in seen:
            problems.append((str(dict_path), number, f"duplicate word {parts[0]!r}"))
        seen.add(parts[0])
        words.append(parts[0])

    syn_path = base / SYNONYMS
    synonyms: dict[str, str] = {}
    try:
        doc = load_yaml(syn_path) or {}
    except (OSError, YamlError) as exc:
        problems.append((str(syn_path), getattr(exc, "line", 1), str(exc)))
        doc = {}
    table = doc.get("synonyms") or {}
    line = int(table.get(LINE_KEY, 1)) if isinstance(table, dict) else 1
    if not isinstance(table, dict):
        problems.append((str(syn_path), 1, "`synonyms` must map a canonical word to a list of variants"))
        table = {}
    for canonical, variants in table.items():
        if canonical == LINE_KEY:
            continue
        if not isinstance(variants, list) or not all(isinstance(v, str) and v for v in variants):
            problems.append((str(syn_path), line, f"{canonical}: variants must be a list of words"))
            continue
        for variant in variants:
            if variant == canonical:
                problems.append((str(syn_path), line, f"{canonical}: lists itself as a variant"))
            elif variant in synonyms and synonyms[variant] != canonical:
                problems.append(
                    (str(syn_path), line, f"{variant!r} maps to both {synonyms[variant]!r} and {canonical!r}")
                )
            else:
                synonyms[variant] = str(canonical)
    chained = sorted(set(synonyms) & set(synonyms.values()))
    for word in chained:
        problems.append((str(syn_path), line, f"{word!r} is both a canonical form and a variant"))
    return Vocabulary(dict_path, tuple(words), synonyms), problems
