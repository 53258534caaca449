"""Inline-button presses: related questions, clarification choices, feedback, menu choices."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, Message

from bot import texts
from bot.dialogue import Dialogue, Reply, Who
from handlers.callback_data import AskCB, PickCB, SetCB, VoteCB
from handlers.commands import is_group_admin
from handlers.replies import answer
from handlers.scope import who


async def _deliver(query: CallbackQuery, reply: Reply) -> None:
    """An alert-kind reply is a toast on the button; anything else a new message."""
    if reply.kind == "alert" or not isinstance(query.message, Message):
        await query.answer(reply.text, show_alert=reply.kind == "alert" and reply.text != texts.VOTE_THANKS)
        return
    await query.answer()
    await answer(query.message, reply, query.from_user.id)


async def ask(query: CallbackQuery, callback_data: AskCB, dialogue: Dialogue) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    asker = who(query.message.chat, query.from_user)
    await _deliver(query, await dialogue.handle_button(asker, f"ask:{callback_data.entry}"))


async def _asker(query: CallbackQuery, asker_id: int) -> Who | None:
    """Who pressed, if they may: only the person a clarification or menu was for."""
    if asker_id != query.from_user.id:
        await query.answer(texts.ONLY_ASKER, show_alert=True)
        return None
    if not isinstance(query.message, Message):
        await query.answer()
        return None
    return who(query.message.chat, query.from_user)


async def pick(query: CallbackQuery, callback_data: PickCB, dialogue: Dialogue) -> None:
    asker = await _asker(query, callback_data.uid)
    if asker is None:
        return
    action = f"pick:{callback_data.slot}:{callback_data.value}"
    await _deliver(query, await dialogue.handle_button(asker, action))


async def vote(query: CallbackQuery, callback_data: VoteCB, dialogue: Dialogue) -> None:
    if query.message is not None:
        asker = who(query.message.chat, query.from_user)
    else:
        asker = Who(query.from_user.id, query.from_user.id)
    reply = await dialogue.handle_button(asker, f"vote:{callback_data.vote}:{callback_data.entry}")
    await query.answer(reply.text, show_alert=reply.text != texts.VOTE_THANKS)  # thanks: a toast


async def set_field(query: CallbackQuery, callback_data: SetCB, dialogue: Dialogue, bot: Bot) -> None:
    asker = await _asker(query, callback_data.uid)
    if asker is None:
        return
    if callback_data.field == "region" and asker.group:
        if not await is_group_admin(bot, asker.chat_id, asker.user_id):
            await query.answer(texts.GROUP_REGION_ADMIN_ONLY, show_alert=True)
            return
        reply = await dialogue.set_region(asker, callback_data.value, for_group=True)
    else:
        reply = await dialogue.handle_button(asker, f"set{callback_data.field}:{callback_data.value}")
    await _deliver(query, reply)


async def unknown(query: CallbackQuery) -> None:
    """Callback data no handler takes (forged, malformed, from an old version): answered at
    once, so the button does not spin until Telegram gives up."""
    await query.answer(texts.CLARIFY_EXPIRED, show_alert=True)


def make_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(ask, AskCB.filter())
    router.callback_query.register(pick, PickCB.filter())
    router.callback_query.register(vote, VoteCB.filter())
    router.callback_query.register(set_field, SetCB.filter())
    return router


def make_fallback_router() -> Router:
    """Last of all routers: any button press the others did not take."""
    router = Router(name=f"{__name__}.fallback")
    router.callback_query.register(unknown)
    return router
