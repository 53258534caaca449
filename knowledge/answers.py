"""Does an entry answer the question that was read? One `Verdict` per candidate entry.

An entry answers when all of these hold (knowledge/README.md, "How a question is answered"):
- subject: one of the subjects asked is a key of its `answers`, and every other one is a key
  or at least mentioned in it; a neighbouring topic (养老保险 …) must be a key; and the question
  names one of its `requires` (妇科 for the entry about seeing a gynaecologist);
- ask: every kind of asking in the question is covered for one of those subjects (报多少 is
  covered by 比例 or 金额; a question with only weak kinds needs one of them);
- person: the people the question names are the entry's too, and an entry for particular people
  (男方) answers only questions that name them;
- scheme: a question naming 职工 or 居民 does not get the other scheme's rule;
- detail: every telling word of the question (白内障, 照片, 押金) appears somewhere in the entry;
- place: see `place_fit` — another place's rule never answers a question that names a place,
  nor does a nationwide entry give a figure each province sets (`local` subjects) for a place
  the question names;
- year: a question naming a year gets only a rule for that year (or one that names none).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from knowledge.gazetteer import Place
from knowledge.normalise import normalise
from knowledge.reading import YEAR, Reader, Reading
from knowledge.schema import ALL_SCHEMES, Entry
from knowledge.slots import EMPLOYEE, RESIDENT

# how an entry's place fits the question
FITS = "fits"  # nationwide, or the place the user named or saved
NOTE = "note"  # answers, and the first line says whose rule it is (no place known)
OTHER = "other"  # another place's rule
UNNAMED = "unnamed"  # a 某省 rule, and the question names a province


@dataclass(frozen=True, slots=True)
class Verdict:
    entry: Entry
    subject: bool
    ask: bool
    person: bool
    scheme: bool
    detail: tuple[str, ...]  # telling words of the question the entry never mentions
    place: str  # FITS | NOTE | OTHER | UNNAMED

    @property
    def claims(self) -> bool:
        """Everything but the place fits: the entry answers this question somewhere."""
        return self.subject and self.ask and self.person and self.scheme and not self.detail

    @property
    def answers(self) -> bool:
        return self.claims and self.place in (FITS, NOTE)

    def why_not(self) -> list[str]:
        """What does not fit, in words for `python -m knowledge ask`."""
        out = []
        for name, ok in (("subject", self.subject), ("ask", self.ask), ("person", self.person)):
            if not ok:
                out.append(name)
        if not self.scheme:
            out.append("scheme")
        if self.detail:
            out.append("detail " + "/".join(self.detail))
        if self.place in (OTHER, UNNAMED):
            out.append(f"place {self.place}")
        return out


@dataclass(frozen=True, slots=True)
class _EntryText:
    haystack: tuple[str, str]  # phrasings, answer and tags, as written and after synonyms
    subjects: frozenset[str]  # subjects the text names
    persons: frozenset[str]  # people the text names


class Judge:
    """Judges entries against a reading; what it needs of an entry's text is worked out the
    first time the entry is a candidate (a large knowledge base costs nothing up front)."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.vocabulary = reader.vocabulary
        self._texts: dict[str, _EntryText] = {}

    def warm(self, entries: Iterable[Entry]) -> None:
        """Work out these entries' texts now, so the first questions about them are not slower."""
        for entry in entries:
            self._text(entry)

    def adopt(self, other: Judge, only: Collection[str] | None = None) -> None:
        """Take over what another judge of the same vocabulary has worked out (its entries'
        texts); with `only`, for those entries alone (the others' texts have changed)."""
        for entry_id, text in other._texts.items():
            if only is None or entry_id in only:
                self._texts.setdefault(entry_id, text)

    def _text(self, entry: Entry) -> _EntryText:
        found = self._texts.get(entry.id)
        if found is None:
            text = normalise(" ".join((entry.question, *entry.alternates, entry.answer, *entry.tags)))
            haystack = self.reader.haystack(text)
            people = {
                name
                for name, person in self.vocabulary.persons.items()
                if any(self.reader.has_term(t, haystack) for t in person.terms)
            }
            found = _EntryText(haystack, frozenset(self.reader.subjects_named(text)), frozenset(people))
            self._texts[entry.id] = found
        return found

    def mentions(self, entry: Entry, subject: str) -> bool:
        """Whether the entry's text (phrasings, answer, tags) names the subject."""
        return subject in self._text(entry).subjects

    def covering_key(self, entry: Entry, subject: str) -> str | None:
        """The entry's subject that answers a question about `subject`: the same subject, or
        the one it is a kind of (慢特病 answers 糖尿病能办慢病卡吗; 两病 is `instance`)."""
        current: str | None = subject
        while current is not None:
            if entry.is_about(current):
                return current
            found = self.vocabulary.subjects.get(current)
            current = found.parent if found is not None and found.instance else None
        return None

    def local_figure(self, entry: Entry, reading: Reading) -> bool:
        """A nationwide entry asked for a figure each province sets, or for the rule itself,
        for a place the question names: it does not give that place's (广州产假多少天,
        北京产假是怎么规定的)."""
        if not entry.is_nationwide or not reading.regions:
            return False
        typed = self._text(entry).haystack[0]
        if any(p.short in typed or p.province in typed for p in reading.places):
            return False  # the entry itself states that place's figures (万州 in 门诊特殊病)
        figures = any(self.vocabulary.asks[a].figure or self.vocabulary.asks[a].open for a in reading.asks)
        return figures and any(self.vocabulary.subjects[s].local for s in reading.subjects)

    def year_fits(self, entry: Entry, reading: Reading) -> bool:
        """A question about a year (2020年合作医疗交多少) is not answered by a rule stated for
        other years; an entry that names no year is taken as current."""
        if not reading.years:
            return True
        named = set(YEAR.findall(self._text(entry).haystack[0]))
        return not named or bool(named & set(reading.years))

    def judge(self, entry: Entry, reading: Reading, profile_region: str | None) -> Verdict:
        covering = [self.covering_key(entry, s) for s in reading.subjects]
        keys = [k for k in covering if k is not None]
        subject = (
            bool(keys)
            and all(k or self.mentions(entry, s) for s, k in zip(reading.subjects, covering, strict=True))
            and all(entry.is_about(o) for o in reading.outside)
            and (not entry.requires or any(self.reader.names(reading, r) for r in entry.requires))
        )
        # each kind of asking must be covered for one of the subjects asked (or a background
        # subject the entry is about: 再交几个月社保才能领津贴 asks how long about 缴费)
        ask_keys = keys + [s for s in reading.background if entry.is_about(s)]
        kinds = [self.vocabulary.asks[a] for a in reading.asks]
        covers = any if reading.asks_any else all
        ask = bool(keys) and covers(
            any(k.answered_by(entry.asks_about(key)) for key in ask_keys) for k in kinds
        )
        people = set(entry.persons) | self._text(entry).persons
        person = all(p in people for p in reading.persons) and (
            not entry.persons or bool(set(entry.persons) & set(reading.persons))
        )
        haystack = self._text(entry).haystack
        detail = tuple(w for w in reading.details if not any(w in side for side in haystack))
        place = place_fit(entry, reading.places, profile_region)
        if place == FITS and self.local_figure(entry, reading):
            place = OTHER
        if not self.year_fits(entry, reading):
            detail = (*detail, *reading.years)
        return Verdict(entry, subject, ask, person, scheme_fits(entry, reading.scheme), detail, place)


def scheme_fits(entry: Entry, scheme: str | None) -> bool:
    """A question naming 职工医保 or 城乡居民医保 does not get a rule only for the other one."""
    if scheme not in (EMPLOYEE, RESIDENT) or ALL_SCHEMES in entry.schemes:
        return True
    return scheme in entry.schemes or not ({EMPLOYEE, RESIDENT} & set(entry.schemes))


def place_fit(entry: Entry, places: tuple[Place, ...], profile_region: str | None) -> str:
    """How the entry's place fits the places the question names (or the user's saved one)."""
    if entry.is_nationwide:
        return FITS
    named = tuple(dict.fromkeys(p.province for p in places))
    if entry.is_unnamed_province:
        return UNNAMED if named else NOTE
    if not named:
        if profile_region is not None:
            return FITS if entry.applies_to(profile_region) else OTHER
        # a comparison of places (北京和山西的…) answers a question that names one of them
        return NOTE if len(entry.regions) == 1 else OTHER
    if not any(r in named for r in entry.regions):
        return OTHER
    if entry.city is None:
        return FITS
    # a city's rule: the question must name that city (or a place in it), or only the province
    inside = [p for p in places if p.province == entry.region and p.level != "province"]
    if not inside:
        return NOTE
    return FITS if any(entry.city in (p.short, p.city, p.prefecture) for p in inside) else OTHER
