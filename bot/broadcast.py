"""Broadcast jobs: durable in Redis, sent at a bounded pace by a background task.

The admins' /broadcast creates a job (`BroadcastStore.create`) from the prepared HTML text and a
snapshot of the audience; a `Broadcaster` sends it, one message at a time, awaiting between
sends so ordinary replies keep flowing. Everything about a job lives in Redis, so a restarted
process (or another process sharing the Redis) resumes it where it stopped.

API
===

``Job`` — a snapshot of one job (dataclass): ``id``, ``text``, ``status`` (``pending`` →
``running`` → ``done`` | ``cancelled``), counters ``total``/``sent``/``blocked``/``failed``,
``created_by``, ``region``, ``created_at``/``started_at``/``finished_at`` (Unix time),
``progress_chat_id``/``progress_message_id``; properties ``done`` (chats dealt with),
``remaining``, ``finished``, ``rate`` (chats dealt with per second since the start) and
``eta_seconds``.

``BroadcastStore(redis, prefix="yb:", retention=30 days)`` — persistence:
``create(text, audience, *, created_by, region=None) -> Job`` (duplicates dropped, order kept),
``get(id) -> Job | None``, ``recent(limit=5) -> list[Job]`` (newest first),
``active_ids() -> list[str]`` (pending or running, oldest first),
``set_progress_message(id, chat_id, message_id)``, ``cancel(id) -> bool`` (False when the job
is unknown or already over). The lease and queue operations below it (``acquire_lease``,
``begin``, ``take``, ``record`` …) are the `Broadcaster`'s.

``Broadcaster(bot, store, *, rate=25, worker_id=None, on_blocked=None, on_migrated=None,
progress=None, retry_delays=(0.5, 1, 2), max_flood_retries=5, lease_ms=15000,
progress_every=3.0, chat_rate=1.0, group_rate=20/60, poll_interval=1.0)`` — the sender:
``await run(id) -> Job | None`` sends one job to its end (None when the job is unknown or another
worker holds its lease); ``start()`` runs a background loop that, every ``poll_interval``
seconds (or at once after ``notify()``), runs the pending and running jobs whose lease is free,
one at a time and oldest first — that is how a job resumes after a restart; ``await stop()``
stops it gracefully (the message being sent is finished and recorded, the lease released);
``await cancel(id)`` cancels a job and interrupts this process's sending at once.

Callbacks: ``on_blocked(chat_id)`` when a chat is gone (403 Forbidden: blocked, kicked,
deactivated; 400 "chat not found" / "user not found" / PEER_ID_INVALID) — the caller drops the
subscription; ``on_migrated(old_chat_id, new_chat_id)`` when a group became a supergroup (the
message is re-sent to the new id); ``progress(job)`` at most every ``progress_every`` seconds
while sending and once when the job ends (done or cancelled). Exceptions raised by callbacks are
logged and never stop a job.

Delivery rules
==============

Token buckets (``time.monotonic``, ``asyncio.sleep`` until the token is due, burst 1): at most
``rate`` requests a second for the whole `Broadcaster` (shared by every job it runs), at most
``chat_rate`` a second to one chat and ``group_rate`` to one group (negative chat id; 20 a
minute). Every attempt takes tokens, retries included. The pace is per process: two processes
sending *different* jobs at once each keep their own pace (the 429 handling below absorbs it).

- sent → counted ``sent``.
- ``TelegramRetryAfter`` → the whole `Broadcaster` pauses ``retry_after`` seconds (the global
  bucket is held), then the same message is retried; after ``max_flood_retries`` 429s for one
  message it counts as ``failed``.
- gone (see ``on_blocked``) → counted ``blocked``, no retry.
- anything else (5xx, network errors, other 400s …) → retried after each of ``retry_delays``,
  then counted ``failed``. One bad chat never stops a job.

Redis keys
==========

``p`` is the prefix; ``id`` a job id (a decimal number from ``{p}bc:seq``):

==============================  ==========  ==================================================
key                             type        holds
==============================  ==========  ==================================================
``{p}bc:seq``                   string      the last job id given out (INCR)
``{p}bc:jobs``                  sorted set  every job id, score = creation time
``{p}bc:active``                sorted set  ids of pending and running jobs, score = creation
``{p}bc:{id}:meta``             hash        text, status, counters, creator, region, times,
                                            progress message
``{p}bc:{id}:audience``         list        the audience snapshot (chat ids, as created)
``{p}bc:{id}:queue``            list        chat ids not yet dealt with, next on the left
``{p}bc:{id}:inflight``         list        the chat being sent to (LMOVE from the queue)
``{p}bc:{id}:lease``            string      token of the worker sending the job, PX lease_ms
==============================  ==========  ==================================================

A finished or cancelled job's keys get a TTL of ``retention`` seconds; `recent` drops ids whose
job has expired from ``{p}bc:jobs``.

Durability: a chat moves from the queue to the in-flight list (atomically, in a script that
also checks the lease and the status), is sent to, and leaves the in-flight list in the same
script that increments its counter. A worker that takes a job over first moves any in-flight
chat back to the head of the queue, so after a crash at most that one message is sent twice.
The lease (SET NX PX) is renewed while sending by a compare-and-renew script and released by a
compare-and-delete one: a worker never renews or deletes another's lease, and a worker that lost
its lease takes no further chat from the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from redis.asyncio import Redis

from bot.redis_conn import OUTAGE_ERRORS, RedisHealth
from bot.redis_store import as_text

log = logging.getLogger(__name__)

PENDING = "pending"
RUNNING = "running"
DONE = "done"
CANCELLED = "cancelled"
STATUSES = (PENDING, RUNNING, DONE, CANCELLED)

# Outcomes of one chat; each is also the name of its counter in the job's hash.
SENT = "sent"
BLOCKED = "blocked"
FAILED = "failed"
OUTCOMES = (SENT, BLOCKED, FAILED)

# 400 Bad Request descriptions meaning the chat is gone for good (lower case).
GONE_MARKERS = ("chat not found", "user not found", "peer_id_invalid")

DEFAULT_RETENTION = 30 * 24 * 3600
_CHUNK = 10_000  # chat ids per RPUSH when creating a job

ChatCallback = Callable[[int], Awaitable[None]]
MigrateCallback = Callable[[int, int], Awaitable[None]]
ProgressCallback = Callable[["Job"], Awaitable[None]]


def _opt_float(value: str | None) -> float | None:
    return float(value) if value else None


def _opt_int(value: str | None) -> int | None:
    return int(value) if value else None


# -- jobs ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Job:
    """One broadcast job as last read from Redis."""

    id: str
    text: str
    status: str
    total: int
    sent: int
    blocked: int
    failed: int
    created_by: int
    region: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress_chat_id: int | None
    progress_message_id: int | None

    @classmethod
    def from_hash(cls, job_id: str, fields: dict[str, str]) -> Job:
        return cls(
            id=job_id,
            text=fields.get("text", ""),
            status=fields.get("status", PENDING),
            total=int(fields.get("total") or 0),
            sent=int(fields.get("sent") or 0),
            blocked=int(fields.get("blocked") or 0),
            failed=int(fields.get("failed") or 0),
            created_by=int(fields.get("created_by") or 0),
            region=fields.get("region") or None,
            created_at=float(fields.get("created_at") or 0.0),
            started_at=_opt_float(fields.get("started_at")),
            finished_at=_opt_float(fields.get("finished_at")),
            progress_chat_id=_opt_int(fields.get("progress_chat_id")),
            progress_message_id=_opt_int(fields.get("progress_message_id")),
        )

    @property
    def done(self) -> int:
        """Chats dealt with so far: sent + blocked + failed."""
        return self.sent + self.blocked + self.failed

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done)

    @property
    def finished(self) -> bool:
        return self.status in (DONE, CANCELLED)

    @property
    def elapsed(self) -> float:
        """Seconds from the start of sending to its end (or to now while it runs)."""
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else time.time()
        return max(0.0, end - self.started_at)

    @property
    def rate(self) -> float:
        """Chats dealt with per second since sending started (0.0 before that). The time a job
        spent paused (flood control, or no worker running it) is included."""
        elapsed = self.elapsed
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds still needed at the current rate: 0.0 when the job is over or nothing is
        left, None while the rate is not known yet."""
        if self.finished or self.remaining == 0:
            return 0.0
        rate = self.rate
        return self.remaining / rate if rate > 0 else None


# -- Lua scripts (KEYS and ARGV documented at each) -------------------------------------------------

# KEYS lease; ARGV token, ms → 1 if renewed
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS lease; ARGV token → 1 if deleted
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS lease, meta; ARGV token, ms → {owned 0|1, status}
_HEARTBEAT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {0, ''}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, redis.call('HGET', KEYS[2], 'status') or ''}
"""

# KEYS lease, meta, queue, inflight; ARGV token, now → the status afterwards ('' unknown job,
# 'lost' lease not held). A pending or running job becomes running; in-flight chats go back to
# the head of the queue, in their order.
_BEGIN = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'lost'
end
local status = redis.call('HGET', KEYS[2], 'status')
if not status then
  return ''
end
if status ~= 'pending' and status ~= 'running' then
  return status
end
while redis.call('LMOVE', KEYS[4], KEYS[3], 'RIGHT', 'LEFT') do end
redis.call('HSET', KEYS[2], 'status', 'running')
if (redis.call('HGET', KEYS[2], 'started_at') or '') == '' then
  redis.call('HSET', KEYS[2], 'started_at', ARGV[2])
end
return 'running'
"""

# KEYS lease, meta, queue, inflight; ARGV token → {'chat', id} | {'empty', ''} | {'lost', ''}
# | {'status', status}
_TAKE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {'lost', ''}
end
local status = redis.call('HGET', KEYS[2], 'status')
if status ~= 'running' then
  return {'status', status or ''}
end
local chat = redis.call('LMOVE', KEYS[3], KEYS[4], 'LEFT', 'RIGHT')
if not chat then
  return {'empty', ''}
end
return {'chat', chat}
"""

# KEYS meta, inflight, queue; ARGV chat, counter → 1 if counted. The chat is counted only when
# it leaves the in-flight list (or, had the lease been lost meanwhile and the chat requeued by the
# next worker, the queue), so no counter ever passes the total.
_RECORD = """
local n = redis.call('LREM', KEYS[2], 1, ARGV[1])
if n == 0 then
  n = redis.call('LREM', KEYS[3], 1, ARGV[1])
end
if n > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
  return 1
end
return 0
"""

# KEYS lease, queue, inflight; ARGV token → how many chats went back to the queue
_REQUEUE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local n = 0
while redis.call('LMOVE', KEYS[3], KEYS[2], 'RIGHT', 'LEFT') do n = n + 1 end
return n
"""

# KEYS lease, meta, queue, inflight, active, audience; ARGV token, now, job id, retention
# → 1 if the job is now done
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if redis.call('HGET', KEYS[2], 'status') ~= 'running' then
  return 0
end
if redis.call('LLEN', KEYS[3]) > 0 or redis.call('LLEN', KEYS[4]) > 0 then
  return 0
end
redis.call('HSET', KEYS[2], 'status', 'done', 'finished_at', ARGV[2])
redis.call('ZREM', KEYS[5], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[6], ARGV[4])
return 1
"""

# KEYS meta, active, audience, queue, inflight; ARGV now, job id, retention → 1 if cancelled
_CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' and status ~= 'running' then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finished_at', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
for _, key in ipairs({KEYS[1], KEYS[3], KEYS[4], KEYS[5]}) do
  redis.call('EXPIRE', key, ARGV[3])
end
return 1
"""


@dataclass(frozen=True, slots=True)
class Take:
    """What `BroadcastStore.take` found: ``kind`` is ``chat`` (``chat_id`` set), ``empty`` (the
    queue is), ``lost`` (the lease is not ours) or ``status`` (the job is not running; ``status``
    says what it is)."""

    kind: str
    chat_id: int | None = None
    status: str | None = None


class BroadcastStore:
    """Broadcast jobs in Redis under ``{prefix}bc:`` (see the module docstring for the keys).

    The client may decode responses or not. Finished and cancelled jobs expire after
    ``retention`` seconds.
    """

    def __init__(self, redis: Redis, prefix: str = "yb:", *, retention: int = DEFAULT_RETENTION) -> None:
        self._redis = redis
        self._prefix = prefix
        self._retention = retention
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._begin = redis.register_script(_BEGIN)
        self._take = redis.register_script(_TAKE)
        self._record = redis.register_script(_RECORD)
        self._requeue = redis.register_script(_REQUEUE)
        self._finish = redis.register_script(_FINISH)
        self._cancel = redis.register_script(_CANCEL)

    @property
    def redis(self) -> Redis:
        return self._redis

    @property
    def prefix(self) -> str:
        return self._prefix

    # -- keys -------------------------------------------------------------------------------

    def _seq_key(self) -> str:
        return f"{self._prefix}bc:seq"

    def _jobs_key(self) -> str:
        return f"{self._prefix}bc:jobs"

    def _active_key(self) -> str:
        return f"{self._prefix}bc:active"

    def key(self, job_id: str, part: str) -> str:
        """The key of one part of a job: meta, audience, queue, inflight or lease."""
        return f"{self._prefix}bc:{job_id}:{part}"

    # -- jobs ---------------------------------------------------------------------------------

    async def create(
        self, text: str, audience: Sequence[int], *, created_by: int, region: str | None = None
    ) -> Job:
        """A pending job for ``audience`` (a snapshot: later subscriptions do not change it;
        repeated chat ids are sent to once). ``text`` is HTML, sent as it is."""
        if not text.strip():
            raise ValueError("a broadcast needs a text")
        chats = list(dict.fromkeys(int(chat_id) for chat_id in audience))
        job_id = str(await self._redis.incr(self._seq_key()))
        now = time.time()
        fields: dict[str, str] = {
            "text": text,
            "status": PENDING,
            "total": str(len(chats)),
            SENT: "0",
            BLOCKED: "0",
            FAILED: "0",
            "created_by": str(created_by),
            "region": region or "",
            "created_at": repr(now),
            "started_at": "",
            "finished_at": "",
            "progress_chat_id": "",
            "progress_message_id": "",
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key(job_id, "meta"), mapping=fields)
            for start in range(0, len(chats), _CHUNK):
                chunk = chats[start : start + _CHUNK]
                pipe.rpush(self.key(job_id, "audience"), *chunk)
                pipe.rpush(self.key(job_id, "queue"), *chunk)
            pipe.zadd(self._jobs_key(), {job_id: now})
            pipe.zadd(self._active_key(), {job_id: now})
            await pipe.execute()
        return Job.from_hash(job_id, fields)

    async def get(self, job_id: str) -> Job | None:
        raw = await cast(
            "Awaitable[dict[bytes | str, bytes | str]]", self._redis.hgetall(self.key(job_id, "meta"))
        )
        if not raw:
            return None
        return Job.from_hash(job_id, {as_text(k): as_text(v) for k, v in raw.items()})

    async def recent(self, limit: int = 5) -> list[Job]:
        """The newest ``limit`` jobs, newest first (ids of expired jobs are dropped)."""
        if limit <= 0:
            return []
        jobs: list[Job] = []
        start = 0
        while len(jobs) < limit:
            ids = [
                as_text(i) for i in await self._redis.zrevrange(self._jobs_key(), start, start + limit - 1)
            ]
            if not ids:
                break
            start += len(ids)
            expired: list[str] = []
            for job_id in ids:
                job = await self.get(job_id)
                if job is None:
                    expired.append(job_id)
                elif len(jobs) < limit:
                    jobs.append(job)
            if expired:
                await self._redis.zrem(self._jobs_key(), *expired)
                start -= len(expired)
        return jobs

    async def active_ids(self) -> list[str]:
        """Ids of pending and running jobs, oldest first."""
        return [as_text(i) for i in await self._redis.zrange(self._active_key(), 0, -1)]

    async def set_progress_message(self, job_id: str, chat_id: int, message_id: int) -> None:
        """Remember the admin's progress message, so whichever worker sends can edit it."""
        key = self.key(job_id, "meta")
        if await self._redis.exists(key):
            fields = {"progress_chat_id": str(chat_id), "progress_message_id": str(message_id)}
            await cast("Awaitable[int]", self._redis.hset(key, mapping=fields))

    async def cancel(self, job_id: str) -> bool:
        """Cancel a pending or running job; False when it is unknown, done or cancelled already.
        A worker sending it stops before its next message."""
        keys = [self.key(job_id, "meta"), self._active_key()]
        keys += [self.key(job_id, p) for p in ("audience", "queue", "inflight")]
        return bool(await self._cancel(keys=keys, args=[repr(time.time()), job_id, self._retention]))

    # -- leases and the queue (used by Broadcaster) ----------------------------------------------

    async def acquire_lease(self, job_id: str, token: str, ms: int) -> bool:
        return bool(await self._redis.set(self.key(job_id, "lease"), token, nx=True, px=ms))

    async def renew_lease(self, job_id: str, token: str, ms: int) -> bool:
        return bool(await self._renew(keys=[self.key(job_id, "lease")], args=[token, ms]))

    async def release_lease(self, job_id: str, token: str) -> bool:
        return bool(await self._release(keys=[self.key(job_id, "lease")], args=[token]))

    async def lease_holder(self, job_id: str) -> str | None:
        value: bytes | str | None = await self._redis.get(self.key(job_id, "lease"))
        return None if value is None else as_text(value)

    async def heartbeat(self, job_id: str, token: str, ms: int) -> tuple[bool, str]:
        """Renew the lease if it is ours; (owned, the job's status)."""
        owned, status = await self._heartbeat(
            keys=[self.key(job_id, "lease"), self.key(job_id, "meta")], args=[token, ms]
        )
        return bool(owned), as_text(status)

    def _job_keys(self, job_id: str) -> list[str]:
        return [self.key(job_id, p) for p in ("lease", "meta", "queue", "inflight")]

    async def begin(self, job_id: str, token: str) -> str:
        """With the lease held: make the job running and requeue its in-flight chats. Returns
        the status afterwards: ``running`` to go on, ``done``/``cancelled``, ``""`` for an
        unknown job, ``lost`` when the lease is not ours."""
        return as_text(await self._begin(keys=self._job_keys(job_id), args=[token, repr(time.time())]))

    async def take(self, job_id: str, token: str) -> Take:
        """Move the next chat from the queue to the in-flight list, if the lease is ours and the
        job is running."""
        kind_raw, value_raw = await self._take(keys=self._job_keys(job_id), args=[token])
        kind, value = as_text(kind_raw), as_text(value_raw)
        if kind == "chat":
            return Take(kind, chat_id=int(value))
        if kind == "status":
            return Take(kind, status=value or None)
        return Take(kind)

    async def record(self, job_id: str, chat_id: int, outcome: str) -> bool:
        """Count ``outcome`` for the in-flight ``chat_id`` and drop it from the in-flight list."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}")
        keys = [self.key(job_id, p) for p in ("meta", "inflight", "queue")]
        return bool(await self._record(keys=keys, args=[chat_id, outcome]))

    async def requeue(self, job_id: str, token: str) -> int:
        keys = [self.key(job_id, p) for p in ("lease", "queue", "inflight")]
        return int(await self._requeue(keys=keys, args=[token]))

    async def finish(self, job_id: str, token: str) -> bool:
        """Mark a running job whose queue and in-flight list are empty as done."""
        keys = [*self._job_keys(job_id), self._active_key(), self.key(job_id, "audience")]
        return bool(await self._finish(keys=keys, args=[token, repr(time.time()), job_id, self._retention]))


# -- pacing -------------------------------------------------------------------------------------


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up. `reserve` takes a token now and says
    how long to wait before using it, so waiting callers queue up in order."""

    def __init__(self, rate: float, burst: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._last = clock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        return now

    def reserve(self) -> float:
        """Take a token; the seconds until it is due (0.0: now)."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def hold(self, seconds: float) -> None:
        """No token is due before ``seconds`` from now (e.g. a flood wait)."""
        self._refill()
        self._tokens = min(self._tokens, 1.0 - seconds * self.rate)

    def idle(self) -> bool:
        """Full again: nobody has used it for a while (a per-chat bucket can be forgotten)."""
        self._refill()
        return self._tokens >= self.burst


# -- the sender ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    job_id: str
    token: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    lost: bool = False


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Broadcaster:
    """Sends broadcast jobs (see the module docstring for the rules and the API)."""

    _MAX_CHAT_BUCKETS = 4096  # forget idle per-chat buckets beyond this many

    def __init__(
        self,
        bot: Bot,
        store: BroadcastStore,
        *,
        rate: float = 25,
        worker_id: str | None = None,
        on_blocked: ChatCallback | None = None,
        on_migrated: MigrateCallback | None = None,
        progress: ProgressCallback | None = None,
        retry_delays: Sequence[float] = (0.5, 1, 2),
        max_flood_retries: int = 5,
        lease_ms: int = 15000,
        progress_every: float = 3.0,
        chat_rate: float = 1.0,
        group_rate: float = 20 / 60,
        poll_interval: float = 1.0,
        on_outcome: Callable[[str], None] | None = None,
        health: RedisHealth | None = None,
    ) -> None:
        if rate <= 0 or chat_rate <= 0 or group_rate <= 0:
            raise ValueError("rates must be positive")
        if lease_ms < 300:
            raise ValueError("lease_ms must be at least 300")
        self._bot = bot
        self._store = store
        self.rate = rate
        self.worker_id = worker_id or default_worker_id()
        self._on_blocked = on_blocked
        self._on_migrated = on_migrated
        self._progress = progress
        self._retry_delays = tuple(float(d) for d in retry_delays)
        self._max_flood_retries = max_flood_retries
        self._lease_ms = lease_ms
        self._progress_every = progress_every
        self._chat_rate = chat_rate
        self._group_rate = min(chat_rate, group_rate)
        self._poll_interval = poll_interval
        self._on_outcome = on_outcome  # sent / blocked / failed, for metrics
        self._health = health or RedisHealth()  # a Redis outage is logged once, not every poll
        self._global = TokenBucket(rate)
        self._chats: dict[int, TokenBucket] = {}
        self._runs: dict[str, _Run] = {}
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._closing = False

    # -- background loop -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the background loop (no-op when it runs already)."""
        if self.running:
            return
        self._closing = False
        self._task = asyncio.create_task(self._loop(), name=f"broadcaster {self.worker_id}")

    def notify(self) -> None:
        """Look for jobs now rather than at the next poll (e.g. right after `create`)."""
        self._wakeup.set()

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a grace period, not a deadline
        """Stop the loop and any job this Broadcaster sends: the message being sent is finished
        and recorded, the lease released, and the job left for the next worker. After
        ``timeout`` seconds the task is cancelled (then at most its in-flight message may be
        sent again by whoever resumes)."""
        self._closing = True
        for run in self._runs.values():
            run.stop.set()
        self._wakeup.set()
        task, self._task = self._task, None
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while not self._closing:
            try:
                active = await self._store.active_ids()
                self._health.ok()
                for job_id in active:
                    if self._closing:
                        break
                    await self.run(job_id)
            except OUTAGE_ERRORS as error:  # Redis is away: the job waits, and resumes after
                self._health.failed(error, "broadcasting")
            except Exception:
                log.exception("broadcast loop: looking for jobs failed")
            self._wakeup.clear()
            if self._closing:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)

    async def cancel(self, job_id: str) -> bool:
        """`BroadcastStore.cancel`, and stop this process's sending of it at once."""
        cancelled = await self._store.cancel(job_id)
        run = self._runs.get(job_id)
        if run is not None:
            run.stop.set()
        return cancelled

    # -- one job ---------------------------------------------------------------------------------

    async def run(self, job_id: str) -> Job | None:
        """Send job ``job_id`` to its end (or until it is cancelled, this Broadcaster is stopped,
        or the lease is lost). Returns the job as it is then; None when the job is unknown or
        another worker holds its lease."""
        token = f"{self.worker_id}/{secrets.token_hex(4)}"
        if not await self._store.acquire_lease(job_id, token, self._lease_ms):
            return None
        run = _Run(job_id, token)
        self._runs[job_id] = run
        watcher: asyncio.Task[None] | None = None
        try:
            status = await self._store.begin(job_id, token)
            if status != RUNNING:
                return None if status in ("", "lost") else await self._store.get(job_id)
            job = await self._store.get(job_id)
            if job is None:
                return None
            if self._closing:
                run.stop.set()
            watcher = asyncio.create_task(self._watch(run), name=f"broadcast lease {job_id}")
            log.info("broadcast %s: sending to %d of %d chats", job_id, job.remaining, job.total)
            return await self._send_all(job, run)
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            self._runs.pop(job_id, None)
            if not run.lost:
                try:
                    await self._store.release_lease(job_id, token)
                except Exception:  # the lease expires by itself
                    log.warning("broadcast %s: could not release the lease", job_id, exc_info=True)

    async def _watch(self, run: _Run) -> None:
        """Renew the lease while sending; stop the run when the lease is lost or the job is no
        longer running (cancelled by anyone)."""
        interval = min(1.0, self._lease_ms / 3000)
        while True:
            await asyncio.sleep(interval)
            try:
                owned, status = await self._store.heartbeat(run.job_id, run.token, self._lease_ms)
            except Exception:
                log.warning("broadcast %s: renewing the lease failed", run.job_id, exc_info=True)
                continue
            if not owned:
                log.warning("broadcast %s: lease lost; another worker may go on", run.job_id)
                run.lost = True
                run.stop.set()
                return
            if status != RUNNING:
                run.stop.set()
                return

    async def _send_all(self, job: Job, run: _Run) -> Job:
        store = self._store
        last_progress = time.monotonic()
        ended = False  # the job ended (done or cancelled) in this run
        while not run.stop.is_set():
            taken = await store.take(job.id, run.token)
            if taken.kind == "lost":
                run.lost = True
                break
            if taken.kind == "status":
                ended = taken.status in (DONE, CANCELLED)
                break
            if taken.kind == "empty":
                ended = await store.finish(job.id, run.token)
                break
            assert taken.chat_id is not None
            outcome = await self._deliver(job, taken.chat_id, run)
            if outcome is None:  # interrupted before it was sent
                if not run.lost:
                    await store.requeue(job.id, run.token)
                break
            if outcome == BLOCKED and self._on_blocked is not None:
                try:
                    await self._on_blocked(taken.chat_id)
                except Exception:
                    log.exception("broadcast %s: on_blocked(%s) failed", job.id, taken.chat_id)
            await store.record(job.id, taken.chat_id, outcome)
            if self._on_outcome is not None:
                self._on_outcome(outcome)
            if self._progress is not None and time.monotonic() - last_progress >= self._progress_every:
                current = await store.get(job.id)
                if current is not None:
                    await self._report(current)
                # Counted from the end of this report, so two reports are never closer than
                # the period however long reading the job or the callback took.
                last_progress = time.monotonic()
        final = await store.get(job.id) or job
        if not run.lost and final.status == CANCELLED:
            ended = True
        if ended:
            log.info(
                "broadcast %s %s: %d sent, %d blocked, %d failed of %d",
                final.id,
                final.status,
                final.sent,
                final.blocked,
                final.failed,
                final.total,
            )
            await self._report(final)
        return final

    async def _report(self, job: Job) -> None:
        if self._progress is None:
            return
        try:
            await self._progress(job)
        except Exception:
            log.exception("broadcast %s: progress callback failed", job.id)

    # -- one chat ----------------------------------------------------------------------------------

    def _chat_bucket(self, chat_id: int) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) >= self._MAX_CHAT_BUCKETS:
                self._chats = {c: b for c, b in self._chats.items() if not b.idle()}
            bucket = TokenBucket(self._group_rate if chat_id < 0 else self._chat_rate)
            self._chats[chat_id] = bucket
        return bucket

    async def _sleep(self, seconds: float, run: _Run) -> bool:
        """Sleep unless the run is stopped; False when it was (at once or meanwhile)."""
        if run.stop.is_set():
            return False
        if seconds <= 0:
            return True
        try:
            await asyncio.wait_for(run.stop.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def _pace(self, chat_id: int, run: _Run) -> bool:
        """Wait for a token of the chat's bucket, then of the global one."""
        return await self._sleep(self._chat_bucket(chat_id).reserve(), run) and await self._sleep(
            self._global.reserve(), run
        )

    async def _deliver(self, job: Job, chat_id: int, run: _Run) -> str | None:
        """Send ``job.text`` to ``chat_id``, retrying as the rules say; the outcome, or None when
        the run was stopped before the message went out."""
        target = chat_id
        errors = floods = 0
        while True:
            if not await self._pace(target, run):
                return None
            try:
                await self._bot.send_message(target, job.text, parse_mode="HTML")
                return SENT
            except TelegramRetryAfter as exc:
                floods += 1
                if floods > self._max_flood_retries:
                    log.warning(
                        "broadcast %s: chat %s failed: flood control %d times", job.id, chat_id, floods
                    )
                    return FAILED
                log.warning("broadcast %s: flood control, pausing %ss", job.id, exc.retry_after)
                self._global.hold(exc.retry_after)
                continue
            except TelegramMigrateToChat as exc:
                if target == chat_id:  # follow a migration once
                    target = exc.migrate_to_chat_id
                    await self._migrated(job, chat_id, target)
                    continue
                error: Exception = exc
            except TelegramForbiddenError as exc:
                log.info("broadcast %s: chat %s is gone: %s", job.id, chat_id, exc.message)
                return BLOCKED
            except TelegramBadRequest as exc:
                if any(marker in exc.message.lower() for marker in GONE_MARKERS):
                    log.info("broadcast %s: chat %s is gone: %s", job.id, chat_id, exc.message)
                    return BLOCKED
                error = exc
            except Exception as exc:
                error = exc
            if errors >= len(self._retry_delays):
                log.warning(
                    "broadcast %s: chat %s failed after %d attempts: %r", job.id, chat_id, errors + 1, error
                )
                return FAILED
            delay = self._retry_delays[errors]
            errors += 1
            log.info("broadcast %s: chat %s: %r; retry in %ss", job.id, chat_id, error, delay)
            if not await self._sleep(delay, run):
                return None

    async def _migrated(self, job: Job, old: int, new: int) -> None:
        log.info("broadcast %s: chat %s moved to %s", job.id, old, new)
        if self._on_migrated is None:
            return
        try:
            await self._on_migrated(old, new)
        except Exception:
            log.exception("broadcast %s: on_migrated(%s, %s) failed", job.id, old, new)


__all__ = [
    "BLOCKED",
    "CANCELLED",
    "DONE",
    "FAILED",
    "PENDING",
    "RUNNING",
    "SENT",
    "BroadcastStore",
    "Broadcaster",
    "Job",
    "Take",
    "TokenBucket",
]
