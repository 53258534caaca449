"""Conversation state behind one small async interface.

`MemoryStore` keeps everything in the process (console chat, tests, no REDIS_URL); the Redis
implementation (same interface, same TTLs) arrives with the Telegram bot.
Profiles have no TTL; a pending clarification lives 10 minutes; context 30 minutes.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Protocol

PENDING_TTL = 10 * 60
CONTEXT_TTL = 30 * 60


class StateStore(Protocol):
    async def get_profile(self, user_id: int) -> dict[str, str]: ...
    async def update_profile(self, user_id: int, **fields: str) -> None: ...
    async def clear_profile(self, user_id: int) -> None: ...
    async def get_pending(self, chat_id: int, user_id: int) -> dict[str, Any] | None: ...
    async def set_pending(self, chat_id: int, user_id: int, pending: dict[str, Any]) -> None: ...
    async def clear_pending(self, chat_id: int, user_id: int) -> None: ...
    async def get_context(self, chat_id: int, user_id: int) -> dict[str, Any] | None: ...
    async def set_context(self, chat_id: int, user_id: int, context: dict[str, Any]) -> None: ...
    async def record_unanswered(self, question: str) -> None: ...
    async def top_unanswered(self, limit: int = 10) -> list[tuple[str, int]]: ...


class MemoryStore:
    """In-process state with the same TTLs as Redis; lost when the process exits."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._profiles: dict[int, dict[str, str]] = {}
        self._expiring: dict[tuple[str, int, int], tuple[float, dict[str, Any]]] = {}
        self._unanswered: Counter[str] = Counter()

    def _get(self, kind: str, chat_id: int, user_id: int) -> dict[str, Any] | None:
        item = self._expiring.get((kind, chat_id, user_id))
        if item is None:
            return None
        expires, value = item
        if self._clock() >= expires:
            del self._expiring[(kind, chat_id, user_id)]
            return None
        return dict(value)

    def _set(self, kind: str, chat_id: int, user_id: int, value: dict[str, Any], ttl: float) -> None:
        self._expiring[(kind, chat_id, user_id)] = (self._clock() + ttl, dict(value))

    async def get_profile(self, user_id: int) -> dict[str, str]:
        return dict(self._profiles.get(user_id, {}))

    async def update_profile(self, user_id: int, **fields: str) -> None:
        self._profiles.setdefault(user_id, {}).update(fields)

    async def clear_profile(self, user_id: int) -> None:
        self._profiles.pop(user_id, None)

    async def get_pending(self, chat_id: int, user_id: int) -> dict[str, Any] | None:
        return self._get("pending", chat_id, user_id)

    async def set_pending(self, chat_id: int, user_id: int, pending: dict[str, Any]) -> None:
        self._set("pending", chat_id, user_id, pending, PENDING_TTL)

    async def clear_pending(self, chat_id: int, user_id: int) -> None:
        self._expiring.pop(("pending", chat_id, user_id), None)

    async def get_context(self, chat_id: int, user_id: int) -> dict[str, Any] | None:
        return self._get("ctx", chat_id, user_id)

    async def set_context(self, chat_id: int, user_id: int, context: dict[str, Any]) -> None:
        self._set("ctx", chat_id, user_id, context, CONTEXT_TTL)

    async def record_unanswered(self, question: str) -> None:
        self._unanswered[question] += 1

    async def top_unanswered(self, limit: int = 10) -> list[tuple[str, int]]:
        return self._unanswered.most_common(limit)
