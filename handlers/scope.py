"""Who is asking, from an aiogram event: the dialogue's `Who`."""

from __future__ import annotations

from aiogram.enums import ChatType
from aiogram.types import Chat, User

from bot.dialogue import Who

GROUP_TYPES = (ChatType.GROUP, ChatType.SUPERGROUP)


def who(chat: Chat, user: User | None) -> Who:
    user_id = user.id if user is not None else chat.id
    return Who(user_id=user_id, chat_id=chat.id, group=chat.type in GROUP_TYPES)
