"""Where operators' changes to the knowledge are kept (knowledge/overlay.py says what they are).

The log is append-only: a change is never edited, a revert is a change of its own, so every
process that reads the same log builds the same knowledge. Two places:

- `RedisChangeLog`: ``{p}kb:seq`` (counter: the id of the latest change, also the log's version)
  and ``{p}kb:changes`` (list of ``"<id> <JSON>"``), shared by all replicas; written only here;
- `FileChangeLog`: one JSON object a line in a local file (``CHANGES_FILE``), for a bot without
  Redis; several processes on one machine may share it (appends hold an exclusive lock).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Protocol, cast

from redis.asyncio import Redis

from bot.redis_store import as_text
from bot.settings import Settings
from knowledge.overlay import Change, read_changes


class ChangeLog(Protocol):
    async def version(self) -> str: ...  # changes when (and only when) a change is appended
    async def changes(self) -> list[Change]: ...  # in id order
    async def append(self, kind: str, data: dict[str, Any], by: str, group: str = "") -> Change: ...


def _record(change: Change) -> str:
    return json.dumps(change.to_dict(), ensure_ascii=False, separators=(",", ":"))


# the next id and the record that carries it, in one step: ids are in list order
_APPEND = """
local id = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], id .. ' ' .. ARGV[1])
return id
"""


class RedisChangeLog:
    def __init__(self, redis: Redis, prefix: str = "yb:") -> None:
        self._redis = redis
        self._seq = f"{prefix}kb:seq"
        self._list = f"{prefix}kb:changes"
        self._append = redis.register_script(_APPEND)

    async def version(self) -> str:
        return as_text(await self._redis.get(self._seq) or "0")

    async def changes(self) -> list[Change]:
        raw = await cast("Awaitable[list[Any]]", self._redis.lrange(self._list, 0, -1))
        out = []
        for item in raw:
            number, _, body = as_text(item).partition(" ")
            out.append(Change.from_dict({**json.loads(body), "id": int(number)}))
        return sorted(out, key=lambda c: c.id)

    async def append(self, kind: str, data: dict[str, Any], by: str, group: str = "") -> Change:
        draft = Change(0, kind, data, by, time.time(), group)
        body = {k: v for k, v in draft.to_dict().items() if k != "id"}
        args = [json.dumps(body, ensure_ascii=False)]
        change_id = int(await self._append(keys=[self._seq, self._list], args=args))
        return Change(change_id, kind, data, by, draft.at, group)


class FileChangeLog:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    async def version(self) -> str:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return "0"
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    async def changes(self) -> list[Change]:
        return await asyncio.to_thread(self._read)

    def _read(self) -> list[Change]:
        return read_changes(self.path)

    async def append(self, kind: str, data: dict[str, Any], by: str, group: str = "") -> Change:
        return await asyncio.to_thread(self._append, kind, data, by, group)

    def _append(self, kind: str, data: dict[str, Any], by: str, group: str) -> Change:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # the id is the next one for every process
            try:
                existing = self._read()
                next_id = existing[-1].id + 1 if existing else 1
                change = Change(next_id, kind, data, by, time.time(), group)
                fh.write(_record(change) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return change


def create_changelog(settings: Settings, redis: Redis | None, prefix: str = "yb:") -> ChangeLog:
    """Where this bot keeps the operators' changes: its Redis, else CHANGES_FILE."""
    return RedisChangeLog(redis, prefix) if redis is not None else FileChangeLog(settings.changes_file)
