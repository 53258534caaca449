"""Application factory: Bot, Dispatcher, state store and the runners (polling, webhook)."""

from __future__ import annotations

import contextlib
import html
import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BotCommand
from aiohttp import web
from redis.asyncio import Redis

from bot import texts
from bot.admin_broadcast import BroadcastAdmin, BroadcastSlot, progress_text
from bot.broadcast import Broadcaster, BroadcastStore, Job
from bot.dialogue import Dialogue
from bot.redis_store import RedisStore
from bot.settings import Settings
from bot.state import MemoryStore, StateStore
from handlers import build_router
from knowledge.engine import Engine, load_engine

log = logging.getLogger(__name__)
KEY_PREFIX = "yb:"
WEBHOOK_PATH = "/webhook"


@dataclass(slots=True)
class Services:
    """Long-lived things handlers receive as keyword arguments (dispatcher workflow data)."""

    settings: Settings
    dialogue: Dialogue
    redis: Redis | None


def create_bot(settings: Settings) -> Bot:
    assert settings.bot_token is not None
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_state(settings: Settings, prefix: str = KEY_PREFIX) -> tuple[StateStore, Redis | None]:
    if settings.redis_url is None:
        log.warning(texts.MEMORY_STATE_WARNING)
        return MemoryStore(), None
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    return RedisStore(redis, prefix=prefix), redis


def create_dispatcher(
    settings: Settings, engine: Engine | None = None, prefix: str = KEY_PREFIX
) -> Dispatcher:
    state, redis = create_state(settings, prefix)
    dialogue = Dialogue(engine or load_engine(settings.knowledge_dir), state)
    # Conversation state lives in our own store (bot/state.py), not in aiogram's FSM: with the
    # FSM off, aiogram does not read a state key from storage for every update.
    dp = Dispatcher(
        disable_fsm=True,
        settings=settings,
        dialogue=dialogue,
        redis=redis,
        broadcasts=BroadcastSlot(),
        key_prefix=prefix,
    )
    dp.include_router(build_router())
    dp.startup.register(_on_startup)
    dp.shutdown.register(_on_shutdown)
    return dp


async def _on_startup(
    bot: Bot,
    dispatcher: Dispatcher,
    dialogue: Dialogue,
    settings: Settings,
    redis: Redis | None,
    key_prefix: str,
) -> None:
    await dialogue.refresh_updates()
    if redis is not None:
        dispatcher["broadcasts"].admin = start_broadcasting(bot, dialogue, settings, redis, key_prefix)
    await bot.set_my_commands([BotCommand(command=c, description=d) for c, d in texts.COMMANDS])
    me = await bot.me()
    log.info("bot @%s started", me.username)


async def _on_shutdown(redis: Redis | None, dispatcher: Dispatcher) -> None:
    slot: BroadcastSlot = dispatcher["broadcasts"]
    if slot.admin is not None:
        await slot.admin.broadcaster.stop()
        slot.admin = None
    if redis is not None:
        await redis.aclose()


def start_broadcasting(
    bot: Bot, dialogue: Dialogue, settings: Settings, redis: Redis, prefix: str
) -> BroadcastAdmin:
    """The durable broadcast sender, running in the background of this process."""
    store = BroadcastStore(redis, prefix=prefix)

    async def progress(job: Job) -> None:
        if job.progress_chat_id is None or job.progress_message_id is None:
            return
        with contextlib.suppress(TelegramBadRequest):  # "message is not modified" and the like
            await bot.edit_message_text(
                html.escape(progress_text(job)),
                chat_id=job.progress_chat_id,
                message_id=job.progress_message_id,
            )

    broadcaster = Broadcaster(
        bot, store, rate=settings.broadcast_rate, on_blocked=dialogue.state.unsubscribe, progress=progress
    )
    broadcaster.start()
    return BroadcastAdmin(dialogue, store, broadcaster)


async def run_polling(settings: Settings) -> None:
    bot = create_bot(settings)
    dp = create_dispatcher(settings)
    await bot.delete_webhook(drop_pending_updates=False)
    await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types())


def create_webhook_app(settings: Settings, bot: Bot, dp: Dispatcher) -> web.Application:
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(app, path=WEBHOOK_PATH)
    app.router.add_get("/health", _health)

    async def set_webhook(bot: Bot) -> None:
        assert settings.webhook_url is not None
        await bot.set_webhook(
            settings.webhook_url,
            secret_token=secret,
            allowed_updates=dp.resolve_used_update_types(),
        )

    dp.startup.register(set_webhook)
    setup_application(app, dp, bot=bot)
    return app


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def run_webhook(settings: Settings) -> None:
    if settings.webhook_url is None:
        raise SystemExit("invalid setting WEBHOOK_URL: required in webhook mode")
    bot = create_bot(settings)
    dp = create_dispatcher(settings)
    web.run_app(create_webhook_app(settings, bot, dp), host=settings.web_host, port=settings.web_port)
