"""Throughput of the bot measured from outside, next to a tutorial-style peer (issue #10).

    .venv/bin/python bench/bench_bot.py [--users 100] [--per-user 10] [--runs 3]
    .venv/bin/python bench/bench_bot.py --webhook 2        # also 1 and 2 webhook processes
    .venv/bin/python bench/bench_bot.py --profile           # where our time goes, per update

The Bot API stub (tests/stub_api.py) runs in this process; each bot runs in a child process of
its own, as in production: ours is `python -m bot` (polling, state in a Redis of the bench's
own with AOF, default settings, INFO logs to a file), the peer is bench/peer_bot.py (aiogram,
rapidfuzz WRatio against every question and alternate, no state). Once a bot is polling,
users × per-user question updates are queued at once; the run is timed until every update
has an accepted sendMessage. Reports updates/s (median of runs), reply latency p50/p99 (from
queueing to the reply reaching the stub) and each child's RSS.

With --webhook N our bot runs as 1 … N webhook processes sharing the Redis; the updates are
POSTed round-robin (as nginx's upstream would), at most 40 in flight (Telegram's default
max_connections).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import pstats
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.evaluate import EVAL_DIR, load_cases
from tests.redis_server import PrivateRedis, free_port
from tests.stub_api import StubBotAPI

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "42:BENCH"
SECRET = "bench-secret"
FIRST_USER = 10_000


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Child:
    """A bot in a child process; its output goes to a temporary file."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int | None = None) -> None:
        self.port = port
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - open while the child runs
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "WEB", "REDIS_"))}
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env={**clean, **env}, stdout=self.log, stderr=subprocess.STDOUT
        )

    def tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def problems(self) -> list[str]:
        """Its WARNING and ERROR lines (the text log format)."""
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").splitlines()
        bad = [line for line in lines if " WARNING " in line or " ERROR " in line or "Traceback" in line]
        return [line for line in bad if "SIGTERM" not in line]  # aiogram warns of the stop it was sent

    def stop_process(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self) -> None:
        self.stop_process()
        self.log.close()


def our_bot(stub: StubBotAPI, redis_url: str, *, webhook: bool = False, profile: str | None = None) -> Child:
    env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": stub.base_url, "REDIS_URL": redis_url}
    port = free_port()
    env.update(WEB_HOST="127.0.0.1", WEB_PORT=str(port))
    if webhook:
        env.update(BOT_MODE="webhook", WEBHOOK_URL="https://bench.example/webhook", WEBHOOK_SECRET=SECRET)
    if profile:
        env["YB_PROFILE"] = profile
        return Child([sys.executable, str(ROOT / "bench" / "profiled_bot.py")], env, port)
    return Child([sys.executable, "-m", "bot"], env, port)


def peer_bot(stub: StubBotAPI) -> Child:
    env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": stub.base_url}
    return Child([sys.executable, str(ROOT / "bench" / "peer_bot.py")], env)


async def wait_polling(stub: StubBotAPI, child: Child) -> None:
    """Until the child has asked for updates twice (it is started and in its polling loop)."""
    deadline = time.monotonic() + 120
    while len(stub.calls("getUpdates")) < 2:
        if child.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("bot did not start polling:\n" + child.tail())
        await asyncio.sleep(0.05)


async def wait_webhook(child: Child) -> None:
    deadline = time.monotonic() + 120
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if child.proc.poll() is not None:
                break
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{child.port}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("webhook bot did not become ready:\n" + child.tail())


RUNS = itertools.count()


def workload(questions: list[str], users: int, per_user: int) -> Iterator[tuple[int, str]]:
    """The same questions every run, from users new to the bot each run (a user seen in the run
    before would still be in its throttling window)."""
    rng = random.Random(1)
    first = FIRST_USER + next(RUNS) * users
    for _ in range(per_user):
        for user in range(users):
            yield first + user, rng.choice(questions)


async def replies_done(stub: StubBotAPI, total: int) -> float:
    calls = await stub.wait_for("sendMessage", count=total, predicate=lambda c: c.status == 200, timeout=120)
    return calls[-1].at


def latencies(stub: StubBotAPI, queued_at: float) -> tuple[float, float]:
    at = sorted(c.at - queued_at for c in stub.calls("sendMessage") if c.status == 200)
    return statistics.median(at) * 1000, at[min(len(at) - 1, round(0.99 * (len(at) - 1)))] * 1000


def outcome(
    stub: StubBotAPI, children: list[Child], count: int, queued_at: float, last: float
) -> dict[str, Any]:
    """A run's figures; stops the children (their logs are read after they stopped)."""
    p50, p99 = latencies(stub, queued_at)
    rss = sum(rss_mib(c.proc.pid) for c in children)
    problems: list[str] = []
    for child in children:
        child.stop_process()
        problems += child.problems()
    return {"rate": count / (last - queued_at), "p50": p50, "p99": p99, "rss": rss, "problems": problems}


async def run_polling(
    kind: str, questions: list[str], args: argparse.Namespace, redis_url: str
) -> dict[str, Any]:
    async with StubBotAPI(poll_cap=1.0) as stub:
        child = our_bot(stub, redis_url) if kind == "bot" else peer_bot(stub)
        try:
            await wait_polling(stub, child)
            updates = list(workload(questions, args.users, args.per_user))
            loop = asyncio.get_running_loop()
            queued_at = loop.time()
            for user, text in updates:
                stub.push_message(user, user, text)
            last = await replies_done(stub, len(updates))
            return outcome(stub, [child], len(updates), queued_at, last)
        finally:
            child.stop()


async def run_webhook(
    processes: int, questions: list[str], args: argparse.Namespace, redis_url: str
) -> dict[str, Any]:
    async with StubBotAPI() as stub:
        children = [our_bot(stub, redis_url, webhook=True) for _ in range(processes)]
        try:
            await asyncio.gather(*(wait_webhook(c) for c in children))
            built = []
            for user, text in workload(questions, args.users, args.per_user):
                stub.push_message(user, user, text)
                built.append(stub.pending_updates[-1])
            gate = asyncio.Semaphore(40)
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            loop = asyncio.get_running_loop()
            async with aiohttp.ClientSession() as http:

                async def post(i: int, update: dict[str, Any]) -> None:
                    async with gate:
                        url = f"http://127.0.0.1:{children[i % processes].port}/webhook"
                        async with http.post(url, json=update, headers=headers) as response:
                            response.raise_for_status()

                queued_at = loop.time()
                await asyncio.gather(*(post(i, u) for i, u in enumerate(built)))
                last = await replies_done(stub, len(built))
            return outcome(stub, children, len(built), queued_at, last)
        finally:
            for child in children:
                child.stop()


AREAS = (  # where a function's own time is counted, by the path of its file (first match wins)
    ("engine", ("/knowledge/", "/jieba/", "/rapidfuzz/", "/numpy/")),
    ("dialogue", ("/bot/dialogue.py", "/bot/state.py", "/bot/privacy.py", "/bot/resilient_store.py")),
    ("redis", ("/redis/", "/bot/redis_store.py", "/bot/redis_conn.py")),
    ("rendering", ("/bot/render.py", "/handlers/replies.py", "/knowledge/present.py")),
    ("aiogram", ("/aiogram/", "/magic_filter/", "/pydantic/", "/pydantic_core/", "/handlers/")),
    ("aiohttp (HTTP to the API)", ("/aiohttp/", "/multidict/", "/yarl/", "/aiohappyeyeballs/")),
    ("logging and metrics", ("/logging/", "/bot/logs.py", "/prometheus_client/", "/bot/metrics.py")),
    ("event loop and sockets", ("/asyncio/", "selectors.py", "socket.py", "ssl.py")),
    ("json", ("/json/",)),
)


def profile_report(path: str, updates: int) -> None:
    stats = pstats.Stats(path)
    totals: dict[str, float] = {}
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        area = "other"
        where = filename if filename != "~" else name
        for label, needles in AREAS:
            if any(n in where for n in needles):
                area = label
                break
        if area == "other" and ("<built-in method" in name or "<method" in name):
            area = "builtins (C calls; mostly of the above)"
        totals[area] = totals.get(area, 0.0) + tottime
    total = sum(totals.values())
    print(f"\nprofile of the bot process, {updates} updates, {total:.2f} s of CPU in profiled Python")
    for area, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(
            f"  {area:40s} {seconds:6.2f} s  {seconds / updates * 1000:6.2f} ms/update"
            f"  {seconds / total:5.1%}"
        )
    print("\ntop functions by own time:")
    stats.sort_stats("tottime").print_stats(25)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--per-user", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--webhook", type=int, default=0, help="also measure 1..N webhook processes")
    parser.add_argument("--profile", action="store_true", help="one run of our bot under cProfile")
    parser.add_argument("--keep-profile", help="with --profile: also save the statistics here")
    args = parser.parse_args()
    questions = [c.q for c in load_cases(EVAL_DIR / "dev.yaml") if c.kind in ("in", "oos", "near")]
    total = args.users * args.per_user
    redis = PrivateRedis("--appendfsync", "everysec")  # the deploy files' persistence
    redis.start()
    try:
        if args.profile:
            await profile_run(questions, args, redis.url)
            return
        results: dict[str, list[dict[str, Any]]] = {"peer": [], "bot": []}
        for _ in range(args.runs):
            for kind in ("peer", "bot"):
                results[kind].append(await run_polling(kind, questions, args, redis.url))
        for n in range(1, args.webhook + 1):
            results[f"bot, {n} webhook"] = [
                await run_webhook(n, questions, args, redis.url) for _ in range(args.runs)
            ]
    finally:
        redis.close()
    print(
        f"{args.users} users x {args.per_user} questions = {total} updates queued at once, {args.runs} runs"
    )
    for kind, runs in results.items():
        rates = [r["rate"] for r in runs]
        listed = ", ".join(f"{x:.0f}" for x in rates)
        print(
            f"{kind:16s} updates/s median {statistics.median(rates):6.0f} (runs: {listed})"
            f"  reply latency p50 {statistics.median(r['p50'] for r in runs):5.0f} ms"
            f"  p99 {statistics.median(r['p99'] for r in runs):5.0f} ms"
            f"  RSS {statistics.median(r['rss'] for r in runs):4.0f} MiB"
        )
        problems = [p for r in runs for p in r["problems"]]
        if problems:
            print(f"  {len(problems)} warning/error lines in its log, e.g. {problems[0][:300]}")
    peer = statistics.median(r["rate"] for r in results["peer"])
    ours = statistics.median(r["rate"] for r in results["bot"])
    print(f"bot / peer rate: {ours / peer:.2f}")


async def profile_run(questions: list[str], args: argparse.Namespace, redis_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bot.prof")
        async with StubBotAPI(poll_cap=1.0) as stub:
            child = our_bot(stub, redis_url, profile=path)
            try:
                await wait_polling(stub, child)
                child.proc.send_signal(signal.SIGUSR1)  # start profiling now
                await asyncio.sleep(0.5)
                updates = list(workload(questions, args.users, args.per_user))
                for user, text in updates:
                    stub.push_message(user, user, text)
                await replies_done(stub, len(updates))
            finally:
                child.stop()
        profile_report(path, len(updates))
        if args.keep_profile:
            shutil.copy(path, args.keep_profile)


if __name__ == "__main__":
    asyncio.run(main())
