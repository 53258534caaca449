"""A bounded mixed load against the bot, from outside (issue #10).

    .venv/bin/python bench/load_bot.py [--seconds 60] [--users 600] [--think 4]
    .venv/bin/python bench/load_bot.py --restart-redis      # Redis restarted once, mid-run

Our bot runs as `python -m bot` (long polling, default settings, INFO logs to a file) in a child
process, against the Bot API stub (tests/stub_api.py) in this process and a Redis of the
bench's own (AOF, appendfsync everysec, as in deploy/). Loopback only; the run is bounded in
time and each user waits for the bot before going on.

Each simulated user is a loop: send something, wait for the bot's answer (≤ 15 s; none is a
lost reply), think 0.5–1.5 × --think seconds, repeat. What they send: a question from the
dev set (in-scope, out-of-scope, near-domain); when the reply asks back with choices, a press
of one; when it offers related questions, sometimes a press of one or a 👍/👎. A sixth of the
users subscribe first; after a third of the run an admin previews and confirms one broadcast,
which must reach each subscriber exactly once.

Reported: updates sent, replies, lost replies, replies that said the profile could not be
read, warning/error lines in the bot's log, reply latency p50/p99, throughput, and the bot's
RSS (mean of the first 10 s and of the last 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_bot import TOKEN, rss_mib
from bot import texts
from knowledge.evaluate import EVAL_DIR, load_cases
from tests.redis_server import PrivateRedis, free_port
from tests.stub_api import StubBotAPI

ROOT = Path(__file__).resolve().parents[1]
ADMIN = 777
FIRST_USER = 50_000
REPLY_WAIT = 15.0
BROADCAST_TEXT = "【压测通知】这是一条只应收到一次的广播。"


class ListeningStub(StubBotAPI):
    """The stub, telling waiters about each sendMessage and answerCallbackQuery as it is answered."""

    def __init__(self) -> None:
        super().__init__(poll_cap=1.0)
        self.messages: dict[int, asyncio.Queue[dict[str, Any]]] = defaultdict(asyncio.Queue)
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.broadcasts: dict[int, int] = defaultdict(int)
        for method, notify in (("sendmessage", self._sent), ("answercallbackquery", self._acked)):
            name, handler = self._handlers[method]

            async def wrapped(params: dict[str, Any], handler: Any = handler, notify: Any = notify) -> Any:
                result = await handler(params)
                notify(params, result)
                return result

            self._handlers[method] = (name, wrapped)

    def _sent(self, params: dict[str, Any], result: Any) -> None:
        chat = int(params["chat_id"])
        if chat != ADMIN and BROADCAST_TEXT in str(params.get("text", "")):  # not the preview
            self.broadcasts[chat] += 1
            return
        self.messages[chat].put_nowait({**params, "message_id": result["message_id"]})

    def _acked(self, params: dict[str, Any], _result: Any) -> None:
        future = self.acks.pop(str(params["callback_query_id"]), None)
        if future is not None and not future.done():
            future.set_result(params)


@dataclass
class Tally:
    sent: int = 0
    replied: int = 0
    lost: int = 0
    degraded: int = 0
    latencies: list[float] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lost_kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    throttled: int = 0  # throttle notices (THROTTLE_LIMIT a minute): the user waits for the next window


THROTTLE_NOTICE = texts.THROTTLED.partition("（")[0]


async def throttled(text: object, tally: Tally) -> bool:
    """The bot's throttle notice: like a person told so, wait for the next window (after it,
    the bot stays silent until the window passes, by design)."""
    if not str(text or "").startswith(THROTTLE_NOTICE):
        return False
    tally.throttled += 1
    await asyncio.sleep(60 - time.time() % 60 + 0.5)  # windows are whole minutes (bot/redis_store.py)
    return True


def callback_data(message: dict[str, Any], prefix: str) -> list[str]:
    markup = message.get("reply_markup") or {}
    found = [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]
    return [d for d in found if d.startswith(prefix)]


async def drain(queue: asyncio.Queue[dict[str, Any]]) -> None:
    while not queue.empty():
        queue.get_nowait()


async def message_reply(
    stub: ListeningStub, chat: int, tally: Tally, started: float, kind: str = "message"
) -> dict[str, Any] | None:
    try:
        reply = await asyncio.wait_for(stub.messages[chat].get(), REPLY_WAIT)
    except TimeoutError:
        tally.lost += 1
        tally.lost_kinds[kind] += 1
        return None
    tally.replied += 1
    tally.latencies.append(time.monotonic() - started)
    if texts.STATE_UNREADABLE in str(reply.get("text", "")):
        tally.degraded += 1
    return reply


async def press(
    stub: ListeningStub, chat: int, data: str, message_id: int, tally: Tally
) -> dict[str, Any] | None:
    """Press a button; the acknowledgement (answerCallbackQuery), None when none came."""
    update_id = stub.push_callback(chat, chat, data, message_id)
    query_id = next(u for u in reversed(stub.pending_updates) if u["update_id"] == update_id)[
        "callback_query"
    ]["id"]
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    stub.acks[str(query_id)] = future
    tally.sent += 1
    tally.kinds["button"] += 1
    started = time.monotonic()
    try:
        await asyncio.wait_for(future, REPLY_WAIT)
    except TimeoutError:
        tally.lost += 1
        tally.lost_kinds["button"] += 1
        stub.acks.pop(str(query_id), None)
        return None
    tally.replied += 1
    tally.latencies.append(time.monotonic() - started)
    return future.result()


async def user_loop(
    stub: ListeningStub,
    chat: int,
    questions: list[str],
    until: float,
    think: float,
    subscribe: bool,
    tally: Tally,
) -> None:
    rng = random.Random(chat)
    await asyncio.sleep(rng.uniform(0, think))  # users arrive spread out
    if subscribe:
        stub.push_message(chat, chat, "/subscribe")
        tally.sent += 1
        tally.kinds["subscribe"] += 1
        await message_reply(stub, chat, tally, time.monotonic())
    while time.monotonic() < until:
        started = time.monotonic()
        stub.push_message(chat, chat, rng.choice(questions))
        tally.sent += 1
        tally.kinds["question"] += 1
        reply = await message_reply(stub, chat, tally, started)
        if reply is not None and await throttled(reply.get("text"), tally):
            continue
        if reply is not None:
            picks = callback_data(reply, "p:")
            related = callback_data(reply, "q:")
            votes = callback_data(reply, "v:")
            follow: str | None = None
            if picks:
                follow = rng.choice(picks)  # answering the bot's question back
            elif related and rng.random() < 0.3:
                follow = rng.choice(related)
            elif votes and rng.random() < 0.2:
                follow = rng.choice(votes)
            if follow is not None and time.monotonic() < until:
                await asyncio.sleep(rng.uniform(0.3, 1.0) * think / 2)
                ack = await press(stub, chat, follow, reply["message_id"], tally)
                if ack is not None and await throttled(ack.get("text"), tally):
                    continue
                # a pick or a related question is answered in a new message, unless the press
                # itself was answered (an alert: the clarification expired, e.g. Redis was away)
                if ack is not None and not ack.get("text") and not follow.startswith("v:"):
                    await message_reply(stub, chat, tally, time.monotonic(), "after a button")
                await drain(stub.messages[chat])
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


async def broadcast(stub: ListeningStub, at: float, tally: Tally) -> float | None:
    """The admin's broadcast: preview, confirm; returns when it was confirmed."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    stub.push_message(ADMIN, ADMIN, f"/broadcast {BROADCAST_TEXT}")
    preview = await message_reply(stub, ADMIN, tally, time.monotonic())
    if preview is None:
        return None
    go = callback_data(preview, "b:go:")
    if not go:
        print("broadcast preview had no confirm button:", str(preview.get("text"))[:200])
        return None
    await press(stub, ADMIN, go[0], preview["message_id"], tally)
    return time.monotonic()


async def restart_redis(redis: PrivateRedis, at: float, down_for: float) -> None:
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    await asyncio.to_thread(redis.stop)
    await asyncio.sleep(down_for)
    await asyncio.to_thread(redis.start)


async def run(args: argparse.Namespace) -> None:
    questions = [c.q for c in load_cases(EVAL_DIR / "dev.yaml") if c.kind in ("in", "oos", "near")]
    redis = PrivateRedis("--appendfsync", "everysec")
    redis.start()
    stub = ListeningStub()
    await stub.start()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - open while the child runs
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEB", "REDIS_"))}
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=stub.base_url,
        REDIS_URL=redis.url,
        ADMIN_IDS=str(ADMIN),
        WEB_HOST="127.0.0.1",
        WEB_PORT=str(free_port()),
    )
    child = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    tally = Tally()
    rss: list[tuple[float, float]] = []
    try:
        while len(stub.calls("getUpdates")) < 2:
            if child.poll() is not None:
                log.seek(0)
                raise RuntimeError(log.read().decode(errors="replace")[-2000:])
            await asyncio.sleep(0.05)
        begin = time.monotonic()
        until = begin + args.seconds
        subscribers = set(range(FIRST_USER, FIRST_USER + args.users, 6))

        async def sample_rss() -> None:
            while time.monotonic() < until:
                rss.append((time.monotonic() - begin, rss_mib(child.pid)))
                await asyncio.sleep(1)

        jobs = [
            user_loop(stub, chat, questions, until, args.think, chat in subscribers, tally)
            for chat in range(FIRST_USER, FIRST_USER + args.users)
        ]
        extra: list[Any] = [sample_rss(), broadcast(stub, begin + args.seconds / 3, tally)]
        if args.restart_redis:
            extra.append(restart_redis(redis, begin + args.seconds / 2, args.down))
        results = await asyncio.gather(*extra, *jobs)
        confirmed = results[1]
        ended = time.monotonic()
        await asyncio.sleep(5)  # the broadcast's last sends; a duplicate would show by now
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(child.wait, 15)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        await stub.stop()
        redis.close()
    log.seek(0)
    lines = log.read().decode(errors="replace").splitlines()
    problems = [
        line for line in lines if (" WARNING " in line or " ERROR " in line) and "SIGTERM" not in line
    ]

    lat = sorted(tally.latencies)
    first = [m for t, m in rss if t <= 10]
    last = [m for t, m in rss if t >= args.seconds - 10]
    got = [stub.broadcasts.get(chat, 0) for chat in subscribers]
    print(
        f"load: {args.users} users, think {args.think} s, {args.seconds:.0f} s"
        + (f", Redis stopped at {args.seconds / 2:.0f} s for {args.down} s" if args.restart_redis else "")
    )
    print(
        f"  sent {tally.sent} ({dict(tally.kinds)}), replied {tally.replied}, "
        f"lost {tally.lost} {dict(tally.lost_kinds)}, answered without profile {tally.degraded}, "
        f"throttle notices {tally.throttled}"
    )
    print(
        f"  throughput {tally.replied / (ended - begin):.0f} replies/s; "
        f"latency p50 {statistics.median(lat) * 1000:.0f} ms, "
        f"p99 {lat[round(0.99 * (len(lat) - 1))] * 1000:.0f} ms"
    )
    print(
        f"  RSS first 10 s {statistics.mean(first):.0f} MiB, last 10 s {statistics.mean(last):.0f} MiB "
        f"({(statistics.mean(last) / statistics.mean(first) - 1):+.1%})"
    )
    print(
        f"  broadcast confirmed: {confirmed is not None}; subscribers {len(subscribers)}, "
        f"got it once {got.count(1)}, never {got.count(0)}, more than once {sum(1 for g in got if g > 1)}"
    )
    print(f"  bot exit code {code}; {len(problems)} warning/error lines in its log")
    for line in problems[:8]:
        print("    " + line[:240])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--think", type=float, default=4.0, help="mean seconds a user waits between messages")
    parser.add_argument("--restart-redis", action="store_true")
    parser.add_argument("--down", type=float, default=3.0, help="seconds Redis stays down")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
