"""How long an operator's change takes to be live on every replica (issue #11: within 5 s).

    .venv/bin/python bench/bench_changes.py [--replicas 2] [--rounds 10] [--interval 1.0]

Replicas are child processes, each as a bot process runs it: the shipped engine, a Dialogue and
a KnowledgeSync polling the change log in Redis (REDIS_URL, default redis://127.0.0.1:6379/0)
every `--interval` seconds (the production 1 s) under a private key prefix, deleted afterwards
(only that prefix). Each replica asks itself the probe question every 20 ms and reports (RPUSH
to the prefix's events list, wall clock) each time its answer changes.

The writer (this process) appends the changes as the console does: odd rounds add the probe as
an alternate phrasing of its entry, even rounds revert that change, so every round flips the
answer on every replica. A round's figure is the time from the append to the last replica
answering the new way; rounds start at random offsets from the replicas' polling ticks.
Also printed: the rebuild alone (Engine.with_changes on the shipped knowledge, in this process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis

from bot.changelog import RedisChangeLog
from bot.dialogue import Dialogue
from bot.knowledge_sync import KnowledgeSync
from bot.state import MemoryStore
from knowledge.engine import load_engine
from knowledge.overlay import ALTERNATE, REVERT

PROBE = "有医保的咨询电话没"  # not answered by the shipped knowledge
ENTRY = "ka.hotline-12333"
CHECK_EVERY = 0.02


async def replica(url: str, prefix: str, name: str, interval: float) -> None:
    engine = load_engine()
    engine.warm()
    redis = Redis.from_url(url, decode_responses=True)
    dialogue = Dialogue(engine, MemoryStore())
    sync = KnowledgeSync(dialogue, RedisChangeLog(redis, prefix), interval=interval)
    await sync.refresh()
    sync.start()
    answers: bool | None = None
    try:
        while True:
            decision = dialogue.engine.decide(PROBE)
            now = decision.kind == "answer" and decision.entry is not None and decision.entry.id == ENTRY
            if now != answers:
                answers = now
                event = {"replica": name, "answers": now, "at": time.time(), "version": sync.version}
                await cast(Awaitable[int], redis.rpush(f"{prefix}bench:events", json.dumps(event)))
            if await redis.exists(f"{prefix}bench:stop"):
                return
            await asyncio.sleep(CHECK_EVERY)
    finally:
        await sync.stop()
        await redis.aclose()


async def wait_for_states(
    redis: Redis, key: str, names: list[str], answers: bool, within: float
) -> dict[str, float]:
    """Read events until every replica has reported `answers`; returns when each did."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + within
    while len(seen) < len(names):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"replicas {sorted(set(names) - set(seen))} never answered={answers}")
        popped = await cast(Awaitable[list[str] | None], redis.blpop([key], timeout=min(remaining, 1.0)))
        if popped is None:
            continue
        event = json.loads(popped[1])
        if event["answers"] == answers:
            seen[event["replica"]] = event["at"]
    return seen


def rebuild_seconds(repeat: int) -> list[float]:
    engine = load_engine()
    engine.warm()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        engine.with_changes(None, [])
        times.append(time.perf_counter() - started)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0, help="KnowledgeSync polling interval (s)")
    parser.add_argument("--replica", help=argparse.SUPPRESS)  # child mode: its name
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if args.replica:
        await replica(url, args.prefix, args.replica, args.interval)
        return

    prefix = f"ybbench:{uuid.uuid4().hex[:10]}:"
    redis = Redis.from_url(url, decode_responses=True)
    events = f"{prefix}bench:events"
    names = [f"r{i + 1}" for i in range(args.replicas)]
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--replica",
            name,
            "--prefix",
            prefix,
            "--interval",
            str(args.interval),
        )
        for name in names
    ]
    try:
        await wait_for_states(redis, events, names, answers=False, within=120)  # all started
        log = RedisChangeLog(redis, prefix)
        spans: list[float] = []
        added = None
        for round_ in range(1, args.rounds + 1):
            await asyncio.sleep(random.uniform(0.3, 1.3))  # somewhere between two polling ticks
            started = time.time()
            if added is None:
                added = await log.append(ALTERNATE, {"entry": ENTRY, "text": PROBE}, "bench")
                want = True
            else:
                await log.append(REVERT, {"change": added.id}, "bench")
                added, want = None, False
            seen = await wait_for_states(redis, events, names, answers=want, within=30)
            span = max(seen.values()) - started
            spans.append(span)
            each = ", ".join(f"{n} {seen[n] - started:.2f} s" for n in names)
            print(f"round {round_} ({'add' if want else 'revert'}): live on all in {span:.2f} s ({each})")
        await redis.set(f"{prefix}bench:stop", "1")
        for child in children:
            await asyncio.wait_for(child.wait(), timeout=30)
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
        keys = [k async for k in redis.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()

    rebuilds = rebuild_seconds(5)
    print()
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()};"
        f" {datetime.date.today().isoformat()}"
    )
    print(f"command: .venv/bin/python bench/bench_changes.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"time to live on all {args.replicas} replicas (polling every {args.interval:g} s),"
        f" {len(spans)} changes: median {statistics.median(spans):.2f} s,"
        f" min {min(spans):.2f} s, max {max(spans):.2f} s"
    )
    rebuild = statistics.median(rebuilds)
    print(f"rebuild alone (Engine.with_changes, shipped knowledge): median {rebuild:.2f} s")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
