"""One contract for both state stores: every test runs against `MemoryStore` and `RedisStore`.

The Redis store talks to a real server (tests/conftest.py `redis_url`) under a key prefix of the
test's own (`redis_prefix`, whose keys are deleted afterwards; no database is ever flushed).
Expiry is checked with a fake clock for `MemoryStore` and through the keys' PTTL for Redis.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.redis_store import RedisStore
from bot.state import (
    CONTEXT_TTL,
    DAYS_KEPT,
    PENDING_TTL,
    UNANSWERED_EXAMPLES,
    UNANSWERED_MAX_LEN,
    MemoryStore,
    StateStore,
    Turn,
    TurnResult,
    Unanswered,
    UnansweredGroup,
    day_of,
    last_days,
)
from tests.redis_server import PrivateRedis


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Backend:
    """What a test may need besides the store: the fake clock, or the raw Redis client."""

    kind: str = ""
    clock: FakeClock = field(default_factory=FakeClock)
    raw: Redis | None = None  # decode_responses=True, for looking at keys directly
    prefix: str = ""

    def key(self, suffix: str) -> str:
        return self.prefix + suffix

    async def pttl(self, suffix: str) -> int:
        assert self.raw is not None
        return int(await self.raw.pttl(self.key(suffix)))


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, backend: Backend) -> AsyncIterator[StateStore]:
    backend.kind = request.param
    if request.param == "memory":
        yield MemoryStore(clock=backend.clock)
        return
    # only the Redis half of the suite asks for a server
    url: str = request.getfixturevalue("redis_url")
    backend.prefix = request.getfixturevalue("redis_prefix")
    backend.raw = Redis.from_url(url, decode_responses=True)
    redis_store = RedisStore.from_url(url, backend.prefix)
    try:
        yield redis_store
    finally:
        await redis_store.close()
        await backend.raw.aclose()


# -- profile ----------------------------------------------------------------------------------


async def test_profile_update_merges_and_clear_forgets(store: StateStore, backend: Backend) -> None:
    assert await store.get_profile(1) == {}
    await store.update_profile(1, region="北京")
    await store.update_profile(1, scheme="职工")
    assert await store.get_profile(1) == {"region": "北京", "scheme": "职工"}
    await store.update_profile(1, region="上海")
    assert await store.get_profile(1) == {"region": "上海", "scheme": "职工"}
    assert await store.get_profile(2) == {}

    got = await store.get_profile(1)
    got["region"] = "广东"  # a copy: changing it changes nothing stored
    assert (await store.get_profile(1))["region"] == "上海"

    if backend.kind == "redis":
        assert await backend.pttl("u:1") == -1  # no TTL

    await store.clear_profile(1)
    assert await store.get_profile(1) == {}
    await store.clear_profile(1)  # clearing nothing is fine
    await store.clear_profile(99)


async def test_profile_clear_some_fields(store: StateStore) -> None:
    await store.update_profile(1, region="北京", scheme="职工", city="海淀")
    await store.clear_profile(1, "scheme", "missing")
    assert await store.get_profile(1) == {"region": "北京", "city": "海淀"}
    await store.clear_profile(1, "region", "city")
    assert await store.get_profile(1) == {}
    await store.clear_profile(2, "region")  # no profile at all
    assert await store.get_profile(2) == {}


async def test_profile_update_without_fields_changes_nothing(store: StateStore) -> None:
    await store.update_profile(1)
    assert await store.get_profile(1) == {}
    await store.update_profile(2, region="北京")
    await store.update_profile(2)
    assert await store.get_profile(2) == {"region": "北京"}


# -- pending clarification and context (same shape, different TTL) ------------------------------


@dataclass(frozen=True)
class Expiring:
    name: str
    key: str  # key under the prefix, with {chat} and {user}
    ttl: int

    def get(self, store: StateStore) -> Callable[[int, int], Awaitable[dict[str, Any] | None]]:
        return getattr(store, f"get_{self.name}")  # type: ignore[no-any-return]

    def set(self, store: StateStore) -> Callable[[int, int, dict[str, Any]], Awaitable[None]]:
        return getattr(store, f"set_{self.name}")  # type: ignore[no-any-return]

    def clear(self, store: StateStore) -> Callable[[int, int], Awaitable[None]]:
        return getattr(store, f"clear_{self.name}")  # type: ignore[no-any-return]


PENDING = Expiring("pending", "pending:{chat}:{user}", PENDING_TTL)
CONTEXT = Expiring("context", "ctx:{chat}:{user}", CONTEXT_TTL)
EXPIRING = pytest.mark.parametrize("kind", [PENDING, CONTEXT], ids=lambda k: k.name)

VALUE: dict[str, Any] = {
    "slot": "region",
    "waiting": ["outpatient.beijing", "outpatient.shanghai-2024"],
    "question": "门诊报销比例是多少？",
    "query": "门诊 报销",
    "region": None,
    "count": 3,
}


@EXPIRING
async def test_expiring_set_get_clear(store: StateStore, kind: Expiring) -> None:
    get, set_, clear = kind.get(store), kind.set(store), kind.clear(store)
    assert await get(-100, 7) is None
    await set_(-100, 7, VALUE)
    assert await get(-100, 7) == VALUE
    assert await get(-100, 8) is None  # another user in the same chat
    assert await get(-200, 7) is None  # the same user in another chat

    got = await get(-100, 7)
    assert got is not None
    got["slot"] = "scheme"  # a copy
    assert await get(-100, 7) == VALUE

    await set_(-100, 7, {"slot": "scheme"})  # replaces, does not merge
    assert await get(-100, 7) == {"slot": "scheme"}

    await clear(-100, 7)
    assert await get(-100, 7) is None
    await clear(-100, 7)  # clearing nothing is fine


async def test_pending_and_context_are_separate(store: StateStore) -> None:
    await store.set_pending(1, 2, {"slot": "region"})
    assert await store.get_context(1, 2) is None
    await store.set_context(1, 2, {"query": "门诊"})
    await store.clear_pending(1, 2)
    assert await store.get_context(1, 2) == {"query": "门诊"}
    assert await store.get_pending(1, 2) is None


@EXPIRING
async def test_expiring_lives_its_ttl(store: StateStore, backend: Backend, kind: Expiring) -> None:
    get, set_ = kind.get(store), kind.set(store)
    await set_(5, 6, VALUE)
    if backend.kind == "memory":
        backend.clock.advance(kind.ttl - 1)
        assert await get(5, 6) == VALUE
        backend.clock.advance(1)
        assert await get(5, 6) is None
    else:
        assert 0 < await backend.pttl(kind.key.format(chat=5, user=6)) <= kind.ttl * 1000


@EXPIRING
async def test_expiring_set_again_renews_ttl(store: StateStore, backend: Backend, kind: Expiring) -> None:
    get, set_ = kind.get(store), kind.set(store)
    await set_(5, 6, VALUE)
    if backend.kind == "memory":
        backend.clock.advance(kind.ttl - 1)
        await set_(5, 6, {"again": True})
        backend.clock.advance(kind.ttl - 1)
        assert await get(5, 6) == {"again": True}
        backend.clock.advance(1)
        assert await get(5, 6) is None
    else:
        assert backend.raw is not None
        key = kind.key.format(chat=5, user=6)
        await backend.raw.pexpire(backend.key(key), 2000)  # as if most of its life had passed
        assert await backend.pttl(key) <= 2000
        await set_(5, 6, {"again": True})
        assert (kind.ttl - 60) * 1000 < await backend.pttl(key) <= kind.ttl * 1000
        assert await get(5, 6) == {"again": True}


# -- group settings -----------------------------------------------------------------------------


async def test_group_settings(store: StateStore, backend: Backend) -> None:
    assert await store.get_group(-1001) == {}
    await store.update_group(-1001, region="广东")
    await store.update_group(-1001, scheme="居民")
    await store.update_group(-1001, region="浙江")
    assert await store.get_group(-1001) == {"region": "浙江", "scheme": "居民"}
    assert await store.get_group(-1002) == {}
    await store.update_group(-1003)
    assert await store.get_group(-1003) == {}
    if backend.kind == "redis":
        assert await backend.pttl("g:-1001") == -1  # no TTL


async def test_group_and_profile_with_the_same_id_are_separate(store: StateStore) -> None:
    await store.update_profile(5, region="北京")
    await store.update_group(5, region="上海")
    assert await store.get_profile(5) == {"region": "北京"}
    assert await store.get_group(5) == {"region": "上海"}
    await store.clear_profile(5)
    assert await store.get_group(5) == {"region": "上海"}


# -- unanswered questions -----------------------------------------------------------------------


FILING = "异地备案 · 多久到账或生效 · 未说地区"
CHRONIC = "慢特病 · 材料 · 山西"
ALLOWANCE = "生育津贴发放 · 多久到账或生效 · 浙江"


def summary(groups: list[UnansweredGroup]) -> list[tuple[str, int, list[str]]]:
    return [(g.key, g.count, g.examples) for g in groups]


async def test_unanswered_questions_are_counted_by_group_with_examples(store: StateStore) -> None:
    assert await store.top_unanswered() == []
    for question, key in [
        ("异地备案多久生效", FILING),
        ("太原慢病要带啥材料", CHRONIC),
        ("备案几天能生效", FILING),
        ("杭州生育金多久到账", ALLOWANCE),
        ("太原慢病要带啥材料", CHRONIC),
    ]:
        await store.record_unanswered(Unanswered(question, key))
    await store.record_unanswered(Unanswered("  异地备案多久生效\n", FILING))  # trimmed: the same question
    assert summary(await store.top_unanswered()) == [
        (FILING, 3, ["异地备案多久生效", "备案几天能生效"]),  # newest first, each question once
        (CHRONIC, 2, ["太原慢病要带啥材料"]),
        (ALLOWANCE, 1, ["杭州生育金多久到账"]),
    ]
    assert [g.key for g in await store.top_unanswered(2)] == [FILING, CHRONIC]
    assert await store.top_unanswered(0) == []
    first = (await store.top_unanswered(1))[0]
    assert isinstance(first.count, int) and 0 < first.first_seen <= first.last_seen


async def test_unanswered_groups_by_recency(store: StateStore, backend: Backend) -> None:
    for question, key in [
        ("异地备案多久生效", FILING),
        ("备案几天能生效", FILING),
        ("太原慢病要带啥材料", CHRONIC),
    ]:
        await store.record_unanswered(Unanswered(question, key))
        backend.clock.advance(1)
        await asyncio.sleep(0.005)  # Redis keeps the time in milliseconds
    await store.record_unanswered(Unanswered("杭州生育金多久到账", ALLOWANCE))
    assert [g.key for g in await store.top_unanswered(2, recent=True)] == [ALLOWANCE, CHRONIC]
    latest = await store.top_unanswered(3, recent=True)
    assert summary(latest)[2] == (FILING, 2, ["备案几天能生效", "异地备案多久生效"])  # counts as by count
    assert await store.top_unanswered(0, recent=True) == []


async def test_unanswered_keeps_the_latest_examples_and_the_first_characters(store: StateStore) -> None:
    head = "报" * UNANSWERED_MAX_LEN
    await store.record_unanswered(Unanswered(head + "销比例是多少", ALLOWANCE))
    for n in range(UNANSWERED_EXAMPLES + 2):
        await store.record_unanswered(Unanswered(f"问题{n}", ALLOWANCE))
    group = (await store.top_unanswered())[0]
    assert group.count == UNANSWERED_EXAMPLES + 3
    assert group.examples == [f"问题{n}" for n in range(UNANSWERED_EXAMPLES + 1, 1, -1)]
    await store.record_unanswered(Unanswered(f"  {head}另一个结尾", FILING))  # cut to the first characters
    assert (await store.top_unanswered())[1].examples == [head]


# -- feedback -----------------------------------------------------------------------------------


async def test_feedback_one_vote_per_user(store: StateStore) -> None:
    assert await store.feedback_summary() == []
    await store.record_feedback("outpatient.beijing", 1, "up")
    await store.record_feedback("outpatient.beijing", 2, "down")
    assert await store.feedback_summary() == [("outpatient.beijing", 1, 1)]
    await store.record_feedback("outpatient.beijing", 1, "down")  # replaces user 1's vote
    assert await store.feedback_summary() == [("outpatient.beijing", 0, 2)]
    await store.record_feedback("outpatient.beijing", 1, "down")  # the same vote again: no change
    assert await store.feedback_summary() == [("outpatient.beijing", 0, 2)]


async def test_feedback_summary_orders_by_votes_then_id(store: StateStore) -> None:
    votes = {
        "maternity.allowance": ["up"],
        "outpatient.shanghai": ["up", "down"],
        "outpatient.beijing": ["down", "down"],
        "remote.filing": ["up", "up", "down"],
    }
    for entry_id, entry_votes in votes.items():
        for user_id, vote in enumerate(entry_votes, start=1):
            await store.record_feedback(entry_id, user_id, vote)
    assert await store.feedback_summary() == [
        ("remote.filing", 2, 1),
        ("outpatient.beijing", 0, 2),
        ("outpatient.shanghai", 1, 1),
        ("maternity.allowance", 1, 0),
    ]
    assert await store.feedback_summary(2) == [("remote.filing", 2, 1), ("outpatient.beijing", 0, 2)]
    assert await store.feedback_summary(0) == []


@pytest.mark.parametrize("vote", ["meh", "UP", "", "👍"])
async def test_feedback_rejects_other_votes(store: StateStore, vote: str) -> None:
    await store.record_feedback("outpatient.beijing", 1, "up")
    with pytest.raises(ValueError, match="vote must be one of"):
        await store.record_feedback("outpatient.beijing", 1, vote)
    with pytest.raises(ValueError):
        await store.record_feedback("remote.filing", 2, vote)
    assert await store.feedback_summary() == [("outpatient.beijing", 1, 0)]  # nothing written


# -- counters -----------------------------------------------------------------------------------


async def test_stats_counters(store: StateStore) -> None:
    assert await store.get_stats() == {}
    await store.incr_stat("answered")
    await store.incr_stat("answered", 5)
    await store.incr_stat("not_found")
    await store.incr_stat("answered", -2)
    stats = await store.get_stats()
    assert stats == {"answered": 4, "not_found": 1}
    assert all(isinstance(value, int) for value in stats.values())


# -- one message: read once, write once ------------------------------------------------------------


async def test_load_turn_reads_what_the_single_calls_read(store: StateStore) -> None:
    assert await store.load_turn(-5, 7, group=True) == Turn()
    await store.update_profile(7, region="山西")
    await store.set_pending(-5, 7, {"slot": "scheme", "waiting": ["a.b"]})
    await store.set_context(-5, 7, {"query": "产假", "region": None})
    await store.update_group(-5, region="北京")
    turn = await store.load_turn(-5, 7, group=True)
    assert turn == Turn(
        {"region": "山西"},
        {"slot": "scheme", "waiting": ["a.b"]},
        {"query": "产假", "region": None},
        {"region": "北京"},
    )
    assert (await store.load_turn(-5, 7, group=False)).group == {}  # private chats skip the group
    assert await store.load_turn(-5, 8, group=True) == Turn(group={"region": "北京"})  # another user


async def test_save_turn_writes_each_part_given(store: StateStore, backend: Backend) -> None:
    await store.save_turn(-5, 7, TurnResult("answered", context={"query": "备案"}))
    await store.save_turn(-5, 7, TurnResult("clarified", pending={"slot": "region"}))
    await store.save_turn(
        -5, 7, TurnResult("not_found", unanswered=Unanswered("  广州产假多少天 ", "产假 · 期限 · 广东"))
    )
    turn = await store.load_turn(-5, 7, group=False)
    assert turn.context == {"query": "备案"} and turn.pending == {"slot": "region"}
    assert summary(await store.top_unanswered()) == [("产假 · 期限 · 广东", 1, ["广州产假多少天"])]
    assert await store.get_stats() == {"answered": 1, "clarified": 1, "not_found": 1}
    if backend.kind == "redis":  # written with the same TTLs as set_context / set_pending
        assert 0 < await backend.pttl("ctx:-5:7") <= CONTEXT_TTL * 1000
        assert 0 < await backend.pttl("pending:-5:7") <= PENDING_TTL * 1000
    else:
        backend.clock.advance(PENDING_TTL + 1)
        turn = await store.load_turn(-5, 7, group=False)
        assert turn.pending is None and turn.context == {"query": "备案"}


# -- Redis only -----------------------------------------------------------------------------------


async def _all_keys(client: Redis) -> set[str]:
    return {key async for key in client.scan_iter(match="*", count=1000)}


async def _exercise(store: RedisStore) -> None:
    """Call every method of the store once or more."""
    await store.update_profile(11, region="北京", scheme="职工")
    await store.clear_profile(11, "scheme")
    await store.get_profile(11)
    await store.update_profile(12, region="上海")
    await store.clear_profile(12)
    await store.set_pending(-21, 11, {"slot": "region"})
    await store.get_pending(-21, 11)
    await store.set_pending(-21, 12, {"slot": "scheme"})
    await store.clear_pending(-21, 12)
    await store.set_context(-21, 11, {"query": "门诊"})
    await store.get_context(-21, 11)
    await store.set_context(-21, 12, {"query": "住院"})
    await store.clear_context(-21, 12)
    await store.update_group(-21, region="广东")
    await store.get_group(-21)
    await store.record_unanswered(Unanswered("没人能答的问题", ALLOWANCE))
    await store.top_unanswered()
    await store.record_feedback("outpatient.beijing", 11, "up")
    await store.record_feedback("outpatient.beijing", 12, "down")
    await store.feedback_summary()
    await store.incr_stat("answered", 2)
    await store.get_stats()
    await store.feedback_examples("outpatient.beijing")
    await store.load_turn(-21, 11, group=True)
    await store.save_turn(
        -21, 11, TurnResult("answered", {"query": "门诊"}, None, Unanswered("没人能答的问题", ALLOWANCE))
    )
    await store.daily_stats(last_days(3))
    await store.subscriber_counts()
    await store.set_ephemeral("console:x", {"a": 1}, 60)
    await store.get_ephemeral("console:x")
    await store.drop_ephemeral("console:x")


async def test_redis_writes_only_under_its_prefix(redis_url: str, redis_prefix: str) -> None:
    raw = Redis.from_url(redis_url, decode_responses=True)
    store = RedisStore.from_url(redis_url, redis_prefix)
    try:
        before = await _all_keys(raw)
        assert not {key for key in before if key.startswith(redis_prefix)}
        await _exercise(store)
        after = await _all_keys(raw)
        assert {key for key in after - before if not key.startswith(redis_prefix)} == set()
        mine = {key.removeprefix(redis_prefix) for key in after if key.startswith(redis_prefix)}
        assert mine == {
            "u:11",
            "pending:-21:11",
            "ctx:-21:11",
            "g:-21",
            "unanswered",
            f"unanswered:ex:{ALLOWANCE}",
            "unanswered:first",
            "unanswered:last",
            "unanswered:recent",
            "fb:outpatient.beijing",
            "fb:ex:outpatient.beijing",
            "fb:entries",
            "stats",
            f"day:{day_of(time.time())}",
        }
        types = {key: await raw.type(redis_prefix + key) for key in mine}
        assert types == {
            "u:11": "hash",
            "pending:-21:11": "string",
            "ctx:-21:11": "string",
            "g:-21": "hash",
            "unanswered": "zset",
            f"unanswered:ex:{ALLOWANCE}": "list",
            "unanswered:first": "hash",
            "unanswered:last": "hash",
            "unanswered:recent": "zset",
            "fb:outpatient.beijing": "hash",
            "fb:ex:outpatient.beijing": "list",
            "fb:entries": "set",
            "stats": "hash",
            f"day:{day_of(time.time())}": "hash",
        }
        assert await raw.hgetall(redis_prefix + "fb:outpatient.beijing") == {"11": "up", "12": "down"}
        assert await raw.zscore(redis_prefix + "unanswered", ALLOWANCE) == 2
        examples = await raw.lrange(redis_prefix + f"unanswered:ex:{ALLOWANCE}", 0, -1)
        assert [json.loads(e)["q"] for e in examples] == ["没人能答的问题"]
    finally:
        await store.close()
        await raw.aclose()


async def test_redis_store_reads_a_bytes_client(redis_url: str, redis_prefix: str) -> None:
    """A client without decode_responses works the same (the store decodes what it reads)."""
    client = Redis.from_url(redis_url)  # decode_responses=False: replies are bytes
    store = RedisStore(client, redis_prefix)
    try:
        await _exercise(store)
        assert await store.get_profile(11) == {"region": "北京"}
        assert await store.get_pending(-21, 11) == {"slot": "region"}
        assert await store.get_context(-21, 11) == {"query": "门诊"}
        assert await store.get_group(-21) == {"region": "广东"}
        assert summary(await store.top_unanswered()) == [(ALLOWANCE, 2, ["没人能答的问题"])]
        assert await store.feedback_summary() == [("outpatient.beijing", 1, 1)]
        assert await store.get_stats() == {"answered": 3}
    finally:
        await store.close()


async def test_redis_from_url_and_defaults(redis_url: str) -> None:
    store = RedisStore.from_url(redis_url)
    try:
        assert store.prefix == "yb:"
        assert store.redis.connection_pool.connection_kwargs["decode_responses"] is True
        assert await store.redis.ping()
    finally:
        await store.close()


async def test_redis_refuses_the_feedback_index_as_an_entry_id(redis_url: str, redis_prefix: str) -> None:
    store = RedisStore.from_url(redis_url, redis_prefix)
    try:
        with pytest.raises(ValueError, match="reserved"):
            await store.record_feedback("entries", 1, "up")
        await store.record_feedback("outpatient.beijing", 1, "up")
        assert await store.feedback_summary() == [("outpatient.beijing", 1, 0)]
    finally:
        await store.close()


# -- what the operator console reads --------------------------------------------------------------


async def test_unanswered_examples_keep_the_reply_given(state_store: StateStore) -> None:
    await state_store.record_unanswered(Unanswered("杭州生育津贴多久到账", ALLOWANCE, "没有这条规定（一）"))
    await state_store.record_unanswered(Unanswered("杭州生育金几天到", ALLOWANCE, "没有这条规定（二）"))
    await state_store.record_unanswered(Unanswered("杭州生育津贴多久到账", ALLOWANCE, "没有这条规定（三）"))
    [group] = await state_store.top_unanswered()
    assert group.count == 3
    assert group.examples == ["杭州生育津贴多久到账", "杭州生育金几天到"]  # the repeat moved first
    assert group.replies == ["没有这条规定（三）", "没有这条规定（二）"]  # with its latest reply


async def test_redis_reads_examples_kept_as_plain_text_by_earlier_versions(
    redis_url: str, redis_prefix: str
) -> None:
    raw = Redis.from_url(redis_url, decode_responses=True)
    store = RedisStore.from_url(redis_url, redis_prefix)
    try:
        await raw.zincrby(redis_prefix + "unanswered", 1, ALLOWANCE)
        await raw.lpush(redis_prefix + f"unanswered:ex:{ALLOWANCE}", "旧的问题")
        await store.record_unanswered(Unanswered("新的问题", ALLOWANCE, "回复"))
        await store.record_unanswered(Unanswered("旧的问题", ALLOWANCE, "新回复"))
        [group] = await store.top_unanswered()
        assert group.examples == ["旧的问题", "新的问题"]  # the plain-text copy was replaced
        assert group.replies == ["新回复", "回复"]
    finally:
        await raw.aclose()
        await store.close()


async def test_feedback_keeps_the_question_and_reply_of_each_vote(state_store: StateStore) -> None:
    await state_store.record_feedback("ka.activate", 1, "down", "医保卡怎么激活", "一般有三种激活途径")
    await state_store.record_feedback("ka.activate", 2, "up", "社保卡激活", "一般有三种激活途径")
    examples = await state_store.feedback_examples("ka.activate")
    assert [(e.vote, e.question, e.reply) for e in examples] == [
        ("up", "社保卡激活", "一般有三种激活途径"),
        ("down", "医保卡怎么激活", "一般有三种激活途径"),
    ]
    assert await state_store.feedback_examples("ka.other") == []


async def test_daily_stats_count_each_turn_and_its_subjects(state_store: StateStore) -> None:
    await state_store.save_turn(1, 1, TurnResult("answered", subjects=("生育津贴",)))
    await state_store.save_turn(1, 1, TurnResult("not_found", subjects=("生育津贴", "异地备案")))
    await state_store.save_turn(1, 1, TurnResult("clarified"))
    days = last_days(2)
    stats = await state_store.daily_stats(days)
    assert list(stats) == [days[-1]]  # nothing yesterday
    today = {"answered": 1, "not_found": 1, "clarified": 1, "s:生育津贴": 2, "s:异地备案": 1}
    assert stats[days[-1]] == today


async def test_turns_are_saved_after_the_server_forgot_the_scripts() -> None:
    """save_turn sends its counters and the unanswered question as Lua scripts by hash; a
    restarted or failed-over Redis has none loaded, and the pipeline must load them."""
    server = PrivateRedis()  # of its own: SCRIPT FLUSH is server-wide
    server.start()
    client = Redis.from_url(server.url, decode_responses=True)
    store = RedisStore(client, "yb:")
    try:
        asked = Unanswered("广州产假多少天", "产假 · 期限 · 广东")
        turn = TurnResult("not_found", unanswered=asked, subjects=("产假",))
        await store.save_turn(1, 1, turn)
        await client.script_flush()
        await store.save_turn(1, 2, turn)
        assert summary(await store.top_unanswered()) == [("产假 · 期限 · 广东", 2, ["广州产假多少天"])]
        assert await store.get_stats() == {"not_found": 2}
        today = last_days(1)[0]
        assert (await store.daily_stats([today]))[today] == {"not_found": 2, "s:产假": 2}
        assert 0 < await client.ttl(f"yb:day:{today}") <= DAYS_KEPT * 86400
    finally:
        await client.aclose()
        server.close()


def test_days_are_china_calendar_days() -> None:
    # 2026-12-01 17:00 UTC is already 2026-12-02 in China
    assert day_of(1796144400.0) == "2026-12-02"
    assert last_days(3, now=1796144400.0) == ["2026-11-30", "2026-12-01", "2026-12-02"]


async def test_subscriber_counts_by_region(state_store: StateStore) -> None:
    await state_store.subscribe(1, None)
    await state_store.subscribe(2, "山西")
    await state_store.subscribe(3, "山西")
    await state_store.subscribe(3, None)
    assert await state_store.subscriber_counts() == {"全部": 2, "山西": 2}
    await state_store.unsubscribe(3)
    assert await state_store.subscriber_counts() == {"全部": 1, "山西": 1}


async def test_ephemeral_values_can_be_read_without_taking_them(state_store: StateStore) -> None:
    await state_store.set_ephemeral("console:session:abc", {"uid": 7}, 60)
    assert await state_store.get_ephemeral("console:session:abc") == {"uid": 7}
    assert await state_store.get_ephemeral("console:session:abc") == {"uid": 7}
    await state_store.drop_ephemeral("console:session:abc")
    assert await state_store.get_ephemeral("console:session:abc") is None
