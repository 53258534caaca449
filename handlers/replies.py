"""Sending a dialogue Reply: rendered HTML pieces, the keyboard on the last piece."""

from __future__ import annotations

from typing import ClassVar

from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, TelegramObject

from bot.dialogue import Reply
from bot.render import render
from handlers.callback_data import pack_action
from handlers.scope import GROUP_TYPES

BUTTON_TEXT_MAX = 60


def keyboard(reply: Reply, asker_id: int) -> InlineKeyboardMarkup | None:
    # built directly: aiogram's InlineKeyboardBuilder deep-copies every button on export
    if not reply.buttons:
        return None
    rows = [
        [
            InlineKeyboardButton(text=b.text[:BUTTON_TEXT_MAX], callback_data=pack_action(b.action, asker_id))
            for b in row
        ]
        for row in reply.buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


class Sent(TelegramObject):
    """What a reply needs of the message it sent: the id. (Extra fields are kept unparsed.)"""

    message_id: int


class SendReply(SendMessage):
    """sendMessage, parsing of the result only the id: Telegram echoes the whole message back
    (text, entities, keyboard) and validating that into aiogram's Message cost a tenth of the
    time a question takes (bench/bench_bot.py --profile)."""

    __returning__: ClassVar[type] = Sent  # type: ignore[assignment]


async def answer(message: Message, reply: Reply, asker_id: int, *, quote: bool = False) -> None:
    """Send a reply in the message's chat (as a reply to it when `quote`, as in groups)."""
    assert message.bot is not None
    pieces = render(reply.text)
    markup = keyboard(reply, asker_id)
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        await message.bot(
            SendReply(  # type: ignore[call-arg]  # (mypy reads the deprecated fields as required)
                chat_id=message.chat.id,
                message_thread_id=message.message_thread_id if message.is_topic_message else None,
                business_connection_id=message.business_connection_id,
                reply_parameters=message.as_reply_parameters() if quote and index == 0 else None,
                text=piece,
                reply_markup=markup if last else None,
            )
        )


async def respond(message: Message, reply: Reply) -> None:
    """Answer a message's sender; in groups quote the message, so it is clear whom it answers."""
    assert message.from_user is not None
    await answer(message, reply, message.from_user.id, quote=message.chat.type in GROUP_TYPES)
