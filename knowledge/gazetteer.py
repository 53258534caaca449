"""Offline region gazetteer: every province, prefecture and county, each mapped to its province.

Data: `regions.tsv` (one division a row) and `region_exceptions.yaml` (how ambiguous short
names resolve, and short names that are ordinary words and so never match on their own).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from knowledge.paths import data_dir
from knowledge.yamlio import load_yaml

LEVELS = ("province", "prefecture", "county")
_MUNICIPALITIES = frozenset({"北京", "上海", "天津", "重庆"})


@dataclass(frozen=True, slots=True)
class Place:
    """One administrative division."""

    name: str  # full official name: 温岭市
    short: str  # what people say: 温岭 (may equal name when nothing can be stripped)
    level: str  # province | prefecture | county
    province: str  # province short name: 浙江
    prefecture: str  # prefecture short name for counties, else ""

    @property
    def city(self) -> str | None:
        """The city a user would name for this place (None for a province itself)."""
        if self.level == "province":
            return None
        if self.level == "prefecture":
            return self.short
        if self.province in _MUNICIPALITIES:
            return self.province
        return self.prefecture or self.short

    @property
    def label(self) -> str:
        """Short display label, e.g. 浙江温岭, 山西, 北京顺义."""
        if self.level == "province":
            return self.short
        return f"{self.province}{self.short}" if self.province != self.short else self.short


@dataclass(frozen=True, slots=True)
class RegionMatch:
    """A place name found inside a piece of text."""

    place: Place
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Ambiguity:
    short: str
    resolve: str | None
    others: tuple[str, ...]
    note: str


class Gazetteer:
    """Look-ups by any name, and a scan for place names inside free text."""

    def __init__(
        self,
        places: list[Place],
        aliases: dict[str, list[Place]],
        abbreviations: dict[str, Place],
        ambiguous: dict[str, Ambiguity],
        common_words: frozenset[str],
        boundary_words: frozenset[str] = frozenset(),
    ) -> None:
        self.places = places
        self.provinces: dict[str, Place] = {p.short: p for p in places if p.level == "province"}
        self.abbreviations = abbreviations
        self.ambiguous = ambiguous
        self.common_words = common_words
        self._boundary = frozenset(w for w in boundary_words if len(w) >= 2)
        self._boundary_len = max((len(w) for w in self._boundary), default=0)
        by_name: dict[str, list[Place]] = defaultdict(list)
        for place in places:
            for key in {place.name, place.short}:
                if key:
                    by_name[key].append(place)
        for key, targets in aliases.items():
            by_name[key].extend(targets)
        self._by_name = dict(by_name)
        # Names safe to spot inside free text: two characters or more, not an ordinary word,
        # and pointing to one province (or resolved by the exception table).
        self._scan: dict[str, Place] = {}
        for key in self._by_name:
            if len(key) < 2 or key in common_words:
                continue
            picked = self._pick(key)
            if picked is not None:
                self._scan[key] = picked
        self._max_len = max((len(k) for k in self._scan), default=0)

    # -- look-ups -------------------------------------------------------------------------
    def _pick(self, key: str) -> Place | None:
        """The place a name means, or None when it is unknown or cannot be resolved."""
        candidates = self._by_name.get(key)
        if not candidates:
            return None
        provinces = {p.province for p in candidates}
        if len(provinces) > 1:
            amb = self.ambiguous.get(key)
            if amb is None or amb.resolve is None:
                return None
            candidates = [p for p in candidates if p.province == amb.resolve] or candidates
        # Prefer the highest level: a province over its capital city, a city over a county.
        return min(candidates, key=lambda p: (LEVELS.index(p.level), p.name != key))

    def lookup(self, name: str) -> Place | None:
        """Resolve a name as a whole: full, short, alias or one-character abbreviation."""
        key = name.strip()
        if not key:
            return None
        if key in self.abbreviations:
            return self.abbreviations[key]
        place = self._pick(key)
        if place is None:
            for suffix in ("市", "省", "区", "县", "州"):
                if key.endswith(suffix) and len(key) > 2:
                    place = self._pick(key[: -len(suffix)])
                    if place is not None:
                        break
        return place

    def candidates(self, name: str) -> list[Place]:
        """Every place a name can mean (for telling the user a name is ambiguous)."""
        return list(self._by_name.get(name.strip(), []))

    def province(self, name: str) -> Place | None:
        """The province a name belongs to (city → province), or None."""
        place = self.lookup(name)
        if place is None:
            return None
        return self.provinces.get(place.province)

    def is_province(self, short: str) -> bool:
        return short in self.provinces

    def city_in_province(self, city: str, province: str) -> bool:
        return any(p.province == province for p in self._by_name.get(city, []))

    # -- scanning free text ---------------------------------------------------------------
    def find(self, text: str) -> list[RegionMatch]:
        """Place names in text, longest first, without overlaps, in reading order.

        A name that would cut a known word in two (医保定点 → 保定) is skipped there.
        """
        cuts = self._cut_points(text)
        found: list[RegionMatch] = []
        i = 0
        while i < len(text):
            for length in range(min(self._max_len, len(text) - i), 1, -1):
                piece = text[i : i + length]
                place = self._scan.get(piece)
                if place is not None and i not in cuts and i + length not in cuts:
                    found.append(RegionMatch(place, i, i + length, piece))
                    i += length
                    break
            else:
                i += 1
        return found

    def _cut_points(self, text: str) -> set[int]:
        """Positions that fall strictly inside a boundary word of the text."""
        inside: set[int] = set()
        for start in range(len(text) - 1):
            for length in range(2, min(self._boundary_len, len(text) - start) + 1):
                if text[start : start + length] in self._boundary:
                    inside.update(range(start + 1, start + length))
        return inside


def load_gazetteer(directory: Path | str | None = None) -> Gazetteer:
    """Load `regions.tsv` and `region_exceptions.yaml` from the knowledge directory."""
    base = data_dir(directory)
    places: list[Place] = []
    aliases: dict[str, list[Place]] = defaultdict(list)
    abbreviations: dict[str, Place] = {}
    with (base / "regions.tsv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            place = Place(
                name=row["name"].strip(),
                short=(row.get("short") or "").strip() or row["name"].strip(),
                level=row["level"].strip(),
                province=row["province"].strip(),
                prefecture=(row.get("prefecture") or "").strip(),
            )
            places.append(place)
            for alias in _split(row.get("aliases")):
                aliases[alias].append(place)
            for abbr in _split(row.get("abbr")):
                abbreviations[abbr] = place
    exceptions = load_yaml(base / "region_exceptions.yaml") or {}
    ambiguous = {
        str(item["short"]): Ambiguity(
            short=str(item["short"]),
            resolve=item.get("resolve"),
            others=tuple(item.get("others") or ()),
            note=str(item.get("note") or ""),
        )
        for item in exceptions.get("ambiguous") or []
    }
    common = frozenset(str(w) for w in exceptions.get("common_words") or [])
    return Gazetteer(places, dict(aliases), abbreviations, ambiguous, common, _boundary_words(base))


def _boundary_words(base: Path) -> frozenset[str]:
    words: set[str] = set()
    for name in ("boundary_words.txt", "userdict.txt"):
        path = base / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                word = line.split()[0] if line.strip() and not line.startswith("#") else ""
                if word:
                    words.add(word)
    return frozenset(words)


def _split(cell: str | None) -> list[str]:
    return [part.strip() for part in (cell or "").replace("，", ",").split(",") if part.strip()]
