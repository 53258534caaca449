"""End to end: the real aiogram Dispatcher, long polling a Bot API stub server on 127.0.0.1,
with state in real Redis. Assertions are on the requests the bot actually sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot, Dispatcher

from bot.app import create_bot, create_dispatcher
from bot.settings import load_settings
from knowledge.engine import Engine
from tests.stub_api import Call, StubBotAPI

ADMIN = 777
USER = 1001
GROUP = -100200
BOT_USERNAME = "yibao_test_bot"


@dataclass
class Running:
    stub: StubBotAPI
    bot: Bot
    dp: Dispatcher

    def texts(self, chat_id: int) -> list[str]:
        return [
            str(c.params.get("text", ""))
            for c in self.stub.calls("sendMessage")
            if c.params["chat_id"] == chat_id
        ]

    async def reply_to(self, push: Any, *, count: int = 1, method: str = "sendMessage") -> list[Call]:
        """Push an update and wait for `count` new calls of `method`."""
        before = len(self.stub.calls(method))
        push()
        calls = await self.stub.wait_for(method, count=before + count, timeout=10)
        return calls[before:]


def buttons(call: Call) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def data_starting(call: Call, prefix: str) -> list[str]:
    return [b["callback_data"] for b in buttons(call) if b.get("callback_data", "").startswith(prefix)]


@pytest.fixture
async def running(engine: Engine, redis_url: str, redis_prefix: str) -> AsyncIterator[Running]:
    stub = StubBotAPI(username=BOT_USERNAME, admins={GROUP: [ADMIN]})
    base = await stub.start()
    settings = load_settings(
        bot_token="42:TEST",
        telegram_api_url=base,
        redis_url=redis_url,
        admin_ids=str(ADMIN),
        knowledge_dir=None,
    )
    bot = create_bot(settings)
    dp = create_dispatcher(settings, engine=engine, prefix=redis_prefix)
    task = asyncio.create_task(
        dp.start_polling(
            bot, handle_signals=False, polling_timeout=1, allowed_updates=dp.resolve_used_update_types()
        )
    )
    await stub.wait_for("setMyCommands", timeout=10)
    try:
        yield Running(stub, bot, dp)
    finally:
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
        await asyncio.wait_for(task, timeout=10)
        await stub.stop()


async def test_commands_registered_in_chinese(running: Running) -> None:
    commands = running.stub.calls("setMyCommands")[0].params["commands"]
    names = {c["command"] for c in commands}
    assert {"start", "help", "ask", "region", "scheme", "me", "reset"} <= names
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in c["description"]) for c in commands)


async def test_private_question_answer_with_keyboard(running: Running) -> None:
    (sent,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "社保卡挂失了还能看病吗"))
    assert sent.params["parse_mode"] == "HTML"
    assert "资料日期" in sent.params["text"] and "以当地医保部门最新规定为准" in sent.params["text"]
    assert data_starting(sent, "q:")  # related questions
    assert data_starting(sent, "v:up:") and data_starting(sent, "v:down:")


async def test_related_question_button_answers_in_a_new_message(running: Running) -> None:
    (first,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "社保卡挂失了还能看病吗"))
    data = data_starting(first, "q:")[0]
    message_id = first.result["message_id"]
    (second,) = await running.reply_to(lambda: running.stub.push_callback(USER, USER, data, message_id))
    assert second.params["text"] != first.params["text"]
    assert running.stub.calls("answerCallbackQuery")


async def test_clarify_by_button_then_profile_reused(running: Running) -> None:
    (asked,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "医保缴费基数是多少"))
    picks = data_starting(asked, "p:region:")
    shanxi = next(d for d in picks if "山西" in d)
    (answered,) = await running.reply_to(
        lambda: running.stub.push_callback(USER, USER, shanxi, asked.result["message_id"])
    )
    assert "山西" in answered.params["text"] and "7194" in answered.params["text"]
    (again,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "缴费基数怎么定"))
    assert "7194" in again.params["text"]  # no second question about the region


async def test_clarify_by_typed_city(running: Running) -> None:
    await running.reply_to(lambda: running.stub.push_message(USER, USER, "医保缴费基数是多少"))
    (answered,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "大同"))
    assert "7194" in answered.params["text"]


async def test_feedback_buttons_store_votes(running: Running) -> None:
    (sent,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "社保卡挂失了还能看病吗"))
    up = data_starting(sent, "v:up:")[0]
    (ack,) = await running.reply_to(
        lambda: running.stub.push_callback(USER, USER, up, sent.result["message_id"]),
        method="answerCallbackQuery",
    )
    assert ack.params["text"] == "感谢反馈！"
    dialogue = running.dp["dialogue"]
    assert await dialogue.state.feedback_summary() == [("ka.loss-still-usable", 1, 0)]


async def test_context_followup(running: Running) -> None:
    await running.reply_to(
        lambda: running.stub.push_message(USER, USER, "北京和山西职工医保异地报销比例一样吗")
    )
    (second,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "那居民医保呢"))
    assert "居民医保" in second.params["text"].split("\n")[0]


async def test_not_found_gives_hotline(running: Running) -> None:
    (sent,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "明天北京下雨吗"))
    assert "12393" in sent.params["text"]


async def test_html_in_user_text_is_escaped(running: Running) -> None:
    (sent,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "/region <b>火星&</b>"))
    assert "&lt;b&gt;火星&amp;&lt;/b&gt;" in sent.params["text"]


async def test_non_text_gets_a_hint(running: Running) -> None:
    sticker = running.stub.build_message(
        USER,
        USER,
        None,
        sticker={
            "file_id": "x",
            "file_unique_id": "y",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )
    (sent,) = await running.reply_to(lambda: running.stub.push_update({"message": sticker}))
    assert "文字" in sent.params["text"]


async def test_non_admin_broadcast_refused_admin_stats_allowed(running: Running) -> None:
    (refused,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "/broadcast 大家好"))
    assert "管理员" in refused.params["text"]
    (stats,) = await running.reply_to(lambda: running.stub.push_message(ADMIN, ADMIN, "/stats"))
    assert "统计" in stats.params["text"]


# -- groups -------------------------------------------------------------------------------------
async def test_group_ignores_ordinary_messages(running: Running) -> None:
    running.stub.push_message(GROUP, USER, "社保卡挂失了还能看病吗")
    (sent,) = await running.reply_to(
        lambda: running.stub.push_message(GROUP, USER, "/ask 社保卡挂失了还能看病吗")
    )
    # only the /ask got an answer
    assert len([t for t in running.texts(GROUP) if "资料日期" in t]) == 1
    assert sent.params.get("reply_parameters", {}).get("message_id") or sent.params.get("reply_to_message_id")


async def test_group_ask_with_bot_username(running: Running) -> None:
    text = f"/ask@{BOT_USERNAME} 社保卡挂失了还能看病吗"
    (sent,) = await running.reply_to(lambda: running.stub.push_message(GROUP, USER, text))
    assert "资料日期" in sent.params["text"]


async def test_group_mention_and_reply_to_bot(running: Running) -> None:
    text = f"@{BOT_USERNAME} 社保卡挂失了还能看病吗"
    entity = [{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}]
    (sent,) = await running.reply_to(lambda: running.stub.push_message(GROUP, USER, text, entities=entity))
    assert "资料日期" in sent.params["text"]
    (replied,) = await running.reply_to(
        lambda: running.stub.push_message(GROUP, USER, "那补办的卡为什么用不了", reply_to_bot=True)
    )
    assert "资料日期" in replied.params["text"]


async def test_group_clarification_only_for_the_asker(running: Running) -> None:
    (asked,) = await running.reply_to(
        lambda: running.stub.push_message(GROUP, USER, "/ask 医保缴费基数是多少")
    )
    shanxi = next(d for d in data_starting(asked, "p:region:") if "山西" in d)
    (alert,) = await running.reply_to(
        lambda: running.stub.push_callback(GROUP, 2002, shanxi, asked.result["message_id"]),
        method="answerCallbackQuery",
    )
    assert alert.params.get("show_alert") is True
    (answered,) = await running.reply_to(
        lambda: running.stub.push_callback(GROUP, USER, shanxi, asked.result["message_id"])
    )
    assert "7194" in answered.params["text"]


async def test_group_region_needs_a_group_admin(running: Running) -> None:
    (refused,) = await running.reply_to(lambda: running.stub.push_message(GROUP, USER, "/region 太原"))
    assert "管理员" in refused.params["text"]
    (done,) = await running.reply_to(lambda: running.stub.push_message(GROUP, ADMIN, "/region 太原"))
    assert "山西" in done.params["text"]
    (answered,) = await running.reply_to(
        lambda: running.stub.push_message(GROUP, 4004, "/ask 医保缴费基数是多少")
    )
    assert "7194" in answered.params["text"]


async def test_edited_message_is_ignored_without_crash(running: Running) -> None:
    edited = running.stub.build_message(USER, USER, "社保卡挂失了还能看病吗", edit_date=1_700_000_000)
    running.stub.push_update({"edited_message": edited})
    (sent,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "谢谢"))
    assert "不客气" in sent.params["text"]
    assert not any("资料日期" in t for t in running.texts(USER))  # the edit got no answer


async def test_webhook_checks_the_secret_and_answers(
    engine: Engine, redis_url: str, redis_prefix: str
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import WEBHOOK_PATH, create_webhook_app

    async with StubBotAPI(username=BOT_USERNAME) as stub:
        settings = load_settings(
            bot_token="42:TEST",
            telegram_api_url=stub.base_url,
            redis_url=redis_url,
            webhook_url="https://bot.example.com/webhook",
            webhook_secret="s3cret",
        )
        bot = create_bot(settings)
        dp = create_dispatcher(settings, engine=engine, prefix=redis_prefix)
        client = TestClient(TestServer(create_webhook_app(settings, bot, dp)))
        await client.start_server()
        try:
            hook = stub.calls("setWebhook")[0].params
            assert hook["url"] == "https://bot.example.com/webhook" and hook["secret_token"] == "s3cret"
            update = {"update_id": 1, "message": stub.build_message(USER, USER, "社保卡挂失了还能看病吗")}
            bad = await client.post(
                WEBHOOK_PATH, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "no"}
            )
            assert bad.status == 401
            good = await client.post(
                WEBHOOK_PATH, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
            )
            assert good.status == 200
            (sent,) = await stub.wait_for("sendMessage", timeout=10)
            assert "资料日期" in sent.params["text"]
            health = await client.get("/health")
            assert (await health.json()) == {"ok": True}
        finally:
            await client.close()


async def test_subscribe_updates_and_group_admin_rule(running: Running) -> None:
    (done,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "/subscribe 太原"))
    assert "山西" in done.params["text"]
    (me,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "/me"))
    assert "订阅：山西" in me.params["text"]
    (none,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "/updates"))
    assert "还没有发布" in none.params["text"]
    (refused,) = await running.reply_to(lambda: running.stub.push_message(GROUP, USER, "/subscribe"))
    assert "管理员" in refused.params["text"]
    (group_done,) = await running.reply_to(lambda: running.stub.push_message(GROUP, ADMIN, "/subscribe"))
    assert "已订阅" in group_done.params["text"]


async def test_admin_broadcast_preview_confirm_and_delivery(running: Running) -> None:
    stub = running.stub
    for chat, text in ((USER, "/subscribe 太原"), (2002, "/subscribe"), (3003, "/subscribe 广东")):
        await running.reply_to(lambda chat=chat, text=text: stub.push_message(chat, chat, text))
    stub.fail("sendMessage", chat_ids=[2002], status=403)  # 2002 has blocked the bot
    (preview,) = await running.reply_to(
        lambda: stub.push_message(ADMIN, ADMIN, "/broadcast 太原 山西<居民>门诊限额提高到400元。")
    )
    assert "受众：2 个订阅者（山西）" in preview.params["text"]
    assert "山西&lt;居民&gt;门诊限额提高到400元。" in preview.params["text"]  # exactly what users get
    go = data_starting(preview, "b:go:")[0]
    # a non-admin pressing the button is refused
    (refused,) = await running.reply_to(
        lambda: stub.push_callback(ADMIN, USER, go, preview.result["message_id"]),
        method="answerCallbackQuery",
    )
    assert refused.params.get("show_alert") is True
    await running.reply_to(lambda: stub.push_callback(ADMIN, ADMIN, go, preview.result["message_id"]))
    delivered = await stub.wait_for(
        "sendMessage",
        predicate=lambda c: c.params["chat_id"] == USER and "400元" in c.params["text"],
        timeout=15,
    )
    assert delivered[0].params["parse_mode"] == "HTML"
    final = await stub.wait_for(
        "editMessageText", predicate=lambda c: "已完成" in c.params["text"], timeout=15
    )
    assert "已发送 1/2" in final[-1].params["text"] and "屏蔽/失效 1" in final[-1].params["text"]
    assert not [
        c for c in stub.calls("sendMessage") if c.params["chat_id"] == 3003 and "400元" in c.params["text"]
    ]
    dialogue = running.dp["dialogue"]
    assert await dialogue.state.subscriptions(2002) == []  # blocked chat pruned
    (updates,) = await running.reply_to(lambda: stub.push_message(USER, USER, "/updates"))
    assert "400元" in updates.params["text"]


async def test_admin_broadcast_cancel_preview_sends_nothing(running: Running) -> None:
    stub = running.stub
    await running.reply_to(lambda: stub.push_message(USER, USER, "/subscribe"))
    (preview,) = await running.reply_to(lambda: stub.push_message(ADMIN, ADMIN, "/broadcast 测试通知"))
    no = data_starting(preview, "b:no:")[0]
    (cancelled,) = await running.reply_to(
        lambda: stub.push_callback(ADMIN, ADMIN, no, preview.result["message_id"])
    )
    assert "取消" in cancelled.params["text"]
    (status,) = await running.reply_to(lambda: stub.push_message(ADMIN, ADMIN, "/broadcast_status"))
    assert "还没有广播任务" in status.params["text"]
    assert not [c for c in stub.calls("sendMessage") if c.params["text"] == "测试通知"]


async def test_console_command_sends_an_admin_a_working_login_link(running: Running) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import create_web_app

    (refused,) = await running.reply_to(lambda: running.stub.push_message(USER, USER, "/console"))
    assert "管理员" in refused.params["text"] and "/console/login" not in refused.params["text"]
    (in_group,) = await running.reply_to(lambda: running.stub.push_message(GROUP, ADMIN, "/console"))
    assert "私聊" in in_group.params["text"] and "/console/login" not in in_group.params["text"]
    (sent,) = await running.reply_to(lambda: running.stub.push_message(ADMIN, ADMIN, "/console"))
    link = str(sent.params["text"]).split("\n")[-1]
    assert link.startswith("http://127.0.0.1:8080/console/login?t=")  # WEB_BASE_URL unset
    client = TestClient(TestServer(create_web_app(running.dp)))
    await client.start_server()
    try:
        response = await client.get(link[link.index("/console/") :], allow_redirects=False)
        assert response.status == 303
        home = await client.get("/console/")
        assert home.status == 200 and "概览" in await home.text()
    finally:
        await client.close()
