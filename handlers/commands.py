"""Commands for everyone, in private chats and groups: /start /help /ask /region /scheme /me /reset."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.enums import ChatMemberStatus
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from bot import texts
from bot.dialogue import Dialogue, Reply
from handlers.filters import FromUser, IsCommand
from handlers.replies import answer, respond
from handlers.scope import who

log = logging.getLogger(__name__)

ADMIN_STATUSES = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.CREATOR)


async def start(message: Message, dialogue: Dialogue) -> None:
    assert message.from_user is not None
    await answer(message, dialogue.start(), message.from_user.id)


async def help_(message: Message, dialogue: Dialogue) -> None:
    assert message.from_user is not None
    await answer(message, dialogue.help(), message.from_user.id)


async def ask(message: Message, command: CommandObject, dialogue: Dialogue) -> None:
    assert message.from_user is not None
    asker = who(message.chat, message.from_user)
    reply = await dialogue.handle_text(asker, command.args or "")
    await answer(message, reply, message.from_user.id, quote=asker.group)


async def is_group_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    member = await bot.get_chat_member(chat_id, user_id)
    return member.status in ADMIN_STATUSES


async def region(message: Message, command: CommandObject, dialogue: Dialogue, bot: Bot) -> None:
    assert message.from_user is not None
    asker = who(message.chat, message.from_user)
    if asker.group:
        if not await is_group_admin(bot, message.chat.id, message.from_user.id):
            await answer(
                message, Reply(texts.GROUP_REGION_ADMIN_ONLY, kind="info"), asker.user_id, quote=True
            )
            return
        if not command.args:
            await answer(message, dialogue.region_menu(), asker.user_id, quote=True)
            return
        reply = await dialogue.set_region(asker, command.args, for_group=True)
    elif command.args:
        reply = await dialogue.set_region(asker, command.args)
    else:
        reply = dialogue.region_menu()
    await answer(message, reply, asker.user_id, quote=asker.group)


async def scheme(message: Message, command: CommandObject, dialogue: Dialogue) -> None:
    assert message.from_user is not None
    asker = who(message.chat, message.from_user)
    reply = await dialogue.set_scheme(asker, command.args) if command.args else dialogue.scheme_menu()
    await answer(message, reply, asker.user_id, quote=asker.group)


async def me(message: Message, dialogue: Dialogue) -> None:
    await respond(message, await dialogue.me(who(message.chat, message.from_user)))


async def reset(message: Message, dialogue: Dialogue) -> None:
    await respond(message, await dialogue.reset(who(message.chat, message.from_user)))


async def _group_admin_or_refuse(message: Message, bot: Bot, text: str) -> bool:
    """In a group, only administrators may change the group's settings."""
    assert message.from_user is not None
    asker = who(message.chat, message.from_user)
    if asker.group and not await is_group_admin(bot, message.chat.id, message.from_user.id):
        await respond(message, Reply(text, kind="info"))
        return False
    return True


async def subscribe(message: Message, command: CommandObject, dialogue: Dialogue, bot: Bot) -> None:
    if await _group_admin_or_refuse(message, bot, texts.SUBSCRIBE_GROUP_ADMIN_ONLY):
        reply = await dialogue.subscribe(who(message.chat, message.from_user), command.args or "")
        await respond(message, reply)


async def unsubscribe(message: Message, dialogue: Dialogue, bot: Bot) -> None:
    if await _group_admin_or_refuse(message, bot, texts.SUBSCRIBE_GROUP_ADMIN_ONLY):
        await respond(message, await dialogue.unsubscribe(who(message.chat, message.from_user)))


async def updates(message: Message, dialogue: Dialogue) -> None:
    await respond(message, await dialogue.updates(who(message.chat, message.from_user)))


def make_router() -> Router:
    """Commands for everyone; `/ask@botname` is matched too (aiogram checks the mention)."""
    router = Router(name=__name__)
    router.message.filter(FromUser(), IsCommand(captions=True))
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(ask, Command("ask"))
    router.message.register(region, Command("region"))
    router.message.register(scheme, Command("scheme"))
    router.message.register(me, Command("me"))
    router.message.register(reset, Command("reset"))
    router.message.register(subscribe, Command("subscribe"))
    router.message.register(unsubscribe, Command("unsubscribe"))
    router.message.register(updates, Command("updates"))
    return router
