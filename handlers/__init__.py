"""aiogram routers: thin adapters from Telegram updates to `bot.dialogue.Dialogue`.

`build_router()` returns the root router: commands, admin, callbacks, private chats and
groups, each a child router scoped by filters (see the module of each).
"""

from __future__ import annotations

from aiogram import Router

from handlers import admin, callbacks, commands, group, private


def build_router() -> Router:
    """A fresh router tree (one per Dispatcher; tests build several in one process)."""
    root = Router(name="root")
    root.include_routers(
        admin.make_router(),
        commands.make_router(),
        callbacks.make_router(),
        private.make_router(),
        group.make_router(),
        callbacks.make_fallback_router(),
    )
    return root
