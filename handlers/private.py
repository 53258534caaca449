"""Private chats: any text is a question; anything else gets a one-line hint."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.types import Message

from bot import texts
from bot.dialogue import Dialogue, Reply
from handlers.filters import ChatTypeIn, FromUser, IsCommand, IsQuestion
from handlers.replies import answer
from handlers.scope import who


async def question(message: Message, dialogue: Dialogue) -> None:
    assert message.from_user is not None and message.text is not None
    reply = await dialogue.handle_text(who(message.chat, message.from_user), message.text)
    await answer(message, reply, message.from_user.id)


async def unknown_command(message: Message, dialogue: Dialogue) -> None:
    assert message.from_user is not None
    await answer(message, dialogue.help(), message.from_user.id)


async def not_text(message: Message) -> None:
    assert message.from_user is not None
    await answer(message, Reply(texts.NON_TEXT_HINT, kind="hint"), message.from_user.id)


def make_router() -> Router:
    """Private chats only."""
    router = Router(name=__name__)
    router.message.filter(ChatTypeIn(ChatType.PRIVATE), FromUser())
    router.message.register(question, IsQuestion())
    router.message.register(unknown_command, IsCommand())
    router.message.register(not_text)
    return router
