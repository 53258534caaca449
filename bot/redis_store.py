"""`RedisStore`: the `StateStore` interface of bot/state.py kept in Redis under one key prefix.

Keys (``p`` is the prefix, ``yb:`` by default); nothing else is ever written:

==========================================  ==========  ==============================
key                                         type        lifetime
==========================================  ==========  ==============================
``{p}u:{user_id}``                          hash        no TTL (profile)
``{p}pending:{chat_id}:{user_id}``          JSON str    ``PENDING_TTL`` (set renews it)
``{p}ctx:{chat_id}:{user_id}``              JSON str    ``CONTEXT_TTL`` (set renews it)
``{p}g:{chat_id}``                          hash        no TTL (group settings)
``{p}unanswered``                           sorted set  member = what was understood, score = count
``{p}unanswered:ex:{key}``                  list        its latest example questions (5), JSON
                                                        ``{"q": question, "r": the bot's reply}``
``{p}unanswered:first``, ``…:last``         hash        key → unix time first / last seen
``{p}unanswered:recent``                    sorted set  member = key, score = unix time last seen
``{p}fb:{entry_id}``                        hash        user_id → ``up`` | ``down``
``{p}fb:entries``                           set         ids of entries that have votes
``{p}fb:ex:{entry_id}``                     list        latest votes with question and reply (20)
``{p}stats``                                hash        counter name → count
``{p}day:{YYYY-MM-DD}``                     hash        that day's counters and ``s:{subject}``
                                                        counts (``DAYS_KEPT`` days)
``{p}sub:all``                              set         chats subscribed to every update
``{p}sub:region:{province}``                set         chats subscribed to one province
``{p}sub:chat:{chat_id}``                   set         that chat's subscriptions (for /me)
``{p}updates``                              list        published updates, JSON, newest first
``{p}tmp:{name}``                           JSON str    its own TTL (broadcast previews, console
                                                        login links and sessions)
``{p}hit:{name}:{window}``                  counter     one throttling window (its length + 1 s)
==========================================  ==========  ==============================
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Self, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript

from bot.state import (
    ALL_UPDATES,
    CONTEXT_TTL,
    DAYS_KEPT,
    FEEDBACK_EXAMPLES,
    PENDING_TTL,
    REPLY_KEPT,
    SUBJECT_PREFIX,
    UNANSWERED_EXAMPLES,
    UNANSWERED_MAX_LEN,
    UPDATES_KEPT,
    VOTES,
    FeedbackExample,
    Turn,
    TurnResult,
    Unanswered,
    UnansweredGroup,
    day_of,
)

if TYPE_CHECKING:
    from bot.state import StateStore

# `{p}fb:entries` is the index set, so no entry may be called that (knowledge ids always contain
# a dot, see knowledge/loader.py ID_PATTERN, so real entries never are).
_FEEDBACK_INDEX = "entries"


def as_text(value: bytes | str) -> str:
    """A Redis reply as text, whether the client decodes responses or not."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _text_hash(raw: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {as_text(k): as_text(v) for k, v in raw.items()}


def _from_json(raw: bytes | str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) else None


def _to_json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# INCR, and on the window's first hit set its expiry (EVALSHA: one round trip, atomic)
_HIT = (
    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
)


# One unanswered question, in one round trip: count its group, put the example (JSON {"q", "r"})
# first in the group's list — an older example of the same question (JSON, or plain text as
# earlier versions kept it) is removed, the list trimmed — and note first and last seen.
# KEYS: groups zset, examples list, first hash, last hash, recent zset; ARGV: group key,
# question, record, examples kept, now.
_UNANSWERED = """
redis.call('ZINCRBY', KEYS[1], 1, ARGV[1])
for _, raw in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local question = raw
  local ok, record = pcall(cjson.decode, raw)
  if ok and type(record) == 'table' and type(record.q) == 'string' then question = record.q end
  if question == ARGV[2] then redis.call('LREM', KEYS[2], 0, raw) end
end
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[5])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
return 1
"""

# A turn's counters, in one round trip: the running total and the day's (kept DAYS_KEPT days).
# KEYS: stats hash, day hash; ARGV: seconds the day is kept, the turn's counter, then the
# day's further counters (subjects).
_COUNT = """
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
for i = 2, #ARGV do redis.call('HINCRBY', KEYS[2], ARGV[i], 1) end
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
"""


def _example(raw: bytes | str) -> tuple[str, str]:
    """(question, reply) of a kept example; a plain string (kept by earlier versions) has no reply."""
    text = as_text(raw)
    try:
        record = json.loads(text)
    except ValueError:
        return text, ""
    if isinstance(record, dict) and isinstance(record.get("q"), str):
        return record["q"], str(record.get("r") or "")
    return text, ""


class RedisStore:
    """Conversation state in Redis, with the semantics and TTLs of `MemoryStore`.

    Responses are decoded by this class, so the client may be created with either
    ``decode_responses=True`` or ``False`` (bytes are read as UTF-8); `from_url` creates one with
    ``decode_responses=True``. Pending clarifications and contexts are stored as JSON, so their
    values must be JSON-serialisable and come back as JSON types (tuples as lists, keys as str).

    `close` closes the client — also one passed in — as aiogram's ``RedisStorage.close`` does.
    """

    def __init__(self, redis: Redis, prefix: str = "yb:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._hit = redis.register_script(_HIT)
        self._unanswered = redis.register_script(_UNANSWERED)
        self._count = redis.register_script(_COUNT)

    @classmethod
    def from_url(cls, url: str, prefix: str = "yb:") -> Self:
        """A store with its own client for ``url`` (``redis://…``, ``rediss://…``, ``unix://…``)."""
        return cls(Redis.from_url(url, decode_responses=True), prefix)

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def redis(self) -> Redis:
        return self._redis

    async def close(self) -> None:
        await self._redis.aclose()

    # -- keys -----------------------------------------------------------------------------

    def _profile_key(self, user_id: int) -> str:
        return f"{self._prefix}u:{user_id}"

    def _pending_key(self, chat_id: int, user_id: int) -> str:
        return f"{self._prefix}pending:{chat_id}:{user_id}"

    def _context_key(self, chat_id: int, user_id: int) -> str:
        return f"{self._prefix}ctx:{chat_id}:{user_id}"

    def _group_key(self, chat_id: int) -> str:
        return f"{self._prefix}g:{chat_id}"

    def _unanswered_key(self) -> str:
        return f"{self._prefix}unanswered"

    def _feedback_key(self, entry_id: str) -> str:
        return f"{self._prefix}fb:{entry_id}"

    def _feedback_index_key(self) -> str:
        return f"{self._prefix}fb:{_FEEDBACK_INDEX}"

    def _stats_key(self) -> str:
        return f"{self._prefix}stats"

    # -- helpers --------------------------------------------------------------------------

    async def _get_hash(self, key: str) -> dict[str, str]:
        # redis-py types hash and set commands as `Awaitable[T] | T` (one signature for the sync
        # and the asyncio client); on redis.asyncio they are always awaitable.
        raw = await cast("Awaitable[dict[bytes | str, bytes | str]]", self._redis.hgetall(key))
        return _text_hash(raw)

    async def _update_hash(self, key: str, fields: dict[str, str]) -> None:
        if fields:  # HSET needs at least one field; an empty update changes nothing
            await cast("Awaitable[int]", self._redis.hset(key, mapping=fields))

    async def _get_json(self, key: str) -> dict[str, Any] | None:
        return _from_json(await self._redis.get(key))

    async def _set_json(self, key: str, value: dict[str, Any], ttl: int) -> None:
        await self._redis.set(key, _to_json(value), ex=ttl)

    # -- one message ----------------------------------------------------------------------

    async def load_turn(self, chat_id: int, user_id: int, group: bool) -> Turn:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._profile_key(user_id))
            pipe.get(self._pending_key(chat_id, user_id))
            pipe.get(self._context_key(chat_id, user_id))
            if group:
                pipe.hgetall(self._group_key(chat_id))
            replies = await pipe.execute()
        profile, pending, context = replies[:3]
        return Turn(
            _text_hash(profile),
            _from_json(pending),
            _from_json(context),
            _text_hash(replies[3]) if group else {},
        )

    async def save_turn(self, chat_id: int, user_id: int, result: TurnResult) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            if result.context is not None:
                pipe.set(self._context_key(chat_id, user_id), _to_json(result.context), ex=CONTEXT_TTL)
            if result.pending is not None:
                pipe.set(self._pending_key(chat_id, user_id), _to_json(result.pending), ex=PENDING_TTL)
            if result.unanswered is not None:
                self._queue_unanswered(pipe, result.unanswered)
            day = self._day_key(day_of(time.time()))
            counters = [result.stat, *(SUBJECT_PREFIX + subject for subject in result.subjects)]
            self._queue_script(pipe, self._count, [self._stats_key(), day], [DAYS_KEPT * 86400, *counters])
            await pipe.execute()

    def _day_key(self, day: str) -> str:
        return f"{self._prefix}day:{day}"

    async def daily_stats(self, days: list[str]) -> dict[str, dict[str, int]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(self._day_key(day))
            replies = await pipe.execute()
        return {
            day: {name: int(count) for name, count in _text_hash(raw).items()}
            for day, raw in zip(days, replies, strict=True)
            if raw
        }

    # -- profile --------------------------------------------------------------------------

    async def get_profile(self, user_id: int) -> dict[str, str]:
        return await self._get_hash(self._profile_key(user_id))

    async def update_profile(self, user_id: int, **fields: str) -> None:
        await self._update_hash(self._profile_key(user_id), fields)

    async def clear_profile(self, user_id: int, *fields: str) -> None:
        """Forget the whole profile, or only ``fields`` of it when any are named."""
        if fields:  # Redis drops the hash by itself when its last field goes
            await cast("Awaitable[int]", self._redis.hdel(self._profile_key(user_id), *fields))
        else:
            await self._redis.delete(self._profile_key(user_id))

    # -- pending clarification --------------------------------------------------------------

    async def get_pending(self, chat_id: int, user_id: int) -> dict[str, Any] | None:
        return await self._get_json(self._pending_key(chat_id, user_id))

    async def set_pending(self, chat_id: int, user_id: int, pending: dict[str, Any]) -> None:
        await self._set_json(self._pending_key(chat_id, user_id), pending, PENDING_TTL)

    async def clear_pending(self, chat_id: int, user_id: int) -> None:
        await self._redis.delete(self._pending_key(chat_id, user_id))

    # -- context of the last question ---------------------------------------------------------

    async def get_context(self, chat_id: int, user_id: int) -> dict[str, Any] | None:
        return await self._get_json(self._context_key(chat_id, user_id))

    async def set_context(self, chat_id: int, user_id: int, context: dict[str, Any]) -> None:
        await self._set_json(self._context_key(chat_id, user_id), context, CONTEXT_TTL)

    async def clear_context(self, chat_id: int, user_id: int) -> None:
        await self._redis.delete(self._context_key(chat_id, user_id))

    # -- group settings ---------------------------------------------------------------------

    async def get_group(self, chat_id: int) -> dict[str, str]:
        return await self._get_hash(self._group_key(chat_id))

    async def update_group(self, chat_id: int, **fields: str) -> None:
        await self._update_hash(self._group_key(chat_id), fields)

    # -- unanswered questions -----------------------------------------------------------------

    @staticmethod
    def _queue_script(pipe: Pipeline, script: AsyncScript, keys: list[str], args: list[Any]) -> None:
        pipe.scripts.add(script)  # type: ignore[arg-type]  # execute() loads it when missing
        pipe.evalsha(script.sha, len(keys), *keys, *args)

    def _queue_unanswered(self, pipe: Pipeline, item: Unanswered) -> None:
        groups = self._unanswered_key()
        keys = [groups, f"{groups}:ex:{item.key}", f"{groups}:first", f"{groups}:last", f"{groups}:recent"]
        # the same question again moves to the front, with the latest reply
        record = _to_json({"q": item.text, "r": item.reply[:REPLY_KEPT]})
        args = [item.key, item.text, record, UNANSWERED_EXAMPLES, f"{time.time():.3f}"]
        self._queue_script(pipe, self._unanswered, keys, args)

    async def record_unanswered(self, item: Unanswered) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            self._queue_unanswered(pipe, item)
            await pipe.execute()

    async def top_unanswered(self, limit: int = 10, *, recent: bool = False) -> list[UnansweredGroup]:
        if limit <= 0:  # as Counter.most_common(n) for n <= 0
            return []
        groups_key = self._unanswered_key()
        order = f"{groups_key}:recent" if recent else groups_key
        keys = [as_text(member) for member in await self._redis.zrevrange(order, 0, limit - 1)]
        if not keys:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.lrange(f"{groups_key}:ex:{key}", 0, -1)
            pipe.zmscore(groups_key, keys)
            pipe.hmget(f"{groups_key}:first", keys)
            pipe.hmget(f"{groups_key}:last", keys)
            replies = await pipe.execute()
        *examples, scores, firsts, lasts = replies
        groups = []
        for key, score, raw, first, last in zip(keys, scores, examples, firsts, lasts, strict=True):
            kept = [_example(item) for item in raw]
            groups.append(
                UnansweredGroup(
                    key,
                    int(score),
                    [q for q, _r in kept],
                    float(first or 0),
                    float(last or 0),
                    replies=[r for _q, r in kept],
                )
            )
        return groups

    # -- feedback -----------------------------------------------------------------------------

    async def record_feedback(
        self, entry_id: str, user_id: int, vote: str, question: str = "", reply: str = ""
    ) -> None:
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        if entry_id == _FEEDBACK_INDEX:
            raise ValueError(f"entry id {entry_id!r} is reserved by the feedback index key")
        example = {"v": vote, "q": question[:UNANSWERED_MAX_LEN], "r": reply[:REPLY_KEPT], "t": time.time()}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._feedback_key(entry_id), str(user_id), vote)
            pipe.sadd(self._feedback_index_key(), entry_id)
            pipe.lpush(self._feedback_examples_key(entry_id), _to_json(example))
            pipe.ltrim(self._feedback_examples_key(entry_id), 0, FEEDBACK_EXAMPLES - 1)
            await pipe.execute()

    def _feedback_examples_key(self, entry_id: str) -> str:
        return f"{self._prefix}fb:ex:{entry_id}"

    async def feedback_examples(self, entry_id: str) -> list[FeedbackExample]:
        raw = await cast(
            "Awaitable[list[Any]]", self._redis.lrange(self._feedback_examples_key(entry_id), 0, -1)
        )
        out = []
        for item in raw:
            record = json.loads(as_text(item))
            out.append(
                FeedbackExample(str(record["v"]), str(record["q"]), str(record["r"]), float(record["t"]))
            )
        return out

    async def feedback_summary(self, limit: int = 10) -> list[tuple[str, int, int]]:
        members = await cast("Awaitable[set[bytes | str]]", self._redis.smembers(self._feedback_index_key()))
        entry_ids = [as_text(m) for m in members]
        if not entry_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.hvals(self._feedback_key(entry_id))
            results: list[list[bytes | str]] = await pipe.execute()
        rows: list[tuple[str, int, int]] = []
        for entry_id, raw_votes in zip(entry_ids, results, strict=True):
            votes = [as_text(v) for v in raw_votes]
            rows.append((entry_id, votes.count("up"), votes.count("down")))
        rows.sort(key=lambda r: (-(r[1] + r[2]), r[0]))
        return rows[:limit]

    # -- counters -----------------------------------------------------------------------------

    async def incr_stat(self, name: str, amount: int = 1) -> None:
        await cast("Awaitable[int]", self._redis.hincrby(self._stats_key(), name, amount))

    async def get_stats(self) -> dict[str, int]:
        return {name: int(count) for name, count in (await self._get_hash(self._stats_key())).items()}

    async def hit(self, name: str, window: int) -> int:
        """A fixed window per `window` seconds: INCR, and the key expires with its window."""
        now = time.time()
        key = f"{self._prefix}hit:{name}:{int(now // window)}"
        return int(await self._hit(keys=[key], args=[window + 1]))  # one command, atomic

    # -- subscriptions and published updates --------------------------------------------------

    def _sub_key(self, subscription: str) -> str:
        if subscription == ALL_UPDATES:
            return f"{self._prefix}sub:all"
        return f"{self._prefix}sub:region:{subscription}"

    def _chat_subs_key(self, chat_id: int) -> str:
        return f"{self._prefix}sub:chat:{chat_id}"

    async def subscribe(self, chat_id: int, region: str | None) -> None:
        subscription = region or ALL_UPDATES
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(self._sub_key(subscription), chat_id)
            pipe.sadd(self._chat_subs_key(chat_id), subscription)
            await pipe.execute()

    async def unsubscribe(self, chat_id: int) -> None:
        subscriptions = await self.subscriptions(chat_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for subscription in subscriptions:
                pipe.srem(self._sub_key(subscription), chat_id)
            pipe.delete(self._chat_subs_key(chat_id))
            await pipe.execute()

    async def subscriptions(self, chat_id: int) -> list[str]:
        members = await cast("Awaitable[set[Any]]", self._redis.smembers(self._chat_subs_key(chat_id)))
        return sorted(as_text(m) for m in members)

    async def audience(self, region: str | None) -> list[int]:
        if region is None:
            keys = [k async for k in self._redis.scan_iter(match=f"{self._prefix}sub:region:*", count=500)]
            keys.append(self._sub_key(ALL_UPDATES))
        else:
            keys = [self._sub_key(ALL_UPDATES), self._sub_key(region)]
        members = await cast("Awaitable[set[Any]]", self._redis.sunion(keys))
        return sorted(int(as_text(m)) for m in members)

    async def subscriber_counts(self) -> dict[str, int]:
        keys = [k async for k in self._redis.scan_iter(match=f"{self._prefix}sub:region:*", count=500)]
        keys = [self._sub_key(ALL_UPDATES), *(as_text(k) for k in keys)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.scard(key)
            sizes = await pipe.execute()
        region_prefix = f"{self._prefix}sub:region:"
        return {
            ALL_UPDATES if key == keys[0] else key.removeprefix(region_prefix): int(size)
            for key, size in zip(keys, sizes, strict=True)
            if size
        }

    async def add_update(self, update: dict[str, Any]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self._updates_key(), json.dumps(update, ensure_ascii=False))
            pipe.ltrim(self._updates_key(), 0, UPDATES_KEPT - 1)
            await pipe.execute()

    async def recent_updates(self, limit: int = 20) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        raw = await cast("Awaitable[list[Any]]", self._redis.lrange(self._updates_key(), 0, limit - 1))
        return [json.loads(as_text(item)) for item in raw]

    async def set_ephemeral(self, name: str, value: dict[str, Any], ttl: int) -> None:
        await self._redis.set(f"{self._prefix}tmp:{name}", json.dumps(value, ensure_ascii=False), ex=ttl)

    async def get_ephemeral(self, name: str) -> dict[str, Any] | None:
        raw = await self._redis.get(f"{self._prefix}tmp:{name}")
        return None if raw is None else cast("dict[str, Any]", json.loads(as_text(raw)))

    async def drop_ephemeral(self, name: str) -> None:
        await self._redis.delete(f"{self._prefix}tmp:{name}")

    async def pop_ephemeral(self, name: str) -> dict[str, Any] | None:
        raw = await self._redis.getdel(f"{self._prefix}tmp:{name}")
        return None if raw is None else cast("dict[str, Any]", json.loads(as_text(raw)))

    def _updates_key(self) -> str:
        return f"{self._prefix}updates"


if TYPE_CHECKING:

    def _conforms(store: RedisStore) -> StateStore:  # mypy checks RedisStore against the Protocol
        return store
