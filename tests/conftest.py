from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from knowledge.gazetteer import Gazetteer, load_gazetteer
from knowledge.loader import load_or_raise
from knowledge.paths import PACKAGE_DATA
from knowledge.schema import KnowledgeBase
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
