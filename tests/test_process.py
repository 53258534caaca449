"""The bot as an operator runs it: `python -m bot` in a child process, against the Bot API stub
and a Redis of the test's own (issue #10).

- SIGTERM in polling and webhook mode: a reply in flight is still sent, the process exits 0
  within 10 s;
- the web endpoints in polling mode: /healthz, /readyz (503 while Redis is away), /metrics;
- LOG_FORMAT=json: one JSON object a line, update id and hashed user on update lines, never a
  question's text at INFO;
- two webhook replicas sharing one Redis: a clarification asked by one and answered on the
  other completes; a broadcast started while both run is sent exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.logs import hash_user
from tests.redis_server import PrivateRedis, free_port
from tests.stub_api import Call, StubBotAPI

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "4242:PROCESS-TEST-TOKEN"
SECRET = "hook-secret-42"
ADMIN = 777
USER = 1001
QUESTION = "社保卡挂失了还能看病吗"
EXIT_WITHIN = 10.0


class BotProcess:
    """`python -m bot` with settings in its environment; its log lines go to a file."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self._log = tempfile.NamedTemporaryFile(prefix="yb-bot-", suffix=".log", delete=False)  # noqa: SIM115
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "REDIS_", "WEB"))}
        environment.update(
            BOT_TOKEN=TOKEN, ADMIN_IDS=str(ADMIN), WEB_HOST="127.0.0.1", WEB_PORT=str(self.port), **env
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=ROOT,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[str]:
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace").splitlines()

    async def wait_healthy(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError("bot exited at start:\n" + "\n".join(self.log_lines()[-30:]))
                try:
                    async with http.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("bot never became healthy:\n" + "\n".join(self.log_lines()[-30:]))

    async def terminate(self) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds it took)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(self.proc.wait, EXIT_WITHIN + 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def stub() -> AsyncIterator[StubBotAPI]:
    async with StubBotAPI(username="yibao_test_bot", token=TOKEN) as api:
        yield api


@pytest.fixture
def processes() -> Iterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for process in started:
        process.close()


async def reply(stub: StubBotAPI, chat_id: int, before: int, *, contains: str = "") -> Call:
    """The first accepted sendMessage to `chat_id` among the requests after the first `before`."""
    earlier = {id(c) for c in stub.requests[:before]}
    calls = await stub.wait_for(
        "sendMessage",
        predicate=lambda c: (
            id(c) not in earlier
            and c.params["chat_id"] == chat_id
            and c.status == 200
            and contains in c.params["text"]
        ),
        timeout=20,
    )
    return calls[0]


# -- polling -----------------------------------------------------------------------------------
async def test_polling_process_endpoints_json_logs_and_sigterm(
    stub: StubBotAPI, private_redis: PrivateRedis, processes: list[BotProcess]
) -> None:
    bot = BotProcess(
        {"TELEGRAM_API_URL": stub.base_url, "REDIS_URL": private_redis.url, "LOG_FORMAT": "json"}
    )
    processes.append(bot)
    await bot.wait_healthy()
    await stub.wait_for("setMyCommands", timeout=30)
    async with aiohttp.ClientSession() as http:
        async with http.get(bot.url + "/readyz") as ready:
            assert ready.status == 200 and (await ready.json())["redis"] == "ok"

        stub.push_message(USER, USER, QUESTION)
        assert "资料日期" in (await reply(stub, USER, 0)).params["text"]

        async with http.get(bot.url + "/metrics") as metrics:
            body = await metrics.text()
        assert metrics.status == 200 and metrics.content_type.startswith("text/plain")
        assert 'yb_updates_total{type="message"} 1.0' in body
        assert "yb_handler_seconds_bucket" in body and 'yb_decisions_total{kind="answer"}' in body

        private_redis.stop()
        async with http.get(bot.url + "/readyz") as away:
            assert away.status == 503 and (await away.json())["redis"].startswith("unreachable")
        private_redis.start()
        async with http.get(bot.url + "/readyz") as back:
            assert back.status == 200

    # a reply in flight at SIGTERM: the first send meets a 429 and is retried after 2 s
    stub.fail("sendMessage", retry_after=2, times=1)
    before = len(stub.requests)
    stub.push_message(USER, USER, QUESTION)
    await stub.wait_for("sendMessage", predicate=lambda c: c.status == 429, timeout=20)
    code, took = await bot.terminate()
    assert code == 0 and took < EXIT_WITHIN
    assert "资料日期" in (await reply(stub, USER, before)).params["text"]

    lines = bot.log_lines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(records) == len(lines), [line for line in lines if not line.startswith("{")][:5]
    about_updates = [r for r in records if "update_id" in r]
    assert about_updates and all(r["user"] == hash_user(USER) for r in about_updates)
    assert not [r for r in records if QUESTION in r["message"] and r["level"] in ("INFO", "WARNING")]
    assert TOKEN not in "\n".join(lines)
    assert any(r["message"] == "stopped" for r in records)


# -- webhook -----------------------------------------------------------------------------------
def webhook_env(stub: StubBotAPI, redis_url: str) -> dict[str, str]:
    return {
        "TELEGRAM_API_URL": stub.base_url,
        "REDIS_URL": redis_url,
        "BOT_MODE": "webhook",
        "WEBHOOK_URL": "https://bot.example.com/webhook",
        "WEBHOOK_SECRET": SECRET,
    }


async def post_update(http: aiohttp.ClientSession, bot: BotProcess, update: dict[str, Any]) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with http.post(bot.url + "/webhook", json=update, headers=headers) as response:
        assert response.status == 200, await response.text()


def message_update(stub: StubBotAPI, chat_id: int, text: str) -> dict[str, Any]:
    stub.push_message(chat_id, chat_id, text)  # queued in the stub, where nobody polls: taken back
    return stub.pending_updates[-1]


def callback_update(stub: StubBotAPI, chat_id: int, data: str, message_id: int) -> dict[str, Any]:
    stub.push_callback(chat_id, chat_id, data, message_id)
    return stub.pending_updates[-1]


def buttons(call: Call, prefix: str) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    found = [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]
    return [d for d in found if d.startswith(prefix)]


async def test_webhook_process_sigterm_finishes_the_update_in_flight(
    stub: StubBotAPI, private_redis: PrivateRedis, processes: list[BotProcess]
) -> None:
    bot = BotProcess(webhook_env(stub, private_redis.url))
    processes.append(bot)
    await bot.wait_healthy()
    await stub.wait_for("setWebhook", timeout=30)
    stub.fail("sendMessage", retry_after=2, times=1)
    async with aiohttp.ClientSession() as http:
        async with http.post(bot.url + "/webhook", json=message_update(stub, USER, QUESTION)) as refused:
            assert refused.status == 401  # no secret token
        await post_update(http, bot, message_update(stub, USER, QUESTION))
    await stub.wait_for("sendMessage", predicate=lambda c: c.status == 429, timeout=20)
    code, took = await bot.terminate()
    assert code == 0 and took < EXIT_WITHIN
    assert "资料日期" in (await reply(stub, USER, 0)).params["text"]
    logged = "\n".join(bot.log_lines())
    assert SECRET not in logged and TOKEN not in logged  # not even for the refused request


async def test_two_webhook_replicas_share_a_conversation_and_send_a_broadcast_once(
    stub: StubBotAPI, private_redis: PrivateRedis, processes: list[BotProcess]
) -> None:
    one, two = (
        BotProcess(webhook_env(stub, private_redis.url)),
        BotProcess(webhook_env(stub, private_redis.url)),
    )
    processes.extend([one, two])
    await asyncio.gather(one.wait_healthy(), two.wait_healthy())
    await stub.wait_for("setWebhook", count=2, timeout=30)
    async with aiohttp.ClientSession() as http:
        # the clarification is asked by one replica and answered on the other
        before = len(stub.requests)
        await post_update(http, one, message_update(stub, USER, "医保缴费基数是多少"))
        asked = await reply(stub, USER, before)
        shanxi = next(d for d in buttons(asked, "p:region:") if "山西" in d)
        before = len(stub.requests)
        await post_update(http, two, callback_update(stub, USER, shanxi, asked.result["message_id"]))
        answered = await reply(stub, USER, before)
        assert "山西" in answered.params["text"] and "7194" in answered.params["text"]
        before = len(stub.requests)
        await post_update(http, one, message_update(stub, USER, "缴费基数怎么定"))
        assert "7194" in (await reply(stub, USER, before)).params["text"]  # the profile is shared

        # subscribers made on either replica; the broadcast previewed on one, confirmed on the other
        subscribers = [2001, 2002, 2003, 2004]
        for i, chat in enumerate(subscribers):
            before = len(stub.requests)
            await post_update(http, (one, two)[i % 2], message_update(stub, chat, "/subscribe"))
            await reply(stub, chat, before)
        before = len(stub.requests)
        await post_update(http, two, message_update(stub, ADMIN, "/broadcast 两个副本只发一次的通知"))
        preview = await reply(stub, ADMIN, before, contains="受众")
        go = buttons(preview, "b:go:")[0]
        await post_update(http, one, callback_update(stub, ADMIN, go, preview.result["message_id"]))
        await stub.wait_for("editMessageText", predicate=lambda c: "已完成" in c.params["text"], timeout=30)
    await asyncio.sleep(2)  # time for a second sender, were there one, to send again
    for chat in subscribers:
        got = [
            c
            for c in stub.calls("sendMessage")
            if c.params["chat_id"] == chat and "只发一次" in c.params["text"]
        ]
        assert len(got) == 1, f"chat {chat} got the broadcast {len(got)} times"
    for bot in (one, two):
        code, took = await bot.terminate()
        assert code == 0 and took < EXIT_WITHIN
