"""Read a question as parts: what it is about (subjects), what it asks about it (kinds of
asking), the place, the scheme and the person.

The vocabularies live in data files (`subjects.yaml`, `asks.yaml`, `persons.yaml`) and are
checked by `load_reading_vocabulary`, which returns (file, line, message) problems the way
`vocab.load_vocabulary` does. `Reader.read` turns normalised text into a `Reading`; the
engine then asks of each candidate entry whether it answers those parts (knowledge/answers.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.gazetteer import Gazetteer, Place
from knowledge.paths import data_dir
from knowledge.slots import EMPLOYEE, RESIDENT, Slots, extract_slots, scheme_words
from knowledge.tokenize import Tokenizer
from knowledge.yamlio import LINE_KEY, YamlError, load_yaml

SUBJECTS = "subjects.yaml"
ASKS = "asks.yaml"
PERSONS = "persons.yaml"
NEGATION = re.compile(r"(?:不|没有|没|未)[\u4e00-\u9fff]")
YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?=年|\D|$)")
SUBJECT_REF = "@"  # in a subject's word set: another subject that must be named too
CROSS_REGION_WORD = "异地"
COMPARE = "区别"  # the kind of asking that compares: two places named are then not care elsewhere
CARE_WORDS = (
    "医保",
    "社保",
    "参保",
    "卡",
    "报",
    "看",
    "就医",
    "住院",
    "门诊",
    "备案",
    "结算",
    "药",
    "医院",
    "刷",
)
DEFAULT_ADVICE = "医保问题可拨打 12393 全国医保服务热线，或咨询当地医保经办机构、“国家医保服务平台”App"

Term = tuple[str, ...]  # one word, or words that must all appear
Problems = list[tuple[str, int, str]]


@dataclass(frozen=True, slots=True)
class Subject:
    name: str
    terms: tuple[Term, ...]
    parent: str | None = None
    weak: bool = False
    outside: bool = False
    advice: str | None = None
    local: bool = False  # each province sets its figures
    instance: bool = False  # a kind of its parent (两病 of 慢特病), not an aspect of it


@dataclass(frozen=True, slots=True)
class AskKind:
    name: str
    label: str
    cues: tuple[re.Pattern[str], ...]
    weak_cues: tuple[re.Pattern[str], ...] = ()
    weak: bool = False  # counts only when nothing else is asked (能否)
    open: bool = False  # any entry about the subject answers it (规定)
    accepts: tuple[str, ...] = ()  # entry kinds that answer it; empty → its own name
    figure: bool = False  # asks for an amount, a ratio or a number of days

    def answered_by(self, entry_asks: frozenset[str]) -> bool:
        return self.open or bool(entry_asks & set(self.accepts or (self.name,)))


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class ReadingVocabulary:
    subjects: dict[str, Subject]
    asks: dict[str, AskKind]  # in cue order
    persons: dict[str, Person]

    @property
    def words(self) -> set[str]:
        """The one-word terms of subjects and persons: words to keep whole and to repair
        homophones towards (the parts of a word set, such as 个人交, are not words)."""
        terms = [t for s in self.subjects.values() for t in s.terms] + [
            t for p in self.persons.values() for t in p.terms
        ]
        return {term[0] for term in terms if len(term) == 1}

    def ancestors(self, name: str) -> list[str]:
        out: list[str] = []
        parent = self.subjects[name].parent if name in self.subjects else None
        while parent is not None and parent not in out:
            out.append(parent)
            parent = self.subjects[parent].parent if parent in self.subjects else None
        return out

    def family(self, name: str) -> set[str]:
        """The subject and every subject below it."""
        return {s for s in self.subjects if s == name or name in self.ancestors(s)}

    def advice(self, subjects: tuple[str, ...]) -> str:
        """Where to ask about these subjects: the first one (or ancestor) that says."""
        for name in subjects:
            for candidate in (name, *self.ancestors(name)):
                subject = self.subjects.get(candidate)
                if subject is not None and subject.advice:
                    return subject.advice
        return DEFAULT_ADVICE


@dataclass(frozen=True, slots=True)
class Reading:
    """What a question is understood to ask. All names come from the vocabularies."""

    text: str  # normalised question (after homophone repair)
    slots: Slots  # places and scheme; slots.topic_text is the text without places
    subjects: tuple[str, ...] = ()  # the narrowest subjects named, in-scope ones first
    background: tuple[str, ...] = ()  # weak subjects left out because others are named (交 in 交了医保住院…)
    outside: tuple[str, ...] = ()  # neighbouring topics named (养老保险 …)
    asks: tuple[str, ...] = ()  # kinds of asking, in the order of asks.yaml
    asks_any: bool = False  # only weak kinds were found: an entry covering one of them will do
    persons: tuple[str, ...] = ()
    details: tuple[str, ...] = ()  # words beyond subject, asking, place, scheme and person
    labels: dict[str, str] = field(default_factory=dict)  # ask name → label
    haystack: tuple[str, str] = ("", "")  # the topic text as typed and after synonyms
    named: tuple[str, ...] = ()  # every subject whose terms the text holds, broad ones too
    years: tuple[str, ...] = ()  # years the question names (2020年): the rule must be for one of them

    @property
    def regions(self) -> tuple[str, ...]:
        return self.slots.regions

    @property
    def places(self) -> tuple[Place, ...]:
        return self.slots.places

    @property
    def scheme(self) -> str | None:
        return self.slots.scheme

    @property
    def topic_text(self) -> str:
        return self.slots.topic_text

    @property
    def topic(self) -> str:
        """The text the parts were read from (the topic text, plus 异地 when the places named
        are apart): what a follow-up is read together with."""
        return self.haystack[0] or self.topic_text

    def parts(self) -> list[str]:
        """The parts as a user reads them back: 浙江杭州 · 生育津贴 · 多久到账或生效."""
        out: list[str] = []
        if self.places:
            # a city says its province too: 江苏南通, not 江苏、江苏南通
            cities = {p.province for p in self.places if p.level != "province"}
            shown = [p.label for p in self.places if p.level != "province" or p.province not in cities]
            out.append("、".join(dict.fromkeys(shown)))
        if self.scheme:
            out.append(self.scheme)
        out += list(self.persons)
        out += list(dict.fromkeys((*self.subjects, *self.outside)))
        out += [self.labels.get(a, a) for a in self.asks]
        return out

    @property
    def key(self) -> str:
        """How operators see the question grouped: subject · kind of asking · province."""
        asks = tuple(self.labels.get(a, a) for a in self.asks)
        return unanswered_key(tuple(dict.fromkeys((*self.subjects, *self.outside))), asks, self.regions)


NO_SUBJECT, NO_ASK, NO_PLACE = "（未识别主题）", "（未说明问什么）", "未说地区"
KEY_SEPARATOR = " · "


def unanswered_key(subjects: tuple[str, ...], asks: tuple[str, ...], regions: tuple[str, ...]) -> str:
    """生育津贴 · 多久到账或生效 · 浙江 — what a question was understood to be about."""
    subject = "、".join(subjects) or NO_SUBJECT
    return KEY_SEPARATOR.join((subject, "、".join(asks) or NO_ASK, "、".join(regions) or NO_PLACE))


def key_parts(key: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The subjects, kinds of asking (labels) and provinces of an `unanswered_key`; a part not
    understood is empty."""
    parts = key.split(KEY_SEPARATOR)
    if len(parts) != 3:
        return (), (), ()
    subject, asks, regions = parts
    return (
        tuple(subject.split("、")) if subject != NO_SUBJECT else (),
        tuple(asks.split("、")) if asks != NO_ASK else (),
        tuple(regions.split("、")) if regions != NO_PLACE else (),
    )


class Reader:
    """Finds the parts of a question with the vocabularies and the tokenizer's synonyms."""

    def __init__(
        self,
        vocabulary: ReadingVocabulary,
        tokenizer: Tokenizer,
        gazetteer: Gazetteer,
        generic_words: frozenset[str] = frozenset(),
    ) -> None:
        self.vocabulary = vocabulary
        self.tokenizer = tokenizer
        self.gazetteer = gazetteer
        self._generic = frozenset(tokenizer.canonical(w) for w in generic_words)
        self._labels = {a.name: a.label for a in vocabulary.asks.values()}
        # the subject terms sorted once by how they are matched (a question scans them all)
        self._typed_terms: list[tuple[str, Term]] = []  # neighbouring topics: as typed too
        self._words: list[tuple[str, str]] = []  # one-word terms
        self._sets: list[tuple[str, Term]] = []  # word sets
        self._refs: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []  # sets with '@subject'
        for name, subject in vocabulary.subjects.items():
            for term in subject.terms:
                refs = tuple(part[1:] for part in term if part.startswith(SUBJECT_REF))
                if refs:
                    self._refs.append((name, refs, tuple(p for p in term if not p.startswith(SUBJECT_REF))))
                    continue
                if subject.outside:
                    self._typed_terms.append((name, term))
                if len(term) > 1:
                    self._sets.append((name, term))
                else:
                    self._words.append((name, term[0]))

    # -- the parts ----------------------------------------------------------------------------
    def read(self, text: str, slots: Slots | None = None) -> Reading:
        """The reading of normalised text; `slots` when the caller has already cut the places
        (a follow-up merged with the previous question)."""
        slots = slots or extract_slots(text, self.gazetteer)
        topic = slots.topic_text
        asks, any_of, cue_text, rest = self._asks(topic)
        if slots.apart and any(w in topic for w in CARE_WORDS) and COMPARE not in asks:
            # two places apart in a question about insurance or care: care elsewhere (惠州医保在东莞用)
            topic = f"{topic} {CROSS_REGION_WORD}"
        words = self._canonical_words(topic)
        haystack = (topic, "".join(words))
        named, used_terms = self._named_subjects(haystack, self._word_edges(words))
        subjects, background = self._narrowest([s for s in named if not self.vocabulary.subjects[s].outside])
        outside = tuple(s for s in named if self.vocabulary.subjects[s].outside)
        persons, person_terms = self._named(haystack, self.vocabulary.persons.items())
        explained = (*used_terms, *person_terms, *cue_text, *scheme_words(topic))
        details = self._details(topic, explained) + self._negations(rest, used_terms)
        return Reading(
            text=text,
            slots=slots,
            subjects=subjects,
            background=background,
            outside=outside,
            asks=asks,
            asks_any=any_of,
            persons=tuple(persons),
            details=details,
            labels=self._labels,
            haystack=haystack,
            named=tuple(named),
            years=tuple(dict.fromkeys(YEAR.findall(topic))),
        )

    def is_scheme_subject(self, name: str) -> bool:
        """A subject named only by scheme words (险种: 职工医保, 城乡居民医保): in a follow-up
        (那居民医保能报多少) it changes the scheme, not the topic."""
        subject = self.vocabulary.subjects.get(name)
        return subject is not None and all(t in ((EMPLOYEE,), (RESIDENT,)) for t in subject.terms)

    def subjects_named(self, text: str) -> set[str]:
        """Every subject (broad ones too) whose terms a normalised text holds, in its words as
        written or after synonyms (an entry that says 产假工资 mentions 产假 and 生育津贴)."""
        named: set[str] = set()
        for words in (self.tokenizer.raw_words(text), self._canonical_words(text)):
            found, _used = self._named_subjects((text, "".join(words)), self._word_edges(words))
            named.update(found)
        return named

    def names(self, reading: Reading, item: str) -> bool:
        """Whether the question names `item`: a subject (or a narrower one), a person, or a word."""
        if item in self.vocabulary.subjects:
            return bool(self.vocabulary.family(item) & set(reading.named))
        if item in self.vocabulary.persons:
            return item in reading.persons
        return any(item in side for side in reading.haystack)

    def haystack(self, text: str) -> tuple[str, str]:
        """The text as typed (normalised) and its words after synonyms, joined: terms are
        looked for in both, so 外地 and 异地, 孩子 and 子女 both count."""
        return text, "".join(self._canonical_words(text))

    def _canonical_words(self, text: str) -> list[str]:
        return [self.tokenizer.canonical(w) for w in self.tokenizer.raw_words(text)]

    @staticmethod
    def _word_edges(words: list[str]) -> tuple[set[int], set[int]]:
        """Where words start and end in the joined text."""
        starts, ends, at = set(), set(), 0
        for word in words:
            starts.add(at)
            at += len(word)
            ends.add(at)
        return starts, ends

    @staticmethod
    def has_term(term: Term, haystack: tuple[str, ...]) -> bool:
        return all(any(part in side for side in haystack) for part in term)

    def _named(self, haystack: tuple[str, ...], items: Any) -> tuple[list[str], list[str]]:
        names: list[str] = []
        used: list[str] = []
        for name, thing in items:
            hits = [t for t in thing.terms if self.has_term(t, haystack)]
            if hits:
                names.append(name)
                used += [part for term in hits for part in term]
        return names, used

    def _named_subjects(
        self, haystack: tuple[str, str], edges: tuple[set[int], set[int]]
    ) -> tuple[list[str], list[str]]:
        """Subjects whose terms the text holds. A one-word term counts where a word starts or
        ends (村医 is not in 农村医疗; 津贴 is in 生育津贴), and not inside a longer term of
        another subject (办医保 inside 办医保卡); a set with '@name' needs that subject named
        (['@个人账户', 家人])."""
        starts, ends = edges
        typed, canonical = haystack
        spans: list[tuple[int, int, str]] = []
        hits: dict[str, list[str]] = {}
        for name, term in self._typed_terms:
            if all(part in typed for part in term):
                hits.setdefault(name, []).extend(term)
        for name, term in self._sets:
            if all(part in canonical for part in term):
                hits.setdefault(name, []).extend(term)
        for name, word in self._words:
            start = canonical.find(word)
            while start >= 0:
                if start in starts or start + len(word) in ends:
                    spans.append((start, start + len(word), name))
                start = canonical.find(word, start + 1)
        for start, end, name in spans:
            inside = any(
                s <= start and end <= e and e - s > end - start and other != name for s, e, other in spans
            )
            if not inside:
                hits.setdefault(name, []).append(canonical[start:end])
        for name, refs, words in self._refs:
            if all(r in hits for r in refs) and all(w in canonical for w in words):
                hits.setdefault(name, []).extend(words)
        names = [name for name in self.vocabulary.subjects if name in hits]
        return names, [word for name in names for word in hits[name]]

    def _narrowest(self, named: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The subjects asked about: a subject goes when a narrower one is named too, and weak
        ones when others are; those that went are returned second, as background (an entry
        may still cover a kind of asking through them: 医保怎么交 in 安徽缴费基数是多少)."""
        covered = {a for s in named for a in self.vocabulary.ancestors(s)}
        narrow = [s for s in named if s not in covered]
        strong = [s for s in narrow if not self.vocabulary.subjects[s].weak]
        if not strong:
            return tuple(narrow), tuple(s for s in named if s not in narrow)
        return tuple(strong), tuple(s for s in named if s not in strong)

    def _asks(self, text: str) -> tuple[tuple[str, ...], bool, list[str], str]:
        """Kinds of asking in cue order (a cue uses up the text it matched); whether they are
        only weak ones, any of which will do; the text the cues matched; and what is left."""
        rest = text
        strong: list[str] = []
        weak: list[str] = []
        matched: list[str] = []
        for kind in self.vocabulary.asks.values():
            found = False
            for cue in kind.cues:
                if cue.search(rest):
                    matched += [m.group(0) for m in cue.finditer(rest)]
                    rest = cue.sub(" ", rest)
                    found = True
            if found:
                (weak if kind.weak else strong).append(kind.name)
                continue
            for cue in kind.weak_cues:
                if cue.search(rest):
                    matched += [m.group(0) for m in cue.finditer(rest)]
                    rest = cue.sub(" ", rest)
                    weak.append(kind.name)
                    break
        if strong:
            return tuple(strong), False, matched, rest
        return tuple(dict.fromkeys(weak)), True, matched, rest

    def _negations(self, rest: str, terms: list[str]) -> tuple[str, ...]:
        """A subject's own action negated, once the kinds of asking are cut out (单位不发钱:
        发 is what names 生育津贴发放): a problem the asker has, which an entry must speak of to
        answer (生育津贴是一次性发还是按月发 does not answer 单位不发钱怎么办)."""
        actions = {part for part in terms if len(part) == 1}
        found = [m.group(0) for m in NEGATION.finditer(rest) if m.group(0)[-1] in actions]
        return tuple(dict.fromkeys(found))

    def _details(self, text: str, explained: tuple[str, ...]) -> tuple[str, ...]:
        """Words of the question that none of the parts explain: what an entry must also
        speak of to answer it (白内障 in 抚顺白内障手术能报吗)."""
        out: list[str] = []
        for word in self.tokenizer.content_words(text):
            if word in self._generic or word.isdigit() or len(word) < 2:
                continue
            if any(word in part or part in word for part in explained if part):
                continue
            if word not in out:
                out.append(word)
        return tuple(out)


# -- loading and checking ---------------------------------------------------------------------
def _terms(raw: Any) -> tuple[Term, ...] | None:
    if not isinstance(raw, list) or not raw:
        return None
    out: list[Term] = []
    for item in raw:
        parts = item if isinstance(item, list) else [item]
        if not parts or not all(isinstance(p, str | int) and str(p).strip() for p in parts):
            return None
        out.append(tuple(str(p).strip().lower() for p in parts))
    return tuple(out)


def _items(path: Path, key: str, problems: Problems) -> list[dict[str, Any]]:
    try:
        doc = load_yaml(path) or {}
    except (OSError, YamlError) as exc:
        problems.append((str(path), getattr(exc, "line", 1), str(exc)))
        return []
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        problems.append((str(path), 1, f"`{key}` must be a non-empty list"))
        return []
    good = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            line = item.get(LINE_KEY, 1) if isinstance(item, dict) else 1
            problems.append((str(path), line, "each item needs a `name`"))
            continue
        good.append(item)
    return good


def _unknown_fields(item: dict[str, Any], allowed: set[str], where: str, problems: Problems) -> None:
    extra = sorted(set(item) - allowed - {LINE_KEY})
    if extra:
        problems.append(
            (where, item.get(LINE_KEY, 1), f"{item['name']}: unknown field(s) {', '.join(extra)}")
        )


def _load_subjects(path: Path, problems: Problems, synonyms: dict[str, str]) -> dict[str, Subject]:
    subjects: dict[str, Subject] = {}
    lines: dict[str, int] = {}
    for item in _items(path, "subjects", problems):
        name, line = str(item["name"]).strip(), int(item.get(LINE_KEY, 1))
        allowed = {"name", "terms", "parent", "weak", "outside", "advice", "local", "instance"}
        _unknown_fields(item, allowed, str(path), problems)
        terms = _terms(item.get("terms"))
        if terms is None:
            problems.append(
                (str(path), line, f"{name}: `terms` must be a non-empty list of words or word lists")
            )
            continue
        if name in subjects:
            problems.append((str(path), line, f"duplicate subject {name!r} (first at line {lines[name]})"))
            continue
        parent = item.get("parent")
        advice = item.get("advice")
        if advice is not None and (not isinstance(advice, str) or not advice.strip()):
            problems.append((str(path), line, f"{name}: `advice` must be text"))
            advice = None
        subjects[name] = Subject(
            name,
            terms,
            str(parent).strip() if parent is not None else None,
            bool(item.get("weak", False)),
            bool(item.get("outside", False)),
            advice,
            bool(item.get("local", False)),
            bool(item.get("instance", False)),
        )
        lines[name] = line
    for name, subject in subjects.items():
        for term in subject.terms:
            for part in term:
                if part.startswith(SUBJECT_REF) and part[1:] not in subjects:
                    problems.append((str(path), lines[name], f"{name}: {part!r} names no subject"))
                elif part in synonyms and not subject.outside:
                    # terms are looked for after synonyms: a variant never appears there
                    canonical = synonyms[part]
                    problems.append(
                        (
                            str(path),
                            lines[name],
                            f"{name}: {part!r} is written {canonical} after synonyms.yaml",
                        )
                    )
    for name, subject in subjects.items():
        if subject.parent is None:
            continue
        if subject.parent not in subjects:
            problems.append((str(path), lines[name], f"{name}: unknown parent {subject.parent!r}"))
            continue
        seen, parent = {name}, subject.parent
        while parent is not None and parent in subjects:
            if parent in seen:
                problems.append((str(path), lines[name], f"{name}: parents form a cycle"))
                break
            seen.add(parent)
            parent = subjects[parent].parent
    return subjects


def _patterns(raw: Any, where: str, line: int, name: str, problems: Problems) -> tuple[re.Pattern[str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        problems.append((where, line, f"{name}: cues must be a list of regular expressions"))
        return ()
    out = []
    for pattern in raw:
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            problems.append((where, line, f"{name}: bad regular expression {pattern!r}: {exc}"))
    return tuple(out)


def _load_asks(path: Path, problems: Problems) -> dict[str, AskKind]:
    asks: dict[str, AskKind] = {}
    for item in _items(path, "asks", problems):
        name, line = str(item["name"]).strip(), int(item.get(LINE_KEY, 1))
        where = str(path)
        allowed = {"name", "label", "cues", "weak_cues", "weak", "open", "accepts", "figure"}
        _unknown_fields(item, allowed, where, problems)
        if name in asks:
            problems.append((where, line, f"duplicate kind of asking {name!r}"))
            continue
        label = item.get("label")
        if not isinstance(label, str) or not label.strip():
            problems.append((where, line, f"{name}: `label` must be text"))
            label = name
        cues = _patterns(item.get("cues"), where, line, name, problems)
        if not cues:
            problems.append((where, line, f"{name}: needs at least one cue"))
        accepts = item.get("accepts") or []
        if not isinstance(accepts, list) or not all(isinstance(a, str) for a in accepts):
            problems.append((where, line, f"{name}: `accepts` must be a list of kind names"))
            accepts = []
        asks[name] = AskKind(
            name,
            label.strip(),
            cues,
            _patterns(item.get("weak_cues"), where, line, name, problems),
            bool(item.get("weak", False)),
            bool(item.get("open", False)),
            tuple(accepts),
            bool(item.get("figure", False)),
        )
    for kind in asks.values():
        for other in kind.accepts:
            if other not in asks:
                problems.append((str(path), 1, f"{kind.name}: accepts unknown kind {other!r}"))
    return asks


def _load_persons(path: Path, problems: Problems) -> dict[str, Person]:
    persons: dict[str, Person] = {}
    for item in _items(path, "persons", problems):
        name, line = str(item["name"]).strip(), int(item.get(LINE_KEY, 1))
        _unknown_fields(item, {"name", "terms"}, str(path), problems)
        terms = _terms(item.get("terms"))
        if terms is None:
            problems.append(
                (str(path), line, f"{name}: `terms` must be a non-empty list of words or word lists")
            )
        elif name in persons:
            problems.append((str(path), line, f"duplicate person {name!r}"))
        else:
            persons[name] = Person(name, terms)
    return persons


def load_reading_vocabulary(
    directory: Path | str | None = None, synonyms: dict[str, str] | None = None
) -> tuple[ReadingVocabulary, Problems]:
    """The three vocabularies and their problems; with `synonyms` (variant → canonical) a
    subject term written as a variant is one of them."""
    base = data_dir(directory)
    problems: Problems = []
    vocabulary = ReadingVocabulary(
        _load_subjects(base / SUBJECTS, problems, synonyms or {}),
        _load_asks(base / ASKS, problems),
        _load_persons(base / PERSONS, problems),
    )
    return vocabulary, problems
