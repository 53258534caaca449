"""Typed records for the knowledge base and the closed vocabularies they use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

NATIONWIDE = "全国"
# A province the source does not name (the "省医保" page states one province's figures
# without saying which): such a rule never answers a question that names a province.
UNNAMED_PROVINCE = "某省"

# Schemes an entry can apply to. 全部 means "whatever scheme the user has".
SCHEMES: tuple[str, ...] = (
    "职工医保",
    "城乡居民医保",
    "生育保险",
    "大病保险",
    "灵活就业",
    "长期护理保险",
    "补充医疗保险",
    "全部",
)
ALL_SCHEMES = "全部"

# Topic names, one data file each (the file stem is the id prefix of its entries).
TOPICS: dict[str, str] = {
    "shengyu": "生育",
    "yidi": "异地就医",
    "zhanghu": "个人账户与家庭共济",
    "ka": "医保卡/社保卡",
    "jiaofei": "缴费与参保",
    "daiyu": "待遇与报销",
    "manbing": "慢特病",
    "dingdian": "定点机构",
    "shengyibao": "省医保与市医保",
}

MIN_ALTERNATES = 3


@dataclass(frozen=True, slots=True)
class Entry:
    """One curated question with its answer and where it applies."""

    id: str
    topic: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    regions: tuple[str, ...]  # (全国,), (某省,) or province short names; a comparison names several
    city: str | None
    schemes: tuple[str, ...]
    tags: tuple[str, ...]
    source: str
    date: dt.date
    # what the answer answers: subject (data/subjects.yaml) → kinds of asking (data/asks.yaml)
    answers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    requires: tuple[str, ...] = ()  # the question must name one of these (subject, person or word)
    persons: tuple[str, ...] = ()  # only for these people (data/persons.yaml); empty → anyone
    related: tuple[str, ...] = ()
    group: str | None = None
    conflicts: tuple[str, ...] = ()
    estimate: str | None = None  # name of an estimator in knowledge/estimate.py (ESTIMATORS)
    file: str = ""
    line: int = 0
    # `answers` read once (each question judges a dozen entries, each several times)
    _asks: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_asks", {s: frozenset(asks) for s, asks in self.answers})

    @property
    def region(self) -> str:
        """The main region (the first one named)."""
        return self.regions[0]

    @property
    def is_nationwide(self) -> bool:
        return self.region == NATIONWIDE

    @property
    def subjects(self) -> tuple[str, ...]:
        """The subjects the answer is about (the keys of `answers`), in their order."""
        return tuple(self._asks)

    def is_about(self, subject: str) -> bool:
        return subject in self._asks

    def asks_about(self, subject: str) -> frozenset[str]:
        """The kinds of asking the answer covers for this subject."""
        return self._asks.get(subject, frozenset())

    @property
    def is_unnamed_province(self) -> bool:
        return self.region == UNNAMED_PROVINCE

    def applies_to(self, region: str | None) -> bool:
        """True when the rule is stated for this province."""
        return region is not None and region in self.regions

    @property
    def where(self) -> str:
        """Human-readable place the rule applies to, e.g. 河南郑州, 北京、山西 or 全国."""
        if self.city and self.city != self.region:
            return f"{self.region}{self.city}"
        if self.is_unnamed_province:
            return "某省（资料未写明哪个省）"
        return "、".join(self.regions)


@dataclass(slots=True)
class KnowledgeBase:
    """All entries, indexed by id, in file order."""

    entries: list[Entry] = field(default_factory=list)
    by_id: dict[str, Entry] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.by_id[entry.id] = entry

    def __len__(self) -> int:
        return len(self.entries)

    def related(self, entry: Entry) -> list[Entry]:
        return [self.by_id[r] for r in entry.related if r in self.by_id]
