"""What the console pages show, read from the state store and the change log (no HTML here)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.state import ALL_UPDATES, SUBJECT_PREFIX, FeedbackExample, StateStore, UnansweredGroup, last_days
from knowledge.engine import Engine
from knowledge.overlay import Change, active
from knowledge.reading import key_parts

MAX_GROUPS = 1000  # unanswered groups read for the list: this many most asked, this many latest
OVERVIEW_DAYS = 30
DECLINED = ("not_found", "broad")  # a topics list is not an answer either


@dataclass(frozen=True, slots=True)
class GroupRow:
    group: UnansweredGroup
    subjects: tuple[str, ...]
    asks: tuple[str, ...]
    places: tuple[str, ...]
    handled_by: Change | None  # the change that dealt with it since it was last asked

    @property
    def key(self) -> str:
        return self.group.key

    @property
    def open(self) -> bool:
        return self.handled_by is None

    @property
    def examples(self) -> list[tuple[str, str]]:
        replies = self.group.replies + [""] * (len(self.group.examples) - len(self.group.replies))
        return list(zip(self.group.examples, replies, strict=False))


def handled(changes: list[Change]) -> dict[str, Change]:
    """Group key → the latest change in force made from that group."""
    out: dict[str, Change] = {}
    for change in active(changes):
        if change.group:
            out[change.group] = change
    return out


async def unanswered_rows(store: StateStore, changes: list[Change]) -> list[GroupRow]:
    done = handled(changes)
    rows = []
    # the most asked and the most recent: a new group asked once is listed however many there are
    by_count = await store.top_unanswered(MAX_GROUPS)
    listed = {g.key for g in by_count}
    latest = [g for g in await store.top_unanswered(MAX_GROUPS, recent=True) if g.key not in listed]
    for group in by_count + latest:
        subjects, asks, places = key_parts(group.key)
        change = done.get(group.key)
        # asked again after it was dealt with: open again
        by = change if change is not None and change.at >= group.last_seen else None
        rows.append(GroupRow(group, subjects, asks, places, by))
    return rows


def filter_rows(
    rows: list[GroupRow],
    *,
    subject: str = "",
    place: str = "",
    days: int | None = None,
    status: str = "open",
    sort: str = "count",
    now: float | None = None,
) -> list[GroupRow]:
    since = (time.time() if now is None else now) - days * 86400 if days else None
    out = [
        r
        for r in rows
        if (not subject or subject in r.subjects or (subject == "-" and not r.subjects))
        and (not place or place in r.places or (place == "-" and not r.places))
        and (since is None or r.group.last_seen >= since)
        and (status == "all" or (status == "open") == r.open)
    ]
    if sort == "recent":
        out.sort(key=lambda r: -r.group.last_seen)
    else:
        out.sort(key=lambda r: (-r.group.count, -r.group.last_seen))
    return out


@dataclass(frozen=True, slots=True)
class Overview:
    days: list[str]
    answered: list[int]
    declined: list[int]
    clarified: list[int]
    subjects: list[tuple[str, int]]  # most asked first

    @property
    def total_answered(self) -> int:
        return sum(self.answered)

    @property
    def total_declined(self) -> int:
        return sum(self.declined)

    @property
    def share_answered(self) -> float | None:
        """Answered among questions that got an answer or a decline (a clarification is
        followed by one of them)."""
        total = self.total_answered + self.total_declined
        return self.total_answered / total if total else None


async def overview(store: StateStore, now: float | None = None) -> Overview:
    days = last_days(OVERVIEW_DAYS, now)
    daily = await store.daily_stats(days)
    subjects: dict[str, int] = {}
    for counts in daily.values():
        for name, count in counts.items():
            if name.startswith(SUBJECT_PREFIX):
                subjects[name[len(SUBJECT_PREFIX) :]] = subjects.get(name[len(SUBJECT_PREFIX) :], 0) + count
    return Overview(
        days,
        [daily.get(d, {}).get("answered", 0) for d in days],
        [sum(daily.get(d, {}).get(k, 0) for k in DECLINED) for d in days],
        [daily.get(d, {}).get("clarified", 0) for d in days],
        sorted(subjects.items(), key=lambda kv: (-kv[1], kv[0])),
    )


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    entry_id: str
    question: str  # the entry's own question ("" when it no longer exists)
    up: int
    down: int
    examples: list[FeedbackExample] = field(default_factory=list)  # the 👎 ones, newest first


async def feedback_rows(store: StateStore, engine: Engine, limit: int = 100) -> list[FeedbackRow]:
    rows = []
    for entry_id, up, down in await store.feedback_summary(limit):
        if not down:
            continue
        entry = engine.kb.by_id.get(entry_id)
        examples = [e for e in await store.feedback_examples(entry_id) if e.vote == "down"]
        rows.append(FeedbackRow(entry_id, entry.question if entry else "", up, down, examples))
    rows.sort(key=lambda r: (-r.down, r.entry_id))
    return rows


async def subscribers(store: StateStore) -> list[tuple[str, int]]:
    counts = await store.subscriber_counts()
    everything = counts.pop(ALL_UPDATES, 0)
    return [(ALL_UPDATES, everything), *sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
