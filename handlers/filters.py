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
    """Text that starts with "/" (with `captions`, a caption too, as aiogram's `Command` reads
    them). Put before the `Command` filters it spares a question their parsing."""

    def __init__(self, *, captions: bool = False) -> None:
        self.captions = captions

    async def __call__(self, message: Message) -> bool:
        text = message.text or (message.caption if self.captions else None) or ""
        return text.startswith("/")


class IsQuestion(BaseFilter):
    """Text that is not a command."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and not message.text.startswith("/")
