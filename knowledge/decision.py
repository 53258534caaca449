"""What the engine returns: one `Decision` per message, with the reading and candidates that
led to it (so `python -m knowledge ask` and the operators can see why)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from knowledge.schema import Entry

if TYPE_CHECKING:
    from knowledge.answers import Verdict
    from knowledge.reading import Reading

# Why a question got no answer (Decision.decline):
OUTSIDE = "outside"  # a neighbouring topic we have no rules for (养老保险, 公积金 …)
UNKNOWN = "unknown"  # no subject of ours recognised
SUBJECT = "subject"  # the subject is known but no entry is about it in this shape
ASK = "ask"  # entries about the subject exist, none answers this kind of asking
PERSON = "person"  # the rule for the person named (退休人员, 学生 …) is not in our material
SCHEME = "scheme"  # the rule for the scheme named (职工医保 / 城乡居民医保) is not in our material
DETAIL = "detail"  # the question names something (白内障) the entries never mention
PLACE = "place"  # the answer exists for other places only
LOW = "low"  # an entry claims the parts but shares too little of the wording
DECLINES = (OUTSIDE, UNKNOWN, SUBJECT, ASK, PERSON, SCHEME, DETAIL, PLACE, LOW)


@dataclass(frozen=True, slots=True)
class Context:
    """What the previous question was about, for follow-ups such as 北京呢 / 那居民医保呢.
    Stored as a plain dict between messages (`asdict` / `from_dict`)."""

    query: str
    region: str | None = None
    scheme: str | None = None
    entry_id: str | None = None
    persons: tuple[str, ...] = ()  # the people the previous question named (the same asker)
    asks: tuple[str, ...] = ()  # what it asked
    regions: tuple[str, ...] = ()  # every province it named (北京 and 山西 in a comparison)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Context:
        """From what was stored (JSON turns tuples into lists; unknown or missing keys are
        tolerated, so a context saved by an older version still loads)."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known
        }
        return cls(**values)


@dataclass(slots=True)
class Candidate:
    entry: Entry
    score: float
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Decision:
    kind: str  # answer | clarify | not_found | smalltalk
    entry: Entry | None = None
    score: float = 0.0
    related: list[Entry] = field(default_factory=list)
    slot: str | None = None  # for clarify: "region" or "scheme"
    options: list[str] = field(default_factory=list)
    waiting: list[Entry] = field(default_factory=list)  # candidates waiting on the choice
    near: list[Entry] = field(default_factory=list)  # what we do have, for not_found
    candidates: list[Candidate] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)  # one per candidate, same order
    reading: Reading | None = None
    smalltalk: str | None = None  # greeting | thanks | bye
    region: str | None = None  # region used for the decision (from text or profile)
    scheme: str | None = None
    region_note: str | None = None  # set when the answer is for another region than the user's
    place_note: str | None = None  # first line of an answer whose place the user did not name
    context: Context | None = None  # what to remember for the next turn
    followup: bool = False
    decline: str | None = None  # why not_found (one of DECLINES); None for a topics list
    missing_region: str | None = None  # not_found because we have nothing for this region
    out_of_scope: str | None = None  # not_found because the question is about this other topic
    broad: str | None = None  # not_found: the question only names this broad subject (医保, 异地就医)
    details: tuple[str, ...] = ()  # for DETAIL: the words no entry about the subject mentions
    advice: str = ""  # where to ask instead, for a decline
    estimate: list[str] = field(default_factory=list)  # lines computed from the user's figures
