"""Connecting to Redis, and knowing when it is away.

`connect(url)` accepts ``redis://``, ``rediss://``, ``unix://`` and Redis Sentinel
(``redis+sentinel://[:password@]host:26379[,host2:26379]/mymaster/0``: the client asks the
sentinels for the current master, and asks again after a failover). Commands fail fast when
Redis does not answer (short timeouts, one quick retry) so that a question is answered without
its profile rather than late; redis-py reconnects by itself on the next command.

`RedisHealth` tracks outages: one warning when Redis stops answering, one line when it is back,
and the `yb_redis_up` gauge — not a warning per message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.metrics import Metrics

log = logging.getLogger(__name__)

SENTINEL_SCHEME = "redis+sentinel"
# what an outage looks like from the client (MasterNotFoundError and BusyLoadingError are
# ConnectionErrors); OSError for a socket that breaks underneath
OUTAGE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 1.0  # seconds to open a connection
    command: float = 2.0  # seconds for a reply


def _retry() -> Retry:
    return Retry(ConstantBackoff(0.05), retries=1)  # redis-py's default waits up to ~7 s


def connect(url: str, timeouts: Timeouts | None = None) -> Redis:
    """A client for `url` (see the module's docstring for the forms accepted)."""
    t = timeouts or Timeouts()
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        return Redis.from_url(
            url,
            socket_connect_timeout=t.connect,
            socket_timeout=t.command,
            retry=_retry(),
            decode_responses=True,
        )
    hosts = []
    for item in parts.netloc.rpartition("@")[2].split(","):
        host, _, port = item.partition(":")
        hosts.append((host, int(port or 26379)))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("a Sentinel URL names the service: redis+sentinel://host:26379/mymaster/0")
    service, db = path[0], int(path[1]) if len(path) > 1 else 0
    password = unquote(parts.password) if parts.password else None
    sentinel = Sentinel(hosts, socket_timeout=t.command, socket_connect_timeout=t.connect)  # type: ignore[no-untyped-call]
    master = sentinel.master_for(
        service,
        db=db,
        password=password,
        socket_timeout=t.command,
        socket_connect_timeout=t.connect,
        retry=_retry(),
        decode_responses=True,
    )
    return cast(Redis, master)


class RedisHealth:
    """Whether Redis answered the last command; logs once per outage."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.up = True
        self._metrics = metrics

    def failed(self, error: BaseException, doing: str = "") -> None:
        if self._metrics is not None:
            self._metrics.redis_errors.inc()
            self._metrics.redis_up.set(0)
        if self.up:
            self.up = False
            what = f" ({doing})" if doing else ""
            log.warning("Redis is not answering%s: %s; answering without saved state", what, error)

    def ok(self) -> None:
        if not self.up:
            self.up = True
            log.info("Redis answers again")
        if self._metrics is not None:
            self._metrics.redis_up.set(1)


async def close(redis: Redis) -> None:
    """Close a client from `connect`, with the sentinel connections behind it if it has them."""
    await redis.aclose()
    manager = getattr(redis.connection_pool, "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        await sentinel.aclose()
