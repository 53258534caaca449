"""Admin commands (ADMIN_IDS only): /stats, /reload, /broadcast. Others are refused and logged."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable

from aiogram import Router
from aiogram.filters import BaseFilter, Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot import texts
from bot.admin_broadcast import BroadcastAdmin, BroadcastSlot, parse, progress_text
from bot.dialogue import Dialogue, Reply
from bot.knowledge_sync import KnowledgeSync
from bot.redis_conn import OUTAGE_ERRORS
from bot.reload import reload_knowledge
from bot.resilient_store import StateUnavailable
from bot.settings import Settings
from bot.webconsole.auth import ConsoleAuth
from handlers.callback_data import BroadcastCB
from handlers.filters import FromUser, IsCommand
from handlers.replies import answer

log = logging.getLogger(__name__)

REDIS_AWAY: tuple[type[Exception], ...] = (StateUnavailable, *OUTAGE_ERRORS)
ADMIN_COMMANDS = ("stats", "reload", "broadcast", "broadcast_status", "broadcast_cancel", "console")


class IsAdmin(BaseFilter):
    async def __call__(self, message: Message, settings: Settings) -> bool:
        return message.from_user is not None and message.from_user.id in settings.admin_ids


async def stats(message: Message, dialogue: Dialogue) -> None:
    assert message.from_user is not None
    await answer(message, await dialogue.stats(), message.from_user.id)


async def reload(
    message: Message, dialogue: Dialogue, settings: Settings, knowledge_sync: KnowledgeSync
) -> None:
    assert message.from_user is not None
    reply = await reload_knowledge(dialogue, settings.knowledge_dir, knowledge_sync)
    await answer(message, reply, message.from_user.id)


async def console(message: Message, console_auth: ConsoleAuth) -> None:
    """A one-time login link to the operator console, only in a private chat."""
    assert message.from_user is not None
    if message.chat.type != "private":
        await answer(message, Reply(texts.CONSOLE_LINK_PRIVATE, kind="info"), message.from_user.id)
        return
    try:
        link = await console_auth.login_link(message.from_user.id)
    except REDIS_AWAY:
        await answer(message, Reply(texts.BROADCAST_REDIS_DOWN, kind="info"), message.from_user.id)
        return
    log.info("console login link sent (user in the log context)")
    await answer(message, Reply(texts.CONSOLE_LINK.format(link=link), kind="info"), message.from_user.id)


async def refuse(message: Message) -> None:
    assert message.from_user is not None
    command = (message.text or "").split(maxsplit=1)[0][:40]  # the command, not what follows it
    log.warning("refused admin command %s from a non-admin (user in the log context)", command)
    await answer(message, Reply(texts.NOT_ADMIN, kind="info"), message.from_user.id)


async def _with_redis(make: Callable[[BroadcastAdmin], Awaitable[Reply]], broadcasts: BroadcastSlot) -> Reply:
    """A broadcast command's reply; broadcasting needs Redis: say so when it is not set or away."""
    if broadcasts.admin is None:
        return Reply(texts.BROADCAST_NEEDS_REDIS, kind="info")
    try:
        return await make(broadcasts.admin)
    except REDIS_AWAY:
        return Reply(texts.BROADCAST_REDIS_DOWN, kind="info")


async def broadcast(
    message: Message, command: CommandObject, dialogue: Dialogue, broadcasts: BroadcastSlot
) -> None:
    assert message.from_user is not None
    admin_id = message.from_user.id
    replied = message.reply_to_message
    draft = parse(dialogue, command.args or "", replied.text if replied is not None else None)

    async def make(admin: BroadcastAdmin) -> Reply:
        return draft if isinstance(draft, Reply) else await admin.preview(draft, admin_id)

    await answer(message, await _with_redis(make, broadcasts), admin_id)


async def broadcast_status(message: Message, broadcasts: BroadcastSlot) -> None:
    assert message.from_user is not None
    await answer(message, await _with_redis(lambda admin: admin.status(), broadcasts), message.from_user.id)


async def broadcast_cancel(message: Message, command: CommandObject, broadcasts: BroadcastSlot) -> None:
    assert message.from_user is not None
    job_id = command.args or ""
    await answer(
        message, await _with_redis(lambda admin: admin.cancel(job_id), broadcasts), message.from_user.id
    )


async def broadcast_choice(
    query: CallbackQuery, callback_data: BroadcastCB, settings: Settings, broadcasts: BroadcastSlot
) -> None:
    admin = broadcasts.admin
    if (
        query.from_user.id not in settings.admin_ids
        or admin is None
        or not isinstance(query.message, Message)
    ):
        await query.answer(texts.NOT_ADMIN, show_alert=True)
        return
    if callback_data.action != "go":
        await query.answer()
        await answer(query.message, await admin.drop(callback_data.preview), query.from_user.id)
        return
    try:
        result = await admin.confirm(callback_data.preview, query.from_user.id)
    except REDIS_AWAY:
        await query.answer(texts.BROADCAST_REDIS_DOWN, show_alert=True)
        return
    if isinstance(result, Reply):
        await query.answer(result.text, show_alert=result.kind == "alert")
        return
    await query.answer()
    sent = await query.message.answer(html.escape(progress_text(result)))
    await admin.store.set_progress_message(result.id, sent.chat.id, sent.message_id)
    admin.broadcaster.notify()


def make_router() -> Router:
    """Admin commands; everyone else trying them is refused (and logged)."""
    router = Router(name=__name__)
    router.message.filter(FromUser(), IsCommand(captions=True))
    router.message.register(stats, Command("stats"), IsAdmin())
    router.message.register(reload, Command("reload"), IsAdmin())
    router.message.register(console, Command("console"), IsAdmin())
    router.message.register(broadcast, Command("broadcast"), IsAdmin())
    router.message.register(broadcast_status, Command("broadcast_status"), IsAdmin())
    router.message.register(broadcast_cancel, Command("broadcast_cancel"), IsAdmin())
    router.callback_query.register(broadcast_choice, BroadcastCB.filter())
    router.message.register(refuse, Command(*ADMIN_COMMANDS), ~IsAdmin())
    return router
