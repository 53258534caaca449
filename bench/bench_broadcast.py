"""Broadcast engine (bot/broadcast.py) against the Bot API stub enforcing Telegram's 30 messages/s.

    .venv/bin/python bench/bench_broadcast.py [--subscribers 5000] [--rate 25] [--skip-plain]
        [--skip-kill] [--lease-ms 3000]

The stub (tests/stub_api.py) runs in this process and answers sendMessage beyond 30 a second
(token bucket, burst 30) with 429 and retry_after. The sender runs in a child process
(bench/broadcast_worker.py): a Broadcaster with Redis (REDIS_URL, default
redis://127.0.0.1:6379/0) under a private key prefix, deleted afterwards (only that prefix).

- plain: one worker creates a job for private chats 1..N and sends it at the default settings.
- kill: worker #1 creates the job and sends; once N/2 sendMessage calls have reached the stub it
  gets SIGKILL, and worker #2 (background loop only, as a restarted bot) resumes the job when
  the dead worker's lease (``--lease-ms``) has expired.

Per run: the delivery rate (messages answered 200, divided by the time from the first to the
last of them, by arrival at the stub), the 429s, duplicates (chats that received the message
more than once) and losses (chats that never received it); for the kill run also each phase's
rate and the resume gap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import shlex
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.broadcast import BroadcastStore
from tests.stub_api import Call, StubBotAPI

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "bench" / "broadcast_worker.py"
TELEGRAM_LIMIT = 30  # messages a second, enforced by the stub


@dataclass
class Worker:
    """A broadcast_worker.py child process and the JSON events it printed."""

    proc: asyncio.subprocess.Process
    started_at: float
    events: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @classmethod
    async def spawn(cls, *args: str) -> Worker:
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        worker = cls(proc, started)
        worker.reader = asyncio.create_task(worker._read())
        return worker

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))

    def event(self, name: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("event") == name), None)

    async def wait_event(self, name: str, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while (found := self.event(name)) is None:
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {self.proc.pid}: no {name!r} event (exit {self.proc.returncode})")
            await asyncio.sleep(0.01)
        return found

    async def finish(self, timeout: float) -> int:  # noqa: ASYNC109
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self.reader is not None:
            await self.reader
        return code

    async def kill(self) -> None:
        """SIGKILL this child (only it, by its pid) unless it has exited already."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()
        if self.reader is not None:
            await self.reader


@dataclass
class Tally:
    """What a stretch of sendMessage calls delivered."""

    calls: int
    delivered: int
    flood: int  # 429 answers
    other_errors: int
    first: float | None
    last: float | None
    per_chat: Counter[int]

    @classmethod
    def of(cls, calls: Sequence[Call]) -> Tally:
        ok = [c for c in calls if c.status == 200 and c.result is not None]
        return cls(
            calls=len(calls),
            delivered=len(ok),
            flood=sum(1 for c in calls if c.status == 429),
            other_errors=sum(1 for c in calls if c.status not in (200, 429)),
            first=ok[0].at if ok else None,
            last=ok[-1].at if ok else None,
            per_chat=Counter(c.params["chat_id"] for c in ok),
        )

    @property
    def span(self) -> float:
        return 0.0 if self.first is None or self.last is None else self.last - self.first

    @property
    def rate(self) -> float:
        return self.delivered / self.span if self.span > 0 else 0.0


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_delivery(label: str, tally: Tally, rate: float) -> None:
    share = tally.rate / rate * 100
    print(
        f"  {label}: {tally.delivered} delivered in {tally.span:.2f} s = {tally.rate:.2f}/s"
        f" ({share:.1f}% of {rate:g}/s); {tally.calls} sendMessage calls, {tally.flood} answered 429,"
        f" {tally.other_errors} other errors"
    )


def print_outcome(total: Tally, subscribers: int, max_duplicates: int) -> tuple[int, int]:
    duplicates = sum(1 for n in total.per_chat.values() if n > 1)
    extra = sum(n - 1 for n in total.per_chat.values() if n > 1)
    losses = sum(1 for chat in range(1, subscribers + 1) if total.per_chat[chat] == 0)
    strays = sum(1 for chat in total.per_chat if not 1 <= chat <= subscribers)
    listed = sorted(chat for chat, n in total.per_chat.items() if n > 1)[:10]
    which = f" {listed}" if listed else ""
    target = f"<= {max_duplicates}" if max_duplicates else "0"
    print(
        f"  duplicates: {duplicates} chats ({extra} extra messages){which}"
        f" [target {target}: {verdict(duplicates <= max_duplicates)}]"
    )
    print(f"  losses: {losses} of {subscribers} chats [target 0: {verdict(losses == 0)}]")
    if strays:
        print(f"  messages to chats outside 1..{subscribers}: {strays}")
    return duplicates, losses


async def delete_prefix(redis: Redis, prefix: str) -> int:
    keys = [key async for key in redis.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await redis.delete(*keys)
    return len(keys)


def worker_args(stub: StubBotAPI, prefix: str, redis_url: str, rate: float, *extra: str) -> list[str]:
    return [
        "--stub-url",
        stub.base_url,
        "--prefix",
        prefix,
        "--redis-url",
        redis_url,
        "--rate",
        str(rate),
        *extra,
    ]


async def run(kind: str, args: argparse.Namespace, redis_url: str) -> bool:
    """One benchmark run (``plain`` or ``kill``); True when every target was met."""
    n, rate = args.subscribers, args.rate
    timeout = n / rate * 1.5 + 60
    stub = StubBotAPI()
    await stub.start()
    stub.rate_limit(TELEGRAM_LIMIT, methods=["sendMessage"])
    prefix = f"ybbench:bc:{uuid.uuid4().hex[:12]}:"
    redis = Redis.from_url(redis_url, decode_responses=True)
    store = BroadcastStore(redis, prefix=prefix)
    workers: list[Worker] = []
    facts: dict[str, Any] = {}
    try:
        base = worker_args(stub, prefix, redis_url, rate)
        lease = ["--lease-ms", str(args.lease_ms)] if kind == "kill" else []
        first = await Worker.spawn(*base, "--create", str(n), *lease)
        workers.append(first)
        job_id = str((await first.wait_event("job", 60))["job"])
        if kind == "plain":
            code = await first.finish(timeout)
            facts["exit"] = code
        else:
            half = n // 2
            deadline = time.monotonic() + timeout
            while len(stub.calls("sendMessage")) < half:
                if first.proc.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker #1 ended before {half} sendMessage calls")
                await asyncio.sleep(0.005)
            kill_at = time.monotonic()
            await first.kill()  # os.kill(pid, SIGKILL), then reap it
            facts["kill_at"] = kill_at
            facts["calls_at_kill"] = len(stub.calls("sendMessage"))
            facts["lease_pttl"] = await redis.pttl(store.key(job_id, "lease"))
            facts["inflight"] = await redis.lrange(store.key(job_id, "inflight"), 0, -1)
            second = await Worker.spawn(*base, "--job", job_id, *lease)
            workers.append(second)
            facts["ready_after"] = (await second.wait_event("ready", 60))["at"] - kill_at
            facts["exit"] = await second.finish(timeout)
        job = await store.get(job_id)
    finally:
        for worker in workers:
            await worker.kill()
        await stub.stop()
        deleted = await delete_prefix(redis, prefix)
        await redis.aclose()

    calls = stub.calls("sendMessage")
    total = Tally.of(calls)
    ok = True
    if kind == "plain":
        print(f"\n[plain] one sender process, Broadcaster(rate={rate:g}) defaults otherwise")
        print_delivery("delivery", total, rate)
        rate_ok = total.rate >= 0.95 * rate
        print(f"  rate target >= 95% of {rate:g}/s: {verdict(rate_ok)}")
        print(f"  429s: {total.flood} [target 0: {verdict(total.flood == 0)}]")
        duplicates, losses = print_outcome(total, n, 0)
        ok = rate_ok and total.flood == 0 and duplicates == 0 and losses == 0
    else:
        kill_at = facts["kill_at"]
        before = Tally.of([c for c in calls if c.at < kill_at])
        after = Tally.of([c for c in calls if c.at >= kill_at])
        print(
            f"\n[kill] Broadcaster(rate={rate:g}, lease_ms={args.lease_ms}); worker #1 SIGKILLed after"
            f" {facts['calls_at_kill']} sendMessage calls, worker #2 resumes"
        )
        print_delivery("worker #1 (before the kill)", before, rate)
        print_delivery("worker #2 (after the restart)", after, rate)
        print_delivery("whole job, gap included", total, rate)
        assert before.last is not None and after.first is not None
        print(
            f"  resume gap: {after.first - before.last:.2f} s from worker #1's last delivery to worker #2's"
            f" first ({after.first - kill_at:.2f} s after the kill; the dead lease had"
            f" {facts['lease_pttl']} ms left, worker #2 was up {facts['ready_after']:.2f} s after the kill;"
            f" in flight at the kill: {facts['inflight'] or 'none'})"
        )
        phases_ok = before.rate >= 0.95 * rate and after.rate >= 0.95 * rate
        print(f"  per-phase rate target >= 95% of {rate:g}/s: {verdict(phases_ok)}")
        print(f"  429s: {total.flood} [target 0: {verdict(total.flood == 0)}]")
        duplicates, losses = print_outcome(total, n, 1)
        ok = phases_ok and total.flood == 0 and duplicates <= 1 and losses == 0
    if job is None:
        print("  job: gone from Redis")
        ok = False
    else:
        print(
            f"  job {job.id}: {job.status}, sent {job.sent} blocked {job.blocked} failed {job.failed}"
            f" of {job.total}; Job.rate {job.rate:.2f}/s; worker exit code {facts['exit']}"
        )
        ok = ok and job.status == "done" and job.sent == n
    print(f"  Redis keys deleted (prefix {prefix!r}): {deleted}")
    return ok


def machine_facts(redis_version: str) -> str:
    cores = os.cpu_count()
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo") as fh:
            kib = int(fh.readline().split()[1])
        mem = f", {kib / 2**20:.0f} GiB"
    return (
        f"{platform.platform()} ({platform.machine()}), {cores} cores{mem},"
        f" Python {platform.python_version()}, Redis {redis_version}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=25, help="Broadcaster rate (BROADCAST_RATE)")
    parser.add_argument("--lease-ms", type=int, default=3000, help="lease of the kill run's workers")
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument("--skip-kill", action="store_true")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    redis = Redis.from_url(redis_url, decode_responses=True)
    info = await redis.info("server")
    await redis.aclose()

    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}")
    print(f"machine: {machine_facts(str(info.get('redis_version', '?')))}")
    print(
        f"setup: stub enforces {TELEGRAM_LIMIT} sendMessage/s (burst {TELEGRAM_LIMIT}, 429 + retry_after"
        f" beyond) in this process; sender in a child process; {args.subscribers} private chats"
        f" (1..{args.subscribers}); delivered = answered 200; rate = delivered / first-to-last delivery"
    )
    sys.stdout.flush()
    results = []
    if not args.skip_plain:
        results.append(await run("plain", args, redis_url))
        sys.stdout.flush()
    if not args.skip_kill:
        results.append(await run("kill", args, redis_url))
    print(f"\nall targets met: {'yes' if all(results) else 'NO'}")


if __name__ == "__main__":
    asyncio.run(main())
