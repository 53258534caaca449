"""REDIS_URL as Redis Sentinel (issue #10): the bot's client finds the master through the
sentinel and, when the master crashes and the sentinel promotes its replica, goes on with the
same data — answering without saved state meanwhile, never raising out of a question.

A master, its replica and one sentinel of the test's own (redis-server --sentinel); the
failover takes a few seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from bot.redis_conn import RedisHealth, close, connect
from bot.redis_store import RedisStore
from bot.resilient_store import ResilientStore
from bot.state import TurnResult
from tests.redis_server import PrivateRedis, PrivateSentinel

USER = 1001


@pytest.fixture
def replicated() -> Iterator[tuple[PrivateRedis, PrivateRedis, PrivateSentinel]]:
    master = PrivateRedis()
    master.start()
    replica = PrivateRedis("--replicaof", "127.0.0.1", str(master.port))
    replica.start()
    sentinel = PrivateSentinel(master.port)
    try:
        replica.wait_synced()
        sentinel.start()
        sentinel.wait_replicas(1)  # it can only promote a replica it knows of
        yield master, replica, sentinel
    finally:
        sentinel.close()
        replica.close()
        master.close()


async def test_failover_keeps_the_profiles_and_the_bot_answering(
    replicated: tuple[PrivateRedis, PrivateRedis, PrivateSentinel],
) -> None:
    master, replica, sentinel = replicated
    redis = connect(sentinel.url())
    store = ResilientStore(RedisStore(redis, prefix="ybtest:sentinel:"), RedisHealth())
    try:
        await store.update_profile(USER, region="山西", scheme="职工医保")
        assert await redis.execute_command("WAIT", 1, 1500) == 1  # the replica has it

        master.stop(crash=True)
        deadline = time.monotonic() + 30
        degraded_turns = 0
        while sentinel.master_port() != replica.port:
            assert time.monotonic() < deadline, "the sentinel did not promote the replica"
            turn = await store.load_turn(USER, USER, False)  # a question during the failover
            degraded_turns += turn.degraded
            await asyncio.sleep(0.2)
        assert degraded_turns > 0  # the outage was seen, and answered through

        while True:  # the client asks the sentinel again and reaches the new master
            turn = await store.load_turn(USER, USER, False)
            if not turn.degraded:
                break
            assert time.monotonic() < deadline, "the client did not reach the new master"
            await asyncio.sleep(0.2)
        assert turn.profile == {"region": "山西", "scheme": "职工医保"}
        await store.save_turn(USER, USER, TurnResult(stat="answered"))  # writable, not a read-only replica
        await store.update_profile(USER, region="北京")
        assert (await store.get_profile(USER))["region"] == "北京"
    finally:
        await close(redis)
