"""End-to-end throughput of the bot against the Bot API stub, next to a bare aiogram echo bot.

    .venv/bin/python bench/bench_bot.py [--users 200] [--per-user 10] [--runs 3]

Each run queues users × per-user question updates in a fresh stub server (tests/stub_api.py,
on 127.0.0.1), starts long polling and times until every update has been answered. The echo
bot is a Dispatcher with one handler that sends the text back. Our bot keeps its state in
Redis (REDIS_URL, default redis://127.0.0.1:6379/0) under a private key prefix that is
deleted afterwards. Reports updates/s (median of runs), handler time p50/p99 and RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiogram import Bot, Dispatcher
from aiogram.types import Message, TelegramObject
from redis.asyncio import Redis

from bot.app import create_bot, create_dispatcher
from bot.settings import load_settings
from knowledge.engine import load_engine
from knowledge.evaluate import EVAL_DIR, load_cases
from tests.stub_api import StubBotAPI


def rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Timer:
    """Outer middleware that records how long each update takes to handle."""

    def __init__(self) -> None:
        self.ms: list[float] = []

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        start = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            self.ms.append((time.perf_counter() - start) * 1000)


async def echo(message: Message) -> None:
    await message.answer(message.text or "")


async def run_once(
    kind: str, questions: list[str], users: int, per_user: int, redis_url: str
) -> dict[str, float]:
    stub = StubBotAPI(poll_cap=0.2)
    base = await stub.start()
    prefix = f"ybbench:{uuid.uuid4().hex[:8]}:"
    timer = Timer()
    if kind == "echo":
        bot = Bot(
            "42:TEST", session=create_bot(load_settings(bot_token="42:TEST", telegram_api_url=base)).session
        )
        dp = Dispatcher()
        dp.message.register(echo)
    else:
        settings = load_settings(bot_token="42:TEST", telegram_api_url=base, redis_url=redis_url)
        bot = create_bot(settings)
        dp = create_dispatcher(settings, engine=ENGINE, prefix=prefix)
    dp.update.outer_middleware(timer)
    rng = random.Random(1)
    total = users * per_user
    for _i in range(per_user):
        for user in range(users):
            stub.push_message(10_000 + user, 10_000 + user, rng.choice(questions))
    start = time.perf_counter()
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    await stub.wait_for("sendMessage", count=total, timeout=600)
    elapsed = time.perf_counter() - start
    await dp.stop_polling()
    await task
    await stub.stop()
    if kind == "bot":
        redis = Redis.from_url(redis_url)
        keys = [k async for k in redis.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
    ordered = sorted(timer.ms)
    return {
        "rate": total / elapsed,
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
    }


ENGINE = load_engine()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--per-user", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    questions = [c.q for c in load_cases(EVAL_DIR / "dev.yaml") if c.kind in ("in", "oos", "near")]
    results: dict[str, list[dict[str, float]]] = {"echo": [], "bot": []}
    for _ in range(args.runs):
        for kind in ("echo", "bot"):
            results[kind].append(await run_once(kind, questions, args.users, args.per_user, redis_url))
    total = args.users * args.per_user
    print(f"{args.users} users x {args.per_user} updates = {total} updates, {args.runs} runs")
    for kind, runs in results.items():
        rates = [r["rate"] for r in runs]
        listed = ", ".join(f"{x:.1f}" for x in rates)
        print(
            f"{kind:5s} updates/s median {statistics.median(rates):7.1f} (runs: {listed})"
            f"  handler p50 {statistics.median(r['p50'] for r in runs):.2f} ms"
            f"  p99 {statistics.median(r['p99'] for r in runs):.2f} ms"
        )
    ratio = statistics.median(r["rate"] for r in results["bot"]) / statistics.median(
        r["rate"] for r in results["echo"]
    )
    print(f"bot / echo rate: {ratio:.2f}")
    print(f"process RSS: {rss_mib():.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
