"""Groups: answer only messages that mention the bot or reply to it (and /ask, in commands.py).

Everything else in a group is other people's conversation and is left alone.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import BaseFilter
from aiogram.types import Message

from bot.dialogue import Dialogue
from handlers.filters import ChatTypeIn, FromUser, HasText
from handlers.replies import answer
from handlers.scope import GROUP_TYPES, who


class AddressedToBot(BaseFilter):
    """The message mentions @the_bot or replies to one of the bot's messages; passes the
    question with the mention removed as `question`."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, str]:
        text = message.text or ""
        me = await bot.me()
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
            return {"question": text}
        mention = f"@{me.username}".lower() if me.username else None
        for entity in message.entities or []:
            # offsets are in UTF-16 units: let aiogram cut the entity out, then drop it
            named = entity.extract_from(text)
            if (entity.type == "mention" and mention is not None and named.lower() == mention) or (
                entity.type == "text_mention" and entity.user is not None and entity.user.id == me.id
            ):
                return {"question": text.replace(named, " ", 1).strip()}
        return False


async def question(message: Message, question: str, dialogue: Dialogue) -> None:
    assert message.from_user is not None
    reply = await dialogue.handle_text(who(message.chat, message.from_user), question)
    await answer(message, reply, message.from_user.id, quote=True)


def make_router() -> Router:
    """Groups only; messages not addressed to the bot fall through unanswered."""
    router = Router(name=__name__)
    router.message.filter(ChatTypeIn(*GROUP_TYPES), FromUser(), HasText())
    router.message.register(question, AddressedToBot())
    return router
