"""Conversation state behind one small async interface, with an in-process and a Redis store.

`MemoryStore` keeps everything in the process (console chat, tests, no REDIS_URL);
`RedisStore` (bot/redis_store.py) keeps the same things in Redis under one key prefix.
Profiles and group settings have no TTL; a pending clarification lives 10 minutes; the
context of the last question 30 minutes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

PENDING_TTL = 10 * 60
CONTEXT_TTL = 30 * 60
UNANSWERED_MAX_LEN = 200  # characters of a question kept for review
UNANSWERED_EXAMPLES = 5  # example questions kept per group of unanswered questions
VOTES = ("up", "down")
ALL_UPDATES = "全部"
UPDATES_KEPT = 200
FEEDBACK_EXAMPLES = 20  # questions kept per entry with the votes they led to
DAYS_KEPT = 40  # daily counters (the console charts the last 30 days)
CHINA = dt.timezone(dt.timedelta(hours=8), "CST")  # the users' day (China has one time zone, no DST)
REPLY_KEPT = 1500  # characters of a reply kept with the question that led to it
SUBJECT_PREFIX = "s:"  # daily counters of the subjects asked about: s:生育津贴


def day_of(when: float) -> str:
    """The users' calendar day of a unix time: 2026-12-02."""
    return dt.datetime.fromtimestamp(when, CHINA).date().isoformat()


def last_days(days: int, now: float | None = None) -> list[str]:
    """The last `days` calendar days, oldest first, today included."""
    today = dt.datetime.fromtimestamp(time.time() if now is None else now, CHINA).date()
    return [(today - dt.timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


@dataclass(frozen=True, slots=True)
class Turn:
    """What answering one message needs to know about its asker (one Redis round trip)."""

    profile: dict[str, str] = field(default_factory=dict)
    pending: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    group: dict[str, str] = field(default_factory=dict)  # empty in private chats
    degraded: bool = False  # the store could not be read: answer without any of it, and say so


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A question the bot could not answer, with what it understood of it (Reading.key:
    生育津贴 · 多久到账或生效 · 浙江) so that operators see groups, not loose strings."""

    question: str
    key: str
    reply: str = ""  # what the bot said to it

    @property
    def text(self) -> str:
        return self.question.strip()[:UNANSWERED_MAX_LEN]


@dataclass(frozen=True, slots=True)
class UnansweredGroup:
    key: str  # what was understood
    count: int
    examples: list[str]  # the latest questions of the group, newest first
    first_seen: float  # unix time
    last_seen: float
    replies: list[str] = field(default_factory=list)  # what the bot said to each example ("" unknown)


@dataclass(frozen=True, slots=True)
class FeedbackExample:
    """A vote on an answer, with the question that led to it and the reply shown."""

    vote: str
    question: str
    reply: str
    at: float


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What one reply changes (written in one Redis round trip)."""

    stat: str  # counter to increment: answered | clarified | not_found | broad
    context: dict[str, Any] | None = None  # the new follow-up context, when there is one
    pending: dict[str, Any] | None = None  # a clarification now waiting for an answer
    unanswered: Unanswered | None = None  # a question to keep for operators' review
    subjects: tuple[str, ...] = ()  # what the question was understood to be about (daily counts)


class StateStore(Protocol):
    # one message: everything it reads, then everything it writes, each in one go
    async def load_turn(self, chat_id: int, user_id: int, group: bool) -> Turn: ...
    async def save_turn(self, chat_id: int, user_id: int, result: TurnResult) -> None: ...
    # profile of a user: region (province short name), scheme, … — no TTL
    async def get_profile(self, user_id: int) -> dict[str, str]: ...
    async def update_profile(self, user_id: int, **fields: str) -> None: ...
    async def clear_profile(self, user_id: int, *fields: str) -> None: ...  # no fields: all
    # clarification waiting for an answer in one chat (TTL PENDING_TTL)
    async def get_pending(self, chat_id: int, user_id: int) -> dict[str, Any] | None: ...
    async def set_pending(self, chat_id: int, user_id: int, pending: dict[str, Any]) -> None: ...
    async def clear_pending(self, chat_id: int, user_id: int) -> None: ...
    # topic and slots of the last question, for follow-ups (TTL CONTEXT_TTL)
    async def get_context(self, chat_id: int, user_id: int) -> dict[str, Any] | None: ...
    async def set_context(self, chat_id: int, user_id: int, context: dict[str, Any]) -> None: ...
    async def clear_context(self, chat_id: int, user_id: int) -> None: ...
    # group settings (default region …) — no TTL
    async def get_group(self, chat_id: int) -> dict[str, str]: ...
    async def update_group(self, chat_id: int, **fields: str) -> None: ...
    # questions nobody could answer, grouped by what was understood, for operators to review
    async def record_unanswered(self, item: Unanswered) -> None: ...
    # the most asked groups, or (recent) the most recently asked
    async def top_unanswered(self, limit: int = 10, *, recent: bool = False) -> list[UnansweredGroup]: ...
    # 👍 / 👎 per entry, one vote per user (a new vote replaces the old one)
    # (with the question that led to the answer and the reply shown, when known)
    async def record_feedback(
        self, entry_id: str, user_id: int, vote: str, question: str = "", reply: str = ""
    ) -> None: ...
    async def feedback_summary(self, limit: int = 10) -> list[tuple[str, int, int]]: ...
    async def feedback_examples(self, entry_id: str) -> list[FeedbackExample]: ...  # newest first
    # counters for /stats
    async def incr_stat(self, name: str, amount: int = 1) -> None: ...
    async def get_stats(self) -> dict[str, int]: ...
    # per day (China time): each turn's stat and subjects (s:生育津贴), kept DAYS_KEPT days
    async def daily_stats(self, days: list[str]) -> dict[str, dict[str, int]]: ...
    # how many times `name` was hit in the current window of `window` seconds, this one included
    # (per-user throttling; in Redis it holds across replicas)
    async def hit(self, name: str, window: int) -> int: ...
    # subscriptions to policy updates: everything (region None) or one province (+ nationwide)
    async def subscribe(self, chat_id: int, region: str | None) -> None: ...
    async def unsubscribe(self, chat_id: int) -> None: ...
    async def subscriptions(self, chat_id: int) -> list[str]: ...  # ALL_UPDATES or provinces
    async def audience(self, region: str | None) -> list[int]: ...  # who gets an update for region
    async def subscriber_counts(self) -> dict[str, int]: ...  # ALL_UPDATES or province → chats
    # short-lived values by name (broadcast previews): get_ephemeral after ttl → None
    async def set_ephemeral(self, name: str, value: dict[str, Any], ttl: int) -> None: ...
    async def get_ephemeral(self, name: str) -> dict[str, Any] | None: ...
    async def pop_ephemeral(self, name: str) -> dict[str, Any] | None: ...  # read and delete, atomically
    async def drop_ephemeral(self, name: str) -> None: ...
    # published updates, newest first: {"id", "date", "region" (None = nationwide), "text"}
    async def add_update(self, update: dict[str, Any]) -> None: ...
    async def recent_updates(self, limit: int = 20) -> list[dict[str, Any]]: ...


class MemoryStore:
    """In-process state with the same TTLs as Redis; lost when the process exits."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._profiles: dict[int, dict[str, str]] = {}
        self._groups: dict[int, dict[str, str]] = {}
        self._expiring: dict[tuple[str, int, int], tuple[float, dict[str, Any]]] = {}
        self._unanswered: Counter[str] = Counter()
        self._examples: dict[str, list[tuple[str, str]]] = {}  # (question, reply)
        self._daily: dict[str, Counter[str]] = {}
        self._fb_examples: dict[str, list[FeedbackExample]] = {}
        self._seen: dict[str, tuple[float, float]] = {}
        self._feedback: dict[str, dict[int, str]] = {}
        self._stats: Counter[str] = Counter()
        self._subs: dict[int, set[str]] = {}
        self._updates: list[dict[str, Any]] = []
        self._hits: dict[str, tuple[int, int]] = {}

    def _get(self, kind: str, chat_id: int, user_id: int) -> dict[str, Any] | None:
        item = self._expiring.get((kind, chat_id, user_id))
        if item is None:
            return None
        expires, value = item
        if self._clock() >= expires:
            del self._expiring[(kind, chat_id, user_id)]
            return None
        return dict(value)

    def _set(self, kind: str, chat_id: int, user_id: int, value: dict[str, Any], ttl: float) -> None:
        self._expiring[(kind, chat_id, user_id)] = (self._clock() + ttl, dict(value))

    async def load_turn(self, chat_id: int, user_id: int, group: bool) -> Turn:
        return Turn(
            await self.get_profile(user_id),
            await self.get_pending(chat_id, user_id),
            await self.get_context(chat_id, user_id),
            await self.get_group(chat_id) if group else {},
        )

    async def save_turn(self, chat_id: int, user_id: int, result: TurnResult) -> None:
        if result.context is not None:
            await self.set_context(chat_id, user_id, result.context)
        if result.pending is not None:
            await self.set_pending(chat_id, user_id, result.pending)
        if result.unanswered is not None:
            await self.record_unanswered(result.unanswered)
        await self.incr_stat(result.stat)
        day = self._daily.setdefault(day_of(time.time()), Counter())
        day[result.stat] += 1
        for subject in result.subjects:
            day[SUBJECT_PREFIX + subject] += 1
        for old in sorted(self._daily)[:-DAYS_KEPT]:
            del self._daily[old]

    async def daily_stats(self, days: list[str]) -> dict[str, dict[str, int]]:
        return {d: dict(self._daily[d]) for d in days if d in self._daily}

    async def get_profile(self, user_id: int) -> dict[str, str]:
        return dict(self._profiles.get(user_id, {}))

    async def update_profile(self, user_id: int, **fields: str) -> None:
        self._profiles.setdefault(user_id, {}).update(fields)

    async def clear_profile(self, user_id: int, *fields: str) -> None:
        if not fields:
            self._profiles.pop(user_id, None)
            return
        profile = self._profiles.get(user_id, {})
        for name in fields:
            profile.pop(name, None)

    async def get_pending(self, chat_id: int, user_id: int) -> dict[str, Any] | None:
        return self._get("pending", chat_id, user_id)

    async def set_pending(self, chat_id: int, user_id: int, pending: dict[str, Any]) -> None:
        self._set("pending", chat_id, user_id, pending, PENDING_TTL)

    async def clear_pending(self, chat_id: int, user_id: int) -> None:
        self._expiring.pop(("pending", chat_id, user_id), None)

    async def get_context(self, chat_id: int, user_id: int) -> dict[str, Any] | None:
        return self._get("ctx", chat_id, user_id)

    async def set_context(self, chat_id: int, user_id: int, context: dict[str, Any]) -> None:
        self._set("ctx", chat_id, user_id, context, CONTEXT_TTL)

    async def clear_context(self, chat_id: int, user_id: int) -> None:
        self._expiring.pop(("ctx", chat_id, user_id), None)

    async def get_group(self, chat_id: int) -> dict[str, str]:
        return dict(self._groups.get(chat_id, {}))

    async def update_group(self, chat_id: int, **fields: str) -> None:
        self._groups.setdefault(chat_id, {}).update(fields)

    async def record_unanswered(self, item: Unanswered) -> None:
        now = time.time()
        self._unanswered[item.key] += 1
        examples = [e for e in self._examples.get(item.key, []) if e[0] != item.text]
        self._examples[item.key] = [(item.text, item.reply[:REPLY_KEPT]), *examples][:UNANSWERED_EXAMPLES]
        first = self._seen.get(item.key, (now, now))[0]
        self._seen[item.key] = (first, now)

    async def top_unanswered(self, limit: int = 10, *, recent: bool = False) -> list[UnansweredGroup]:
        if limit <= 0:
            return []
        if recent:
            keys = sorted(self._seen, key=lambda k: self._seen[k][1], reverse=True)[:limit]
        else:
            keys = [key for key, _count in self._unanswered.most_common(limit)]
        return [
            UnansweredGroup(
                key,
                self._unanswered[key],
                [q for q, _r in self._examples[key]],
                *self._seen[key],
                replies=[r for _q, r in self._examples[key]],
            )
            for key in keys
        ]

    async def record_feedback(
        self, entry_id: str, user_id: int, vote: str, question: str = "", reply: str = ""
    ) -> None:
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        self._feedback.setdefault(entry_id, {})[user_id] = vote
        example = FeedbackExample(vote, question[:UNANSWERED_MAX_LEN], reply[:REPLY_KEPT], time.time())
        kept = self._fb_examples.setdefault(entry_id, [])
        kept.insert(0, example)
        del kept[FEEDBACK_EXAMPLES:]

    async def feedback_examples(self, entry_id: str) -> list[FeedbackExample]:
        return list(self._fb_examples.get(entry_id, []))

    async def feedback_summary(self, limit: int = 10) -> list[tuple[str, int, int]]:
        rows = [
            (entry_id, sum(v == "up" for v in votes.values()), sum(v == "down" for v in votes.values()))
            for entry_id, votes in self._feedback.items()
        ]
        rows.sort(key=lambda r: (-(r[1] + r[2]), r[0]))
        return rows[:limit]

    async def incr_stat(self, name: str, amount: int = 1) -> None:
        self._stats[name] += amount

    async def get_stats(self) -> dict[str, int]:
        return dict(self._stats)

    async def hit(self, name: str, window: int) -> int:
        current = int(self._clock() // window)
        start, count = self._hits.get(name, (current, 0))
        count = count + 1 if start == current else 1
        self._hits[name] = (current, count)  # one window per name: the old one is replaced
        return count

    async def subscribe(self, chat_id: int, region: str | None) -> None:
        self._subs.setdefault(chat_id, set()).add(region or ALL_UPDATES)

    async def unsubscribe(self, chat_id: int) -> None:
        self._subs.pop(chat_id, None)

    async def subscriptions(self, chat_id: int) -> list[str]:
        return sorted(self._subs.get(chat_id, set()))

    async def audience(self, region: str | None) -> list[int]:
        return sorted(
            chat for chat, subs in self._subs.items() if region is None or subs & {ALL_UPDATES, region}
        )

    async def subscriber_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter(s for subs in self._subs.values() for s in subs)
        return dict(counts)

    async def set_ephemeral(self, name: str, value: dict[str, Any], ttl: int) -> None:
        self._set(f"tmp:{name}", 0, 0, value, ttl)

    async def get_ephemeral(self, name: str) -> dict[str, Any] | None:
        return self._get(f"tmp:{name}", 0, 0)

    async def drop_ephemeral(self, name: str) -> None:
        self._expiring.pop((f"tmp:{name}", 0, 0), None)

    async def pop_ephemeral(self, name: str) -> dict[str, Any] | None:
        value = self._get(f"tmp:{name}", 0, 0)
        self._expiring.pop((f"tmp:{name}", 0, 0), None)
        return value

    async def add_update(self, update: dict[str, Any]) -> None:
        self._updates.insert(0, dict(update))
        del self._updates[UPDATES_KEPT:]

    async def recent_updates(self, limit: int = 20) -> list[dict[str, Any]]:
        return [dict(u) for u in self._updates[:limit]]
