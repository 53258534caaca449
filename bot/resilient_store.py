"""A `StateStore` that keeps the bot answering while its Redis is away.

Reading a turn gives an empty, `degraded` Turn (the question is answered without the user's
profile, pending clarification and context, and the reply says so); what a turn writes —
context, counters, unanswered questions, votes — is dropped. Everything else (saving a region,
subscribing, /stats, broadcast previews) raises `StateUnavailable`, so the user is told it did
not happen rather than told it did. Outages are logged once (`RedisHealth`); redis-py
reconnects by itself, and the first command that works again ends the outage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.redis_conn import OUTAGE_ERRORS, RedisHealth
from bot.state import (
    FeedbackExample,
    MemoryStore,
    StateStore,
    Turn,
    TurnResult,
    Unanswered,
    UnansweredGroup,
)

T = TypeVar("T")


class StateUnavailable(Exception):
    """The state store cannot be read or written just now (Redis is away)."""


class ResilientStore:
    def __init__(self, inner: StateStore, health: RedisHealth) -> None:
        self.inner = inner
        self.health = health
        self._local = MemoryStore()  # counts throttling windows while Redis is away

    async def _soft(self, doing: str, call: Callable[[], Awaitable[T]], default: T) -> T:
        try:
            result = await call()
        except OUTAGE_ERRORS as error:
            self.health.failed(error, doing)
            return default
        self.health.ok()
        return result

    async def _hard(self, doing: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await call()
        except OUTAGE_ERRORS as error:
            self.health.failed(error, doing)
            raise StateUnavailable(doing) from error
        self.health.ok()
        return result

    # -- a question's turn: degrade ---------------------------------------------------------
    async def load_turn(self, chat_id: int, user_id: int, group: bool) -> Turn:
        return await self._soft(
            "reading a turn", lambda: self.inner.load_turn(chat_id, user_id, group), Turn(degraded=True)
        )

    async def save_turn(self, chat_id: int, user_id: int, result: TurnResult) -> None:
        await self._soft("saving a turn", lambda: self.inner.save_turn(chat_id, user_id, result), None)

    async def get_pending(self, chat_id: int, user_id: int) -> dict[str, Any] | None:
        # a button pressed during an outage is answered as expired
        return await self._soft(
            "reading a clarification", lambda: self.inner.get_pending(chat_id, user_id), None
        )

    async def clear_pending(self, chat_id: int, user_id: int) -> None:
        await self._soft("clearing a clarification", lambda: self.inner.clear_pending(chat_id, user_id), None)

    async def record_unanswered(self, item: Unanswered) -> None:
        await self._soft("recording a question", lambda: self.inner.record_unanswered(item), None)

    async def record_feedback(
        self, entry_id: str, user_id: int, vote: str, question: str = "", reply: str = ""
    ) -> None:
        await self._soft(
            "recording a vote",
            lambda: self.inner.record_feedback(entry_id, user_id, vote, question, reply),
            None,
        )

    async def incr_stat(self, name: str, amount: int = 1) -> None:
        await self._soft("counting", lambda: self.inner.incr_stat(name, amount), None)

    async def hit(self, name: str, window: int) -> int:
        # throttling goes on in this process while Redis is away
        count = await self._soft("throttling", lambda: self.inner.hit(name, window), None)
        return count if count is not None else await self._local.hit(name, window)

    async def recent_updates(self, limit: int = 20) -> list[dict[str, Any]]:
        return await self._soft("reading policy updates", lambda: self.inner.recent_updates(limit), [])

    # -- everything else: say it did not happen ------------------------------------------
    async def get_profile(self, user_id: int) -> dict[str, str]:
        return await self._hard("reading a profile", lambda: self.inner.get_profile(user_id))

    async def update_profile(self, user_id: int, **fields: str) -> None:
        await self._hard("saving a profile", lambda: self.inner.update_profile(user_id, **fields))

    async def clear_profile(self, user_id: int, *fields: str) -> None:
        await self._hard("clearing a profile", lambda: self.inner.clear_profile(user_id, *fields))

    async def set_pending(self, chat_id: int, user_id: int, pending: dict[str, Any]) -> None:
        await self._hard("saving a clarification", lambda: self.inner.set_pending(chat_id, user_id, pending))

    async def get_context(self, chat_id: int, user_id: int) -> dict[str, Any] | None:
        return await self._hard("reading a context", lambda: self.inner.get_context(chat_id, user_id))

    async def set_context(self, chat_id: int, user_id: int, context: dict[str, Any]) -> None:
        await self._hard("saving a context", lambda: self.inner.set_context(chat_id, user_id, context))

    async def clear_context(self, chat_id: int, user_id: int) -> None:
        await self._hard("clearing a context", lambda: self.inner.clear_context(chat_id, user_id))

    async def get_group(self, chat_id: int) -> dict[str, str]:
        return await self._hard("reading group settings", lambda: self.inner.get_group(chat_id))

    async def update_group(self, chat_id: int, **fields: str) -> None:
        await self._hard("saving group settings", lambda: self.inner.update_group(chat_id, **fields))

    async def top_unanswered(self, limit: int = 10, *, recent: bool = False) -> list[UnansweredGroup]:
        return await self._hard("reading questions", lambda: self.inner.top_unanswered(limit, recent=recent))

    async def feedback_summary(self, limit: int = 10) -> list[tuple[str, int, int]]:
        return await self._hard("reading votes", lambda: self.inner.feedback_summary(limit))

    async def get_stats(self) -> dict[str, int]:
        return await self._hard("reading counters", self.inner.get_stats)

    async def feedback_examples(self, entry_id: str) -> list[FeedbackExample]:
        return await self._hard("reading votes", lambda: self.inner.feedback_examples(entry_id))

    async def daily_stats(self, days: list[str]) -> dict[str, dict[str, int]]:
        return await self._hard("reading counters", lambda: self.inner.daily_stats(days))

    async def subscriber_counts(self) -> dict[str, int]:
        return await self._hard("reading subscribers", self.inner.subscriber_counts)

    async def get_ephemeral(self, name: str) -> dict[str, Any] | None:
        return await self._hard("reading a session", lambda: self.inner.get_ephemeral(name))

    async def drop_ephemeral(self, name: str) -> None:
        await self._hard("dropping a session", lambda: self.inner.drop_ephemeral(name))

    async def subscribe(self, chat_id: int, region: str | None) -> None:
        await self._hard("subscribing", lambda: self.inner.subscribe(chat_id, region))

    async def unsubscribe(self, chat_id: int) -> None:
        await self._hard("unsubscribing", lambda: self.inner.unsubscribe(chat_id))

    async def subscriptions(self, chat_id: int) -> list[str]:
        return await self._hard("reading subscriptions", lambda: self.inner.subscriptions(chat_id))

    async def audience(self, region: str | None) -> list[int]:
        return await self._hard("reading subscribers", lambda: self.inner.audience(region))

    async def set_ephemeral(self, name: str, value: dict[str, Any], ttl: int) -> None:
        await self._hard("saving a preview", lambda: self.inner.set_ephemeral(name, value, ttl))

    async def pop_ephemeral(self, name: str) -> dict[str, Any] | None:
        return await self._hard("reading a preview", lambda: self.inner.pop_ephemeral(name))

    async def add_update(self, update: dict[str, Any]) -> None:
        await self._hard("saving a policy update", lambda: self.inner.add_update(update))
