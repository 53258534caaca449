from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from bot.redis_store import RedisStore
from bot.state import MemoryStore, StateStore
from knowledge.engine import Engine, load_engine
from knowledge.gazetteer import Gazetteer, load_gazetteer
from knowledge.loader import load_or_raise
from knowledge.paths import PACKAGE_DATA
from knowledge.schema import KnowledgeBase
from tests.browser import browser, browser_session  # noqa: F401
from tests.redis_server import redis_server

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys (and only they) are deleted afterwards."""
    prefix = f"ybtest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return load_gazetteer(PACKAGE_DATA)


@pytest.fixture(scope="session")
def kb(gazetteer: Gazetteer) -> KnowledgeBase:
    return load_or_raise(PACKAGE_DATA, gazetteer)


@pytest.fixture(params=["memory", "redis"])
async def state_store(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    """The same tests against the in-process store and against real Redis (own key prefix)."""
    if request.param == "memory":
        yield MemoryStore()
        return
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    store = RedisStore.from_url(url, prefix)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(scope="session")
def engine() -> Engine:
    return load_engine()
