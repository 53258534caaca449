"""aiogram routers: thin adapters from Telegram updates to `bot.dialogue.Dialogue`.

`build_router()` returns the root router: commands, admin, callbacks, private chats and
groups, each a child router scoped by filters (see the module of each).
"""

from __future__ import annotations

from aiogram import Router

from handlers import admin, callbacks, commands, group, private


def build_router() -> Router:
    root = Router(name="root")
    root.include_routers(admin.router, commands.router, callbacks.router, private.router, group.router)
    return root
