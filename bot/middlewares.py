"""aiogram middlewares: observing every update, throttling each user.

- `Observe` (outer, on updates): counts updates by type and times their handling (metrics),
  puts the update id and hashed user id into the log context, keeps count of updates in
  flight so that a shutdown can wait for them (`InFlight.drained`), and lets at most
  `concurrency` of them be handled at once. Without that bound a burst (a webhook's, or a
  backlog after a restart) starts hundreds of handlers together: each waits longer for the
  event loop, Redis replies time out and the pool opens a connection per handler.
- `Throttle` (inner, on the root router's messages and button presses — so only what the bot
  would handle counts, not a group's own conversation): beyond `limit` a `window`, one polite
  notice, then silence until the window passes. Counted by the state store: in Redis it holds
  across replicas.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from bot import texts
from bot.logs import UpdateContext, hash_user, update_context
from bot.metrics import Metrics
from bot.state import StateStore

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class InFlight:
    """How many updates are being handled; `drained` waits until none is."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def drained(self, timeout: float) -> bool:  # noqa: ASYNC109 - a grace period
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


def _user_id(update: Update) -> int | None:
    inner = update.event
    user = getattr(inner, "from_user", None)
    return user.id if user is not None else None


class Observe(BaseMiddleware):
    def __init__(self, metrics: Metrics, inflight: InFlight, concurrency: int = 32) -> None:
        self.metrics = metrics
        self.inflight = inflight
        self.gate = asyncio.Semaphore(concurrency)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        kind = event.event_type
        self.metrics.updates.labels(kind).inc()
        user = _user_id(event)
        token = update_context.set(UpdateContext(event.update_id, hash_user(user) if user else ""))
        self.inflight.enter()
        started = time.perf_counter()
        try:
            async with self.gate:
                return await handler(event, data)
        finally:
            self.metrics.handler_seconds.labels(kind).observe(time.perf_counter() - started)
            self.inflight.leave()
            update_context.reset(token)


class Throttle(BaseMiddleware):
    def __init__(self, store: StateStore, limit: int, window: int, metrics: Metrics | None = None) -> None:
        self.store = store
        self.limit = limit
        self.window = window
        self.metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = getattr(event, "from_user", None)
        if user is None or self.limit <= 0:
            return await handler(event, data)
        count = await self.store.hit(f"u:{user.id}", self.window)
        if count <= self.limit:
            return await handler(event, data)
        if self.metrics is not None:
            self.metrics.throttled.inc()
        first = count == self.limit + 1  # one notice a window; then silence
        notice = texts.THROTTLED.format(window=self.window, limit=self.limit)
        if isinstance(event, CallbackQuery):
            await event.answer(notice if first else None, show_alert=first)
        elif isinstance(event, Message) and first:
            await event.answer(notice)
        return None
