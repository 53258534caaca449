"""Faults, hostile input and abuse, end to end: the real Dispatcher polling the Bot API stub.

Each test names the behaviour it protects (issue #10): Redis going away and coming back, Bot API
errors, a handler that raises, forged buttons, personal numbers, throttling, what the logs may
and may not say.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import SendMessage

from bot import texts
from bot.api_retry import RetryMiddleware
from bot.app import create_bot, create_dispatcher
from bot.metrics import Metrics
from bot.settings import Settings, load_settings
from knowledge.engine import Engine
from tests.redis_server import PrivateRedis
from tests.stub_api import Call, StubBotAPI

ADMIN = 777
USER = 1001
TOKEN = "4242:SECRET-TOKEN-never-in-logs"
VALID_ID = "11010519491231002X"  # a valid check digit (GB 11643)
VALID_CARD = "6222021234567890128"  # passes the Luhn check


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@dataclass
class Bot_:
    stub: StubBotAPI
    bot: Bot
    dp: Dispatcher
    task: asyncio.Task[None]

    async def reply_to(
        self, push: Callable[[], Any], *, count: int = 1, method: str = "sendMessage"
    ) -> list[Call]:
        before = len(self.stub.calls(method))
        push()
        calls = await self.stub.wait_for(method, count=before + count, timeout=15)
        return calls[before:]

    async def ask(self, text: str, user: int = USER) -> Call:
        """Send a message; the first reply the API accepted (refused attempts are recorded too)."""
        before = len(self.stub.calls("sendMessage"))
        self.stub.push_message(user, user, text)
        deadline = asyncio.get_running_loop().time() + 15
        while asyncio.get_running_loop().time() < deadline:
            accepted = [c for c in self.stub.calls("sendMessage")[before:] if c.status == 200]
            if accepted:
                return accepted[0]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no accepted reply to {text!r}: {self.stub.calls('sendMessage')[before:]}")

    async def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            await self.dp.stop_polling()
        await asyncio.wait_for(self.task, timeout=15)


Starter = Callable[..., Awaitable[Bot_]]


@pytest.fixture
async def start(engine: Engine, redis_prefix: str) -> AsyncIterator[Starter]:
    """Start a bot (Dispatcher + polling) against a fresh stub; stops it afterwards."""
    running: list[Bot_] = []

    async def starter(redis_url: str | None, **overrides: Any) -> Bot_:
        stub = StubBotAPI(username="yibao_test_bot", token=TOKEN)
        base = await stub.start()
        fields: dict[str, Any] = {"bot_token": TOKEN, "telegram_api_url": base, "redis_url": redis_url}
        settings: Settings = load_settings(**{"admin_ids": str(ADMIN), **fields, **overrides})
        metrics = Metrics()
        bot = create_bot(settings, metrics)
        dp = create_dispatcher(settings, engine=engine, prefix=redis_prefix, metrics=metrics)
        task = asyncio.create_task(
            dp.start_polling(
                bot, handle_signals=False, polling_timeout=1, allowed_updates=dp.resolve_used_update_types()
            )
        )
        await stub.wait_for("setMyCommands", timeout=15)
        item = Bot_(stub, bot, dp, task)
        running.append(item)
        return item

    yield starter
    for item in running:
        await item.stop()
        await item.stub.stop()


@pytest.fixture
def private_redis() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server  # type: ignore[misc]
    finally:
        server.close()


# -- Redis away --------------------------------------------------------------------------------
async def test_redis_down_mid_run_answers_without_profile_says_so_and_recovers(
    start: Starter, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start(private_redis.url)
    await running.ask("/region 太原")
    assert "7194" in (await running.ask("医保缴费基数是多少")).params["text"]  # 山西 from the profile

    private_redis.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        first = await running.ask("医保缴费基数是多少")
        second = await running.ask("社保卡挂失了还能看病吗")
    for sent in (first, second):
        assert texts.STATE_UNREADABLE in sent.params["text"]
    assert "7194" not in first.params["text"]  # asked without the saved region
    assert "资料日期" in second.params["text"]  # a question still gets its answer
    outage = [r for r in caplog.records if "Redis is not answering" in r.getMessage()]
    assert len(outage) == 1  # one warning per outage, not per message

    private_redis.start()  # the same data directory: what was written before is still there
    back = await running.ask("医保缴费基数是多少")
    assert "7194" in back.params["text"] and texts.STATE_UNREADABLE not in back.params["text"]


async def test_redis_down_at_start_still_answers(start: Starter, private_redis: PrivateRedis) -> None:
    private_redis.stop()
    running = await start(private_redis.url)
    sent = await running.ask("社保卡挂失了还能看病吗")
    assert "资料日期" in sent.params["text"] and texts.STATE_UNREADABLE in sent.params["text"]


async def test_saving_settings_while_redis_is_away_says_it_did_not_happen(
    start: Starter, private_redis: PrivateRedis
) -> None:
    running = await start(private_redis.url)
    private_redis.stop()
    sent = await running.ask("/region 太原")
    assert sent.params["text"] == texts.STATE_UNAVAILABLE


async def test_broadcasting_refuses_while_redis_is_away_and_works_after(
    start: Starter, private_redis: PrivateRedis
) -> None:
    running = await start(private_redis.url)
    await running.ask("/subscribe", user=USER)
    private_redis.stop()
    refused = await running.ask("/broadcast 测试通知", user=ADMIN)
    assert refused.params["text"] == texts.BROADCAST_REDIS_DOWN
    private_redis.start()
    preview = await running.ask("/broadcast 测试通知", user=ADMIN)
    assert "测试通知" in preview.params["text"] and "确认" in str(preview.params.get("reply_markup"))


# -- Bot API errors ----------------------------------------------------------------------------
async def test_a_5xx_on_a_reply_is_retried(start: Starter) -> None:
    running = await start(None)
    running.stub.fail("sendMessage", status=500, times=2)
    sent = await running.ask("社保卡挂失了还能看病吗")
    assert sent.status == 200 and "资料日期" in sent.params["text"]
    statuses = [c.status for c in running.stub.calls("sendMessage")]
    assert statuses == [500, 500, 200]


async def test_a_429_on_a_reply_waits_and_retries_once(start: Starter) -> None:
    running = await start(None)
    running.stub.fail("sendMessage", retry_after=1, times=1)
    sent = await running.ask("社保卡挂失了还能看病吗")
    calls = running.stub.calls("sendMessage")
    assert [c.status for c in calls] == [429, 200] and sent.status == 200
    assert calls[1].at - calls[0].at >= 0.95


async def test_retries_are_bounded(start: Starter) -> None:
    running = await start(None)
    running.stub.fail("sendMessage", status=502)  # never recovers
    running.stub.push_message(USER, USER, "社保卡挂失了还能看病吗")
    await asyncio.sleep(8)
    tries = len(running.stub.calls("sendMessage"))
    assert 2 <= tries <= 8  # a few attempts for the reply, one for the apology — no endless loop
    running.stub.clear_faults()
    assert "资料日期" in (await running.ask("社保卡挂失了还能看病吗")).params["text"]  # polling survived


async def test_network_errors_are_retried_with_backoff() -> None:
    attempts: list[float] = []

    async def flaky(bot: Any, method: Any) -> Any:
        attempts.append(asyncio.get_running_loop().time())
        if len(attempts) < 3:
            raise TelegramNetworkError(method=method, message="Request timeout error")
        return "ok"

    middleware = RetryMiddleware(base_delay=0.05, max_delay=0.2)
    method = SendMessage(chat_id=1, text="x")
    assert await middleware(flaky, None, method) == "ok"  # type: ignore[arg-type]
    # a sleep never ends early: the waits are at least the lower ends of 0.05·[0.5, 1] and 0.1·[0.5, 1]
    assert len(attempts) == 3 and attempts[1] - attempts[0] >= 0.025 and attempts[2] - attempts[1] >= 0.05


# -- a handler that raises ---------------------------------------------------------------------
async def test_an_exception_in_a_handler_gets_an_apology_and_others_go_on(
    start: Starter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start(None)
    dialogue = running.dp["dialogue"]
    original = dialogue.handle_text

    async def broken(who: Any, text: str) -> Any:
        if "炸" in text:
            raise RuntimeError("boom")
        return await original(who, text)

    monkeypatch.setattr(dialogue, "handle_text", broken)
    with caplog.at_level(logging.ERROR):
        update_id = running.stub.push_message(USER, USER, "炸一下")
        (apology,) = await running.stub.wait_for("sendMessage", count=1, timeout=15)
    assert apology.params["text"] == texts.INTERNAL_ERROR
    assert any(f"update {update_id} failed" in r.getMessage() for r in caplog.records)
    assert "资料日期" in (await running.ask("社保卡挂失了还能看病吗")).params["text"]


# -- buttons nobody made -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        "",
        "garbage",
        "q:",
        "q:no.such-entry",
        "p:region:山西:notanint",
        "v:up:nope",
        "x" * 64,
        "s:region:火星:1",
    ],
)
async def test_forged_or_stale_buttons_are_answered_at_once(start: Starter, data: str) -> None:
    running = await start(None)
    (ack,) = await running.reply_to(
        lambda: running.stub.push_callback(USER, USER, data, 1), method="answerCallbackQuery"
    )
    if data.startswith("s:"):  # a menu choice of a region we do not know: said so, in a message
        return
    assert ack.params.get("text") == texts.CLARIFY_EXPIRED and ack.params.get("show_alert") is True


# -- personal numbers --------------------------------------------------------------------------
async def test_personal_numbers_are_warned_about_and_masked_everywhere(
    start: Starter, caplog: pytest.LogCaptureFixture
) -> None:
    assert luhn_ok(VALID_CARD)
    running = await start(None, admin_ids=f"{ADMIN},{USER}")
    with caplog.at_level(logging.DEBUG):
        sent = await running.ask(f"我身份证{VALID_ID}，卡号{VALID_CARD}，明天北京下雨吗")
        stats = await running.ask("/stats")
    assert sent.params["text"].startswith(texts.PERSONAL_DATA_WARNING)
    assert VALID_ID not in sent.params["text"] and VALID_CARD not in sent.params["text"]
    assert VALID_ID not in stats.params["text"] and VALID_CARD not in stats.params["text"]
    groups = await running.dp["dialogue"].state.top_unanswered()
    assert groups and all(VALID_ID not in q and VALID_CARD not in q for g in groups for q in g.examples)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert VALID_ID not in logged and VALID_CARD not in logged
    exposition = running.dp["metrics"].exposition().decode()
    assert "yb_personal_data_warnings_total 1.0" in exposition
    assert re.search(r'yb_declines_total\{reason="\w+"\} 1\.0', exposition)  # the weather: declined


# -- abuse -------------------------------------------------------------------------------------
async def test_throttling_one_notice_then_silence(start: Starter, private_redis: PrivateRedis) -> None:
    running = await start(private_redis.url, throttle_limit=3, throttle_window=60)
    for _ in range(3):
        assert "资料日期" in (await running.ask("社保卡挂失了还能看病吗")).params["text"]
    notice = await running.ask("社保卡挂失了还能看病吗")
    assert notice.params["text"] == texts.THROTTLED.format(window=60, limit=3)
    running.stub.push_message(USER, USER, "再问一次")
    await asyncio.sleep(1.5)
    assert len(running.stub.calls("sendMessage")) == 3 + 1  # 3 answers, 1 notice … and silence
    other = await running.ask("社保卡挂失了还能看病吗", user=USER + 1)  # other users are not held back
    assert "资料日期" in other.params["text"]
    assert "yb_throttled_messages_total 2.0" in running.dp["metrics"].exposition().decode()


async def test_throttling_holds_across_replicas(start: Starter, private_redis: PrivateRedis) -> None:
    one = await start(private_redis.url, throttle_limit=2, throttle_window=60)
    two = await start(private_redis.url, throttle_limit=2, throttle_window=60)
    await one.ask("社保卡挂失了还能看病吗")
    await two.ask("社保卡挂失了还能看病吗")
    notice = await one.ask("社保卡挂失了还能看病吗")
    assert notice.params["text"] == texts.THROTTLED.format(window=60, limit=2)


async def test_no_token_in_logs(start: Starter, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        running = await start(None)
        running.stub.fail("sendMessage", status=500, times=1)
        await running.ask("社保卡挂失了还能看病吗")
        running.stub.fail("sendMessage", status=400, times=5)
        running.stub.push_message(USER, USER, "社保卡挂失了还能看病吗")
        await asyncio.sleep(1)
    logged = "\n".join(r.getMessage() + (str(r.exc_info) if r.exc_info else "") for r in caplog.records)
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged
