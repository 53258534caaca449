"""Small async filters for the routers.

aiogram runs a synchronous filter — a magic filter such as ``F.from_user`` included — through
``asyncio.to_thread`` on every update (aiogram/dispatcher/event/handler.py, CallableObject.call):
a thread hop per filter per message. These async ones do the same checks on the event loop.
"""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import Message


class FromUser(BaseFilter):
    """The message has a sender (not a channel post or an anonymous admin's)."""

    async def __call__(self, message: Message) -> bool:
        return message.from_user is not None


class ChatTypeIn(BaseFilter):
    def __init__(self, *types: str) -> None:
        self.types = frozenset(types)

    async def __call__(self, message: Message) -> bool:
        return message.chat.type in self.types


class HasText(BaseFilter):
    async def __call__(self, message: Message) -> bool:
        return message.text is not None


class IsCommand(BaseFilter):
    """Text (or a caption) that starts with "/" — or, with `command=False`, text that does not.
    Put before aiogram's `Command` filters it spares a question their parsing."""

    def __init__(self, command: bool = True) -> None:
        self.command = command

    async def __call__(self, message: Message) -> bool:
        if self.command:
            return (message.text or message.caption or "").startswith("/")
        return message.text is not None and not message.text.startswith("/")
