"""Slot extraction: which region and which scheme a question is about.

Region names are cut out of the topic text so that a place does not dominate the match;
scheme words stay in the text (they are part of what the question is about) and are also
reported as a slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.gazetteer import Gazetteer, Place

EMPLOYEE = "职工医保"
RESIDENT = "城乡居民医保"

# Order matters: the first pattern that matches wins (居民 before 职工 would misread 职工 in
# "城乡居民和职工的区别" — such comparisons name both and yield no scheme slot).
_SCHEME_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (EMPLOYEE, re.compile(r"职工|在职|上班族|单位(交|缴|给)|公司(交|缴|给)|退休(人员|职工)?")),
    (RESIDENT, re.compile(r"居民|城乡|新农合|农合|农村医保|农村医疗|合作医疗|学生医保|少儿医保|一老一小")),
)


@dataclass(frozen=True, slots=True)
class Slots:
    places: tuple[Place, ...]  # places named in the text, in reading order
    scheme: str | None  # 职工医保 | 城乡居民医保 | None (unknown or both named)
    topic_text: str  # the text with place names removed

    @property
    def region(self) -> str | None:
        """Province of the first place named (the insured place, in "山西医保在北京用")."""
        return self.places[0].province if self.places else None

    @property
    def regions(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for place in self.places:
            seen.setdefault(place.province, None)
        return tuple(seen)

    @property
    def apart(self) -> bool:
        """Whether two of the places are different cities or provinces, neither inside the other
        (太原 and 北京, 惠州 and 东莞 — not 山西 and 太原, nor 朝阳 and 海淀 in 北京)."""
        for i, first in enumerate(self.places):
            for second in self.places[i + 1 :]:
                if first.province != second.province:
                    return True
                if first.city and second.city and first.city != second.city:
                    return True
        return False


def scheme_of(text: str) -> str | None:
    found = {name for name, pattern in _SCHEME_PATTERNS if pattern.search(text)}
    return found.pop() if len(found) == 1 else None


def scheme_words(text: str) -> list[str]:
    """The words that name a scheme in the text (职工, 新农合 …)."""
    return [m.group(0) for _name, pattern in _SCHEME_PATTERNS for m in pattern.finditer(text)]


def strip_scheme_words(text: str) -> str:
    """The text without the words that name a scheme (for "那居民医保呢" after a 职工 question)."""
    for _name, pattern in _SCHEME_PATTERNS:
        text = pattern.sub(" ", text)
    return " ".join(text.split())


def extract_slots(text: str, gazetteer: Gazetteer) -> Slots:
    """Slots of normalised text. A text that is only a place (晋, 太原市) is that place."""
    whole = gazetteer.lookup(text) if len(text) <= 12 else None
    if whole is not None:
        return Slots((whole,), None, "")
    matches = gazetteer.find(text)
    topic = text
    for match in reversed(matches):
        topic = topic[: match.start] + " " + topic[match.end :]
    return Slots(tuple(m.place for m in matches), scheme_of(text), " ".join(topic.split()))
