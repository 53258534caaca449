"""Admin commands (ADMIN_IDS only): /stats, /reload, /broadcast. Others are refused and logged."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import BaseFilter, Command
from aiogram.types import Message

from bot import texts
from bot.dialogue import Dialogue, Reply
from bot.reload import reload_knowledge
from bot.settings import Settings
from handlers.replies import answer

log = logging.getLogger(__name__)

ADMIN_COMMANDS = ("stats", "reload", "broadcast", "broadcast_status", "broadcast_cancel")


class IsAdmin(BaseFilter):
    async def __call__(self, message: Message, settings: Settings) -> bool:
        return message.from_user is not None and message.from_user.id in settings.admin_ids


async def stats(message: Message, dialogue: Dialogue) -> None:
    assert message.from_user is not None
    await answer(message, await dialogue.stats(), message.from_user.id)


async def reload(message: Message, dialogue: Dialogue, settings: Settings) -> None:
    assert message.from_user is not None
    await answer(message, await reload_knowledge(dialogue, settings.knowledge_dir), message.from_user.id)


async def refuse(message: Message) -> None:
    assert message.from_user is not None
    log.warning("refused admin command %r from user %s", (message.text or "")[:40], message.from_user.id)
    await answer(message, Reply(texts.NOT_ADMIN, kind="info"), message.from_user.id)


async def broadcast_not_yet(message: Message) -> None:
    assert message.from_user is not None
    await answer(message, Reply(texts.BROADCAST_NOT_YET, kind="info"), message.from_user.id)


def make_router() -> Router:
    """Admin commands; everyone else trying them is refused (and logged)."""
    router = Router(name=__name__)
    router.message.filter(F.from_user)
    router.message.register(stats, Command("stats"), IsAdmin())
    router.message.register(reload, Command("reload"), IsAdmin())
    router.message.register(
        broadcast_not_yet, Command("broadcast", "broadcast_status", "broadcast_cancel"), IsAdmin()
    )
    router.message.register(refuse, Command(*ADMIN_COMMANDS), ~IsAdmin())
    return router
