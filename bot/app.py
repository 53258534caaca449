"""Application factory: Bot, Dispatcher, state store, middlewares and the runners (polling,
webhook), each with the web endpoints of bot/web.py.

A process is: a Dispatcher whose workflow data holds the services handlers receive (settings,
dialogue, metrics, redis …); the observing and throttling middlewares; the error handler; and
on start the broadcaster (with Redis). On SIGTERM it stops taking updates, waits for those in
flight, stops the broadcaster at a clean point and closes Redis and the HTTP sessions.
"""

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
from bot.api_retry import RetryMiddleware
from bot.broadcast import Broadcaster, BroadcastStore, Job
from bot.changelog import create_changelog
from bot.dialogue import Dialogue
from bot.errors import on_error
from bot.knowledge_sync import UNREADABLE, KnowledgeSync
from bot.metrics import Metrics
from bot.middlewares import InFlight, Observe, Throttle
from bot.redis_conn import RedisHealth, close, connect
from bot.redis_store import RedisStore
from bot.resilient_store import ResilientStore
from bot.settings import Settings
from bot.state import MemoryStore, StateStore
from bot.web import add_routes
from bot.webconsole.auth import ConsoleAuth, console_secret
from bot.webconsole.setup import setup_console
from bot.webconsole.views import Console
from handlers import build_router
from knowledge.engine import Engine, load_engine

log = logging.getLogger(__name__)
KEY_PREFIX = "yb:"
WEBHOOK_PATH = "/webhook"
DRAIN_SECONDS = 6.0  # SIGTERM: how long updates in flight may take to finish (exit within 10 s)
BROADCAST_STOP_SECONDS = 2.0


@dataclass(slots=True)
class Services:
    """Long-lived things handlers receive as keyword arguments (dispatcher workflow data)."""

    settings: Settings
    dialogue: Dialogue
    redis: Redis | None


def create_bot(settings: Settings, metrics: Metrics | None = None, *, retries: bool = True) -> Bot:
    """A Bot for the configured API server; with `retries`, failed calls are retried
    (bot/api_retry.py) — the broadcaster's own Bot has none, it paces and retries itself."""
    assert settings.bot_token is not None
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    if retries:
        session.middleware(RetryMiddleware(metrics=metrics))
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_state(
    settings: Settings, prefix: str = KEY_PREFIX, metrics: Metrics | None = None
) -> tuple[StateStore, Redis | None, RedisHealth | None]:
    if settings.redis_url is None:
        log.warning(texts.MEMORY_STATE_WARNING)
        return MemoryStore(), None, None
    redis = connect(settings.redis_url)
    health = RedisHealth(metrics)
    return ResilientStore(RedisStore(redis, prefix=prefix), health), redis, health


def create_dispatcher(
    settings: Settings,
    engine: Engine | None = None,
    prefix: str = KEY_PREFIX,
    metrics: Metrics | None = None,
) -> Dispatcher:
    metrics = metrics or Metrics()
    state, redis, health = create_state(settings, prefix, metrics)
    engine = engine or load_engine(settings.knowledge_dir)
    engine.warm()
    dialogue = Dialogue(engine, state, metrics)
    sync = KnowledgeSync(dialogue, create_changelog(settings, redis, prefix), settings.knowledge_dir)
    auth = ConsoleAuth(state, console_secret(settings), settings.console_url, settings.admin_ids)
    inflight = InFlight()
    # Conversation state lives in our own store (bot/state.py), not in aiogram's FSM: with the
    # FSM off, aiogram does not read a state key from storage for every update.
    dp = Dispatcher(
        disable_fsm=True,
        settings=settings,
        dialogue=dialogue,
        redis=redis,
        redis_health=health,
        broadcasts=BroadcastSlot(),
        key_prefix=prefix,
        metrics=metrics,
        inflight=inflight,
        knowledge_sync=sync,
        console_auth=auth,
    )
    dp.update.outer_middleware(Observe(metrics, inflight, settings.max_concurrent_updates))
    router = build_router()
    throttle = Throttle(state, settings.throttle_limit, settings.throttle_window, metrics)
    router.message.middleware(throttle)
    router.callback_query.middleware(throttle)
    dp.include_router(router)
    dp.errors.register(on_error)
    dp.startup.register(_on_startup)
    dp.shutdown.register(_on_shutdown)
    return dp


async def _on_startup(
    bot: Bot,
    dispatcher: Dispatcher,
    dialogue: Dialogue,
    settings: Settings,
    redis: Redis | None,
    redis_health: RedisHealth | None,
    key_prefix: str,
    metrics: Metrics,
    knowledge_sync: KnowledgeSync,
) -> None:
    try:  # the operators' changes are in force before the first question is answered
        await knowledge_sync.refresh()
    except UNREADABLE as error:
        log.warning("knowledge changes not applied at start (%s); retrying in the background", error)
    knowledge_sync.start()
    await dialogue.refresh_updates()
    if redis is not None:
        admin = start_broadcasting(bot, dialogue, settings, redis, key_prefix, metrics, redis_health)
        dispatcher["broadcasts"].admin = admin
    await bot.set_my_commands([BotCommand(command=c, description=d) for c, d in texts.COMMANDS])
    me = await bot.me()
    log.info("bot @%s started", me.username)


async def _on_shutdown(
    redis: Redis | None, dispatcher: Dispatcher, inflight: InFlight, knowledge_sync: KnowledgeSync
) -> None:
    if not await inflight.drained(DRAIN_SECONDS):
        log.warning("shutting down with %d update(s) still being handled", inflight.count)
    await knowledge_sync.stop()
    slot: BroadcastSlot = dispatcher["broadcasts"]
    if slot.admin is not None:
        await slot.admin.broadcaster.stop(timeout=BROADCAST_STOP_SECONDS)
        await slot.admin.close()
        slot.admin = None
    if redis is not None:
        await close(redis)
    log.info("stopped")


def start_broadcasting(
    bot: Bot,
    dialogue: Dialogue,
    settings: Settings,
    redis: Redis,
    prefix: str,
    metrics: Metrics | None = None,
    health: RedisHealth | None = None,
) -> BroadcastAdmin:
    """The durable broadcast sender, running in the background of this process."""
    store = BroadcastStore(redis, prefix=prefix)
    sender = create_bot(settings, retries=False)

    async def progress(job: Job) -> None:
        if job.progress_chat_id is None or job.progress_message_id is None:
            return
        with contextlib.suppress(TelegramBadRequest):  # "message is not modified" and the like
            await bot.edit_message_text(
                html.escape(progress_text(job)),
                chat_id=job.progress_chat_id,
                message_id=job.progress_message_id,
            )

    def outcome(kind: str) -> None:
        if metrics is not None:
            metrics.broadcast.labels(kind).inc()

    broadcaster = Broadcaster(
        sender,
        store,
        rate=settings.broadcast_rate,
        on_blocked=dialogue.state.unsubscribe,
        progress=progress,
        on_outcome=outcome,
        health=health,
    )
    broadcaster.start()
    return BroadcastAdmin(dialogue, store, broadcaster, sender)


def create_web_app(dp: Dispatcher) -> web.Application:
    """The endpoints every process serves: /healthz, /readyz, /metrics and the operator
    console (/console/)."""
    app = web.Application()
    add_routes(app, dp["dialogue"], dp["metrics"], dp["redis"])
    redis: Redis | None = dp["redis"]
    broadcasts = BroadcastStore(redis, prefix=dp["key_prefix"]) if redis is not None else None
    setup_console(app, Console(dp["knowledge_sync"], dp["console_auth"], broadcasts))
    return app


async def run_polling(settings: Settings) -> None:
    """Long polling, with the web endpoints on WEB_HOST:WEB_PORT; SIGTERM/SIGINT stop it."""
    dp = create_dispatcher(settings)
    bot = create_bot(settings, dp["metrics"])
    runner = web.AppRunner(create_web_app(dp), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, settings.web_host, settings.web_port).start()
    try:
        await bot.delete_webhook(drop_pending_updates=False)
        await dp.start_polling(
            bot,
            allowed_updates=dp.resolve_used_update_types(),
            handle_signals=True,
            tasks_concurrency_limit=settings.max_concurrent_updates,  # the rest stay queued
        )
    finally:
        await runner.cleanup()


def create_webhook_app(settings: Settings, bot: Bot, dp: Dispatcher) -> web.Application:
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    app = create_web_app(dp)
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(app, path=WEBHOOK_PATH)

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


def run_webhook(settings: Settings) -> None:
    """The webhook server; SIGTERM stops it (aiohttp), updates in flight finish first."""
    if settings.webhook_url is None:
        raise SystemExit("invalid setting WEBHOOK_URL: required in webhook mode")
    dp = create_dispatcher(settings)
    bot = create_bot(settings, dp["metrics"])
    app = create_webhook_app(settings, bot, dp)
    web.run_app(
        app, host=settings.web_host, port=settings.web_port, shutdown_timeout=DRAIN_SECONDS, print=None
    )
