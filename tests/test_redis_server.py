"""The test command's Redis: reuse a server that answers, else start (and stop) a private one."""

from __future__ import annotations

import redis

from tests import redis_server as rs


def test_starts_a_private_server_when_none_answers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dead = f"redis://127.0.0.1:{rs.free_port()}/0"
    monkeypatch.setenv("REDIS_URL", dead)
    with rs.redis_server() as url:
        assert url != dead
        client = redis.Redis.from_url(url)
        assert client.ping()
        client.close()
    assert not rs._answers(url)  # stopped afterwards


def test_reuses_a_server_that_answers(redis_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REDIS_URL", redis_url)
    with rs.redis_server() as url:
        assert url == redis_url


def test_prefix_cleanup_leaves_other_keys(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    other = "ybtest-other:keep-me"
    client.set(other, "1", ex=60)
    try:
        prefix = "ybtest:cleanup-check:"
        client.set(prefix + "a", "1")
        # what the redis_prefix fixture does at teardown
        client.delete(*client.scan_iter(match=prefix + "*"))
        assert client.exists(prefix + "a") == 0
        assert client.get(other) == b"1"
    finally:
        client.delete(other)
        client.close()
