"""The sending process of bench/bench_broadcast.py: one Broadcaster against the Bot API stub.

    .venv/bin/python bench/broadcast_worker.py --stub-url URL --prefix PREFIX \\
        (--create N | --job ID) [--rate 25] [--lease-ms MS] [--redis-url URL]

With ``--create N`` it creates a job for chats 1..N and sends it; with ``--job ID`` it only starts
the background loop, which resumes the active job once its lease is free (that is how a restarted
bot picks a broadcast up). Either way it runs until the job is done or cancelled, then stops.

It writes one JSON line per event on stdout (``ready``, ``job``, ``end``), each with
``time.monotonic()`` (the same clock as the parent's on Linux), so the parent can time the
start-up and the resume.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from redis.asyncio import Redis

from bot.broadcast import Broadcaster, BroadcastStore

TEXT = "<b>医保通知</b>：2025年居民医保缴费将于12月31日截止 &amp; 请及时缴纳。"
ADMIN = 777


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "at": time.monotonic(), "pid": os.getpid(), **fields}), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stub-url", required=True)
    parser.add_argument("--prefix", required=True, help="Redis key prefix of this benchmark run")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--create", type=int, metavar="N", help="create a job for chats 1..N and send it")
    what.add_argument("--job", help="resume this job (started by another process)")
    parser.add_argument("--rate", type=float, default=25)
    parser.add_argument("--lease-ms", type=int, default=None, help="default: Broadcaster's")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, format=f"worker {os.getpid()} %(levelname)s %(name)s: %(message)s"
    )

    redis = Redis.from_url(args.redis_url, decode_responses=True)
    bot = Bot("42:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base(args.stub_url)))
    store = BroadcastStore(redis, prefix=args.prefix)
    extra: dict[str, Any] = {} if args.lease_ms is None else {"lease_ms": args.lease_ms}
    broadcaster = Broadcaster(bot, store, rate=args.rate, **extra)
    try:
        emit("ready")
        if args.create is not None:
            job = await store.create(TEXT, range(1, args.create + 1), created_by=ADMIN)
            job_id = job.id
            emit("job", job=job_id, total=job.total)
        else:
            job_id = args.job
        broadcaster.start()
        broadcaster.notify()
        while True:
            current = await store.get(job_id)
            if current is None or current.finished:
                break
            await asyncio.sleep(0.2)
        await broadcaster.stop()
        if current is None:
            emit("end", job=job_id, status="unknown")
        else:
            emit(
                "end",
                job=job_id,
                status=current.status,
                total=current.total,
                sent=current.sent,
                blocked=current.blocked,
                failed=current.failed,
                job_rate=current.rate,
            )
    finally:
        await broadcaster.stop()
        await bot.session.close()
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
