"""The Bot API stub works with the real aiogram: Bot calls, Dispatcher long polling, faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.stub_api import Call, StubBotAPI

USER = 1001
GROUP = -1001234567890


@pytest.fixture
async def stub() -> AsyncIterator[StubBotAPI]:
    async with StubBotAPI(admins={GROUP: [7]}) as server:
        yield server


@pytest.fixture
async def bot(stub: StubBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(stub.base_url))
    bot = Bot(token="42:TEST", session=session)
    try:
        yield bot
    finally:
        await bot.session.close()


@asynccontextmanager
async def polling(dp: Dispatcher, bot: Bot) -> AsyncIterator[None]:
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        yield
    finally:
        with suppress(RuntimeError):  # "Polling is not started" if it never got going
            await dp.stop_polling()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bot.session.close()


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="报销比例", callback_data="topic:1")]]
    )


async def test_send_message_records_text_and_decoded_reply_markup(stub: StubBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER, "请选择：", reply_markup=keyboard())
    again = await bot.send_message(USER, "123")
    in_group = await bot.send_message(GROUP, "true")

    assert (sent.message_id, again.message_id, in_group.message_id) == (1, 2, 1)
    assert sent.chat.type == "private" and in_group.chat.type == "supergroup"
    assert sent.from_user is not None and sent.from_user.id == 42
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "topic:1"
    calls = stub.calls("sendMessage")
    assert [c.params["chat_id"] for c in calls] == [USER, USER, GROUP]
    assert calls[0].params["text"] == "请选择："
    assert calls[0].params["reply_markup"] == {
        "inline_keyboard": [[{"text": "报销比例", "callback_data": "topic:1"}]]
    }
    # string parameters stay strings even when they look like JSON
    assert calls[1].params["text"] == "123" and calls[2].params["text"] == "true"
    me = await bot.get_me()
    assert (me.id, me.username) == (42, "yibao_test_bot")


async def test_dispatcher_echoes_pushed_messages(stub: StubBotAPI, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    stub.push_message(USER, USER, "你好")
    async with polling(dp, bot):
        await stub.wait_for("sendMessage")
        stub.push_message(GROUP, 7, "/help@yibao_test_bot", reply_to_bot=True)
        calls = await stub.wait_for("sendMessage", count=2)

    assert {(c.params["chat_id"], c.params["text"]) for c in calls} == {
        (USER, "echo: 你好"),
        (GROUP, "echo: /help@yibao_test_bot"),
    }
    polls = stub.calls("getUpdates")
    assert any(c.params.get("offset") == 2 for c in polls)  # update 1 confirmed
    assert polls[0].params["timeout"] == 1
    assert polls[0].params["allowed_updates"] == ["message"]
    assert stub.calls("getMe")


async def test_pushed_updates_are_realistic(stub: StubBotAPI) -> None:
    stub.push_message(GROUP, 7, "/start now", username="zhang")
    update = stub.pending_updates[-1]
    message = update["message"]
    assert message["chat"]["type"] == "supergroup" and message["chat"]["title"]
    assert message["from"] == {"id": 7, "is_bot": False, "first_name": "测试用户", "username": "zhang"}
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    update_id = stub.push_update({"edited_message": stub.build_message(USER, USER, "改过了")})
    assert update_id == update["update_id"] + 1
    assert Message.model_validate(stub.pending_updates[-1]["edited_message"]).chat.type == "private"


async def test_callback_query_round_trip(stub: StubBotAPI, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.callback_query(F.data.startswith("topic:"))
    async def pick(callback: CallbackQuery) -> None:
        await callback.answer("好的")
        assert isinstance(callback.message, Message)
        await callback.message.edit_text(f"已选 {callback.data}")

    sent = await bot.send_message(USER, "请选择：", reply_markup=keyboard())
    stub.push_callback(USER, USER, "topic:1", sent.message_id)
    query_id = stub.pending_updates[-1]["callback_query"]["id"]
    async with polling(dp, bot):
        answers = await stub.wait_for("answerCallbackQuery")
        edits = await stub.wait_for("editMessageText")

    assert answers[0].params == {"callback_query_id": query_id, "text": "好的"}
    assert edits[0].params["message_id"] == sent.message_id
    assert edits[0].params["text"] == "已选 topic:1"
    assert edits[0].status == 200 and edits[0].result["edit_date"]


async def test_faults_surface_as_aiogram_exceptions(stub: StubBotAPI, bot: Bot) -> None:
    stub.fail("sendMessage", chat_ids=[1], retry_after=7, times=1)
    stub.fail("sendMessage", chat_ids=[2], status=403)
    stub.fail("sendMessage", chat_ids=[3], status=400)
    stub.fail("sendChatAction", status=500, times=1)

    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(1, "a")
    assert retry.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in str(retry.value)
    assert (await bot.send_message(1, "a")).message_id == 1  # `times` ran out
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(2, "b")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(3, "c")
    with pytest.raises(TelegramServerError):
        await bot.send_chat_action(4, "typing")
    assert await bot.send_chat_action(4, "typing") is True
    assert [c.status for c in stub.calls("sendMessage")] == [429, 200, 403, 400]


async def test_rate_limit_answers_429_beyond_the_rate(stub: StubBotAPI, bot: Bot) -> None:
    stub.rate_limit(5, burst=5)
    results = await asyncio.gather(
        *(bot.send_message(USER, f"#{i}") for i in range(8)), return_exceptions=True
    )
    limited = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert sum(isinstance(r, Message) for r in results) == 5
    assert len(limited) == 3 and all(r.retry_after >= 1 for r in limited)
    stub.rate_limit(None)
    assert (await bot.send_message(USER, "ok")).text == "ok"


async def test_html_is_checked_like_telegram(stub: StubBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER, "<b>【产假】</b>\n1 &lt; 2", parse_mode="HTML")
    assert sent.text == "【产假】\n1 < 2"
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "1 < 2", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await bot.send_message(USER, "<br>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "字" * 4097)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("【产假】\n1 < 2", chat_id=USER, message_id=sent.message_id)


async def test_admin_commands_webhook_and_chat(stub: StubBotAPI, bot: Bot) -> None:
    admin = await bot.get_chat_member(GROUP, 7)
    member = await bot.get_chat_member(GROUP, 8)
    assert (admin.status, member.status) == ("administrator", "member")
    stub.set_member_status(GROUP, 9, "creator")
    assert (await bot.get_chat_member(GROUP, 9)).status == "creator"
    chat = await bot.get_chat(GROUP)
    assert chat.type == "supergroup"

    await bot.set_my_commands([BotCommand(command="start", description="开始")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == []

    await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    await bot.delete_webhook(drop_pending_updates=True)
    assert stub.calls("deleteWebhook")[0].params["drop_pending_updates"] is True
    sent = await bot.send_message(USER, "x")
    assert await bot.delete_message(USER, sent.message_id) is True


async def test_raw_http_json_multipart_long_poll_and_unknown_method(stub: StubBotAPI, bot: Bot) -> None:
    url = f"{stub.base_url}/bot42:TEST"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/frobnicate", json={}) as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with http.post(f"{url}/sendMessage", json={"chat_id": USER, "text": "json"}) as resp:
            assert (await resp.json())["result"]["text"] == "json"

        # long polling: waits (capped) when nothing is queued, answers at once when something is
        started = time.monotonic()
        async with http.get(f"{url}/getUpdates", params={"timeout": "30"}) as resp:
            assert (await resp.json())["result"] == []
        assert 0.9 <= time.monotonic() - started < 2.0  # poll_cap = 1 s

        async def later() -> None:
            await asyncio.sleep(0.1)
            stub.push_message(USER, USER, "hi")

        started = time.monotonic()
        pusher = asyncio.create_task(later())
        async with http.post(f"{url}/getUpdates", data={"timeout": "30", "limit": "5"}) as resp:
            updates = (await resp.json())["result"]
        await pusher
        assert time.monotonic() - started < 0.8
        assert [u["message"]["text"] for u in updates] == ["hi"]
        confirm = updates[0]["update_id"] + 1
        async with http.post(f"{url}/getUpdates", data={"offset": str(confirm)}) as resp:
            assert (await resp.json())["result"] == []

    # multipart, as aiogram sends it with a file upload (sendDocument is not stubbed: 404)
    with pytest.raises(TelegramNotFound, match="method not found"):
        await bot.send_document(USER, BufferedInputFile(b"abc", filename="a.txt"), caption="42")
    params = stub.calls("sendDocument")[0].params
    assert params["chat_id"] == USER and params["caption"] == "42"
    uploaded = next(v for v in params.values() if hasattr(v, "data"))
    assert (uploaded.filename, uploaded.data) == ("a.txt", b"abc")


async def test_wait_for_times_out_with_a_summary(stub: StubBotAPI, bot: Bot) -> None:
    await bot.get_me()

    def predicate(call: Call) -> bool:
        return call.params.get("chat_id") == 5

    with pytest.raises(TimeoutError, match=r"expected 1 sendMessage call\(s\).*getMe×1"):
        await stub.wait_for("sendMessage", timeout=0.05, predicate=predicate)
