"""Broadcast jobs (bot/broadcast.py) against real Redis (own key prefix) and the Bot API stub.

Rates and retry delays are shrunk where a test is not about them, so the file stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot
from redis.asyncio import Redis

from bot.app import create_bot
from bot.broadcast import (
    CANCELLED,
    DONE,
    PENDING,
    RUNNING,
    SENT,
    Broadcaster,
    BroadcastStore,
    Job,
    TokenBucket,
)
from bot.settings import load_settings
from tests.stub_api import Call, StubBotAPI

ADMIN = 777
TEXT = "<b>医保通知</b>：2025年居民医保缴费将于12月31日截止 &amp; 请及时缴纳。"
FAST_RETRIES = (0.01, 0.02, 0.04)


@dataclass
class Env:
    stub: StubBotAPI
    bot: Bot
    store: BroadcastStore

    def broadcaster(self, **kwargs: Any) -> Broadcaster:
        kwargs.setdefault("retry_delays", FAST_RETRIES)
        kwargs.setdefault("rate", 100)  # not Telegram: the stub has no limit unless told
        return Broadcaster(self.bot, self.store, **kwargs)

    def sends(self) -> list[Call]:
        return self.stub.calls("sendMessage")

    def received(self) -> Counter[int]:
        """Messages each chat received (answered 200)."""
        return Counter(c.params["chat_id"] for c in self.sends() if c.status == 200 and "chat_id" in c.params)

    async def create(self, audience: list[int], **kwargs: Any) -> Job:
        return await self.store.create(TEXT, audience, created_by=ADMIN, **kwargs)


@pytest.fixture
async def env(redis_url: str, redis_prefix: str) -> AsyncIterator[Env]:
    stub = StubBotAPI()
    await stub.start()
    bot = create_bot(load_settings(bot_token="42:TEST", telegram_api_url=stub.base_url), retries=False)
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        yield Env(stub, bot, BroadcastStore(redis, prefix=redis_prefix))
    finally:
        await bot.session.close()
        await redis.aclose()
        await stub.stop()


def chats(n: int, first: int = 1001) -> list[int]:
    return list(range(first, first + n))


async def wait_until(condition: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# -- the store ----------------------------------------------------------------------------------


async def test_create_get_recent_and_key_layout(env: Env, redis_prefix: str) -> None:
    first = await env.create([5, 6, 5, -100200, 6], region="山西")
    second = await env.store.create("第二条", [7], created_by=ADMIN)
    assert (first.total, first.status, first.region, first.created_by) == (3, PENDING, "山西", ADMIN)
    assert int(second.id) == int(first.id) + 1
    redis = env.store.redis
    assert await redis.lrange(f"{redis_prefix}bc:{first.id}:queue", 0, -1) == ["5", "6", "-100200"]
    assert await redis.lrange(f"{redis_prefix}bc:{first.id}:audience", 0, -1) == ["5", "6", "-100200"]
    assert await redis.zrange(f"{redis_prefix}bc:jobs", 0, -1) == [first.id, second.id]
    assert await env.store.active_ids() == [first.id, second.id]

    await env.store.set_progress_message(first.id, ADMIN, 42)
    got = await env.store.get(first.id)
    assert got is not None and got.text == TEXT
    assert (got.progress_chat_id, got.progress_message_id) == (ADMIN, 42)
    assert (got.done, got.remaining, got.rate, got.eta_seconds) == (0, 3, 0.0, None)
    assert await env.store.get("999999") is None

    assert [j.id for j in await env.store.recent(5)] == [second.id, first.id]
    await redis.delete(f"{redis_prefix}bc:{second.id}:meta")  # as if it had expired
    assert [j.id for j in await env.store.recent(5)] == [first.id]
    assert await redis.zrange(f"{redis_prefix}bc:jobs", 0, -1) == [first.id]
    with pytest.raises(ValueError):
        await env.store.create("  ", [1], created_by=ADMIN)


async def test_lease_is_only_renewed_or_released_by_its_holder(env: Env) -> None:
    job = await env.create([1])
    store = env.store
    assert await store.acquire_lease(job.id, "a/1", 5000)
    assert not await store.acquire_lease(job.id, "b/1", 5000)
    assert not await store.renew_lease(job.id, "b/1", 5000)
    assert not await store.release_lease(job.id, "b/1")
    assert await store.lease_holder(job.id) == "a/1"
    assert await store.renew_lease(job.id, "a/1", 5000)
    assert await store.release_lease(job.id, "a/1")
    assert await store.lease_holder(job.id) is None


def test_token_bucket_paces_and_holds() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=4, clock=lambda: now[0])
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.25)
    assert bucket.reserve() == pytest.approx(0.5)  # callers queue up
    now[0] += 0.5
    assert not bucket.idle()
    now[0] += 0.5
    assert bucket.idle()
    bucket.hold(3.0)
    assert bucket.reserve() == pytest.approx(3.0)


# -- delivery -----------------------------------------------------------------------------------


async def test_every_subscriber_gets_exactly_one_message(env: Env) -> None:
    audience = [*chats(30), -100200, 1005, 1010]  # duplicates are sent once
    job = await env.create(audience)
    done = await env.broadcaster().run(job.id)
    assert done is not None
    assert (done.status, done.total, done.sent, done.blocked, done.failed) == (DONE, 31, 31, 0, 0)
    assert done.started_at is not None and done.finished_at is not None
    assert done.eta_seconds == 0.0 and done.rate > 0
    assert env.received() == Counter({chat: 1 for chat in dict.fromkeys(audience)})
    assert all(c.params["parse_mode"] == "HTML" and c.params["text"] == TEXT for c in env.sends())
    assert await env.store.active_ids() == []
    assert await env.store.lease_holder(job.id) is None
    assert await env.store.redis.ttl(env.store.key(job.id, "meta")) > 0  # kept for `retention`
    again = await env.broadcaster().run(job.id)  # a finished job is not sent again
    assert again is not None and again.status == DONE and len(env.sends()) == 31


async def test_blocked_and_missing_chats_are_reported_and_skipped(env: Env) -> None:
    env.stub.fail("sendMessage", chat_ids=[1003, 1007], status=403)
    env.stub.fail("sendMessage", chat_ids=[1005], status=403, description="Forbidden: user is deactivated")
    env.stub.fail("sendMessage", chat_ids=[1009], status=400)  # "Bad Request: chat not found"
    gone: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        gone.append(chat_id)
        if chat_id == 1007:
            raise RuntimeError("the caller's bug must not stop the job")

    job = await env.create(chats(12))
    done = await env.broadcaster(on_blocked=on_blocked).run(job.id)
    assert done is not None
    assert (done.status, done.sent, done.blocked, done.failed) == (DONE, 8, 4, 0)
    assert sorted(gone) == [1003, 1005, 1007, 1009]
    attempts = Counter(c.params["chat_id"] for c in env.sends())
    assert all(attempts[chat] == 1 for chat in chats(12))  # a gone chat is not retried
    assert set(env.received()) == set(chats(12)) - {1003, 1005, 1007, 1009}


async def test_retry_after_pauses_the_job_and_retries_the_message(env: Env) -> None:
    env.stub.fail("sendMessage", chat_ids=[1004], retry_after=1, times=1)
    job = await env.create(chats(8))
    done = await env.broadcaster().run(job.id)
    assert done is not None and (done.sent, done.failed) == (8, 0)
    assert env.received() == Counter({chat: 1 for chat in chats(8)})
    sends = env.sends()
    flood = next(i for i, c in enumerate(sends) if c.status == 429)
    assert sends[flood + 1].params["chat_id"] == 1004  # the same message, retried first
    assert sends[flood + 1].at - sends[flood].at >= 0.95  # the whole job paused


async def test_repeated_flood_control_gives_up_on_that_message(env: Env) -> None:
    env.stub.fail("sendMessage", chat_ids=[1002], retry_after=1)
    job = await env.create(chats(3))
    broadcaster = env.broadcaster(max_flood_retries=1)
    done = await broadcaster.run(job.id)
    assert done is not None and (done.sent, done.failed) == (2, 1)
    assert Counter(c.params["chat_id"] for c in env.sends())[1002] == 2


async def test_other_errors_are_retried_then_counted_failed(env: Env) -> None:
    env.stub.fail("sendMessage", chat_ids=[1002], status=500)  # always
    env.stub.fail("sendMessage", chat_ids=[1004], status=502, times=2)  # twice, then fine
    env.stub.fail(
        "sendMessage",
        chat_ids=[1006],
        status=400,
        description="Bad Request: not enough rights to send text messages to the chat",
    )
    gone: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        gone.append(chat_id)

    job = await env.create(chats(8))
    done = await env.broadcaster(chat_rate=200, on_blocked=on_blocked).run(job.id)
    assert done is not None
    assert (done.status, done.sent, done.blocked, done.failed) == (DONE, 6, 0, 2)
    attempts = Counter(c.params["chat_id"] for c in env.sends())
    assert attempts[1002] == 4 and attempts[1006] == 4  # 1 + 3 retries
    assert attempts[1004] == 3
    assert gone == []
    assert set(env.received()) == set(chats(8)) - {1002, 1006}


# -- pace -----------------------------------------------------------------------------------------


async def test_global_rate_is_respected_and_the_loop_stays_responsive(env: Env) -> None:
    lags: list[float] = []

    async def ticker() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)

    job = await env.create(chats(40))
    tick = asyncio.create_task(ticker())
    try:
        done = await env.broadcaster(rate=20).run(job.id)
    finally:
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
    assert done is not None and done.sent == 40
    sends = env.sends()
    assert sends[-1].at - sends[0].at >= 1.9  # 39 intervals at 20/s
    assert max(lags) < 0.2  # other work (replies to users) runs between the sends
    assert 15 < done.rate < 25


async def test_rate_25_stays_under_telegrams_limit(env: Env) -> None:
    env.stub.rate_limit(30)
    job = await env.create(chats(45))
    done = await env.broadcaster(rate=25).run(job.id)
    assert done is not None and done.sent == 45
    assert [c for c in env.sends() if c.status == 429] == []


async def test_same_chat_and_same_group_are_paced(env: Env) -> None:
    user, group = 1001, -100200
    broadcaster = env.broadcaster()
    for _ in range(2):
        job = await env.create([user, group])
        assert (await broadcaster.run(job.id) or job).sent == 2
    times: dict[int, list[float]] = {user: [], group: []}
    for call in env.sends():
        times[call.params["chat_id"]].append(call.at)
    assert times[user][1] - times[user][0] >= 0.95  # 1 message a second to a chat
    assert times[group][1] - times[group][0] >= 2.9  # 20 a minute to a group


# -- durability and workers -------------------------------------------------------------------------


async def test_resume_after_the_sending_task_is_cancelled(env: Env) -> None:
    job = await env.create(chats(40))
    task = asyncio.create_task(env.broadcaster(rate=40, worker_id="a").run(job.id))
    await env.stub.wait_for("sendMessage", count=12)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    middle = await env.store.get(job.id)
    assert middle is not None and middle.status == RUNNING and 10 <= middle.done < 40

    done = await env.broadcaster(rate=40, worker_id="b").run(job.id)
    assert done is not None and (done.status, done.sent) == (DONE, 40)
    received = env.received()
    assert set(received) == set(chats(40))
    assert sum(n - 1 for n in received.values()) <= 1  # at most the in-flight one twice


async def test_crash_with_a_message_in_flight_resumes_after_the_lease_expires(env: Env) -> None:
    store = env.store
    job = await env.create(chats(6))
    # A worker that died: it sent to 1001 and recorded it, then took 1002 and vanished.
    assert await store.acquire_lease(job.id, "dead/1", 400)
    assert await store.begin(job.id, "dead/1") == RUNNING
    first = await store.take(job.id, "dead/1")
    assert first.chat_id == 1001 and await store.record(job.id, 1001, SENT)
    assert (await store.take(job.id, "dead/1")).chat_id == 1002

    broadcaster = env.broadcaster(worker_id="b")
    assert await broadcaster.run(job.id) is None  # leased by the dead worker until it expires
    assert env.sends() == []
    await wait_until(lambda: _lease_free(store, job.id), timeout=3)
    done = await broadcaster.run(job.id)
    assert done is not None and (done.status, done.sent, done.total) == (DONE, 6, 6)
    assert env.received() == Counter({chat: 1 for chat in chats(6) if chat != 1001})
    assert env.sends()[0].params["chat_id"] == 1002  # the in-flight chat first


async def _lease_free(store: BroadcastStore, job_id: str) -> bool:
    return await store.lease_holder(job_id) is None


async def test_two_workers_on_one_job_never_send_twice(env: Env) -> None:
    job = await env.create(chats(30))
    one, two = env.broadcaster(worker_id="one"), env.broadcaster(worker_id="two")
    results = await asyncio.gather(one.run(job.id), two.run(job.id))
    assert sorted(r is None for r in results) == [False, True]  # one of them got the lease
    assert env.received() == Counter({chat: 1 for chat in chats(30)})


async def test_background_loops_hand_a_job_over_without_duplicates(env: Env) -> None:
    one = env.broadcaster(worker_id="one", rate=40, poll_interval=0.1)
    two = env.broadcaster(worker_id="two", rate=40, poll_interval=0.1)
    one.start()
    try:
        job = await env.create(chats(40))
        one.notify()
        await env.stub.wait_for("sendMessage", count=10)
        two.start()  # polls, but the job is leased by `one`
        await asyncio.sleep(0.3)
        await one.stop()  # graceful: the current message is finished and recorded
        assert not one.running
        await wait_until(lambda: _is_done(env.store, job.id))
    finally:
        await one.stop()
        await two.stop()
    assert env.received() == Counter({chat: 1 for chat in chats(40)})
    senders = {c.params["chat_id"] for c in env.sends()}
    assert senders == set(chats(40))


async def _is_done(store: BroadcastStore, job_id: str) -> bool:
    job = await store.get(job_id)
    return job is not None and job.status == DONE


# -- cancellation and progress -----------------------------------------------------------------------


async def test_cancel_stops_a_running_job_before_the_next_message(env: Env) -> None:
    job = await env.create(chats(60))
    task = asyncio.create_task(env.broadcaster(rate=40).run(job.id))
    await env.stub.wait_for("sendMessage", count=10)
    assert await env.store.cancel(job.id)  # as from another process
    sent_at_cancel = len(env.sends())
    done = await asyncio.wait_for(task, timeout=2)
    assert done is not None and done.status == CANCELLED and done.finished_at is not None
    assert len(env.sends()) <= sent_at_cancel + 1  # at most the message already on its way
    assert done.sent < 60
    assert not await env.store.cancel(job.id)  # already over
    assert await env.store.active_ids() == []


async def test_cancel_through_the_broadcaster_interrupts_a_flood_pause(env: Env) -> None:
    env.stub.fail("sendMessage", chat_ids=[1002], retry_after=30)
    job = await env.create(chats(5))
    broadcaster = env.broadcaster()
    task = asyncio.create_task(broadcaster.run(job.id))
    await env.stub.wait_for("sendMessage", count=2)
    started = time.monotonic()
    assert await broadcaster.cancel(job.id)
    done = await asyncio.wait_for(task, timeout=3)
    assert time.monotonic() - started < 1.0
    assert done is not None and done.status == CANCELLED and (done.sent, done.failed) == (1, 0)
    assert await env.store.redis.lrange(env.store.key(job.id, "queue"), 0, 0) == ["1002"]


async def test_a_pending_job_can_be_cancelled_before_it_starts(env: Env) -> None:
    job = await env.create(chats(3))
    assert await env.store.cancel(job.id)
    result = await env.broadcaster().run(job.id)
    assert result is not None and result.status == CANCELLED and env.sends() == []
    assert not await env.store.cancel("999999")


async def test_progress_is_reported_at_most_every_period_and_at_the_end(env: Env) -> None:
    env.stub.fail("sendMessage", chat_ids=[1003], status=403)
    seen: list[tuple[float, Job]] = []

    async def progress(job: Job) -> None:
        seen.append((time.monotonic(), job))

    job = await env.create(chats(30))
    done = await env.broadcaster(rate=20, progress=progress, progress_every=0.3).run(job.id)
    assert done is not None and done.status == DONE
    assert len(seen) >= 4
    counts = [j.done for _, j in seen]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)  # increasing
    periodic = [t for t, _ in seen[:-1]]
    assert all(b - a >= 0.3 for a, b in itertools.pairwise(periodic))
    last = seen[-1][1]
    assert (last.status, last.done, last.blocked, last.eta_seconds) == (DONE, 30, 1, 0.0)
    middle = seen[1][1]
    assert middle.status == RUNNING and middle.rate > 0 and middle.eta_seconds is not None
