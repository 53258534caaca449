"""Keeps this process's knowledge equal to the shipped files plus the operators' change log.

Every `interval` seconds (1 s) it reads the log's version — one GET in Redis, one stat() of
the file — and when it moved, reads the log and builds a new engine off the event loop
(~0.5 s for the shipped knowledge), which the dialogue then answers with. So a change saved in
the console on one replica is live on every replica within a few seconds, and after a restart
from the first moment (`refresh` runs before the bot takes updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.changelog import ChangeLog
from bot.dialogue import Dialogue
from bot.redis_conn import OUTAGE_ERRORS
from knowledge.engine import Engine
from knowledge.loader import KnowledgeError, Loaded
from knowledge.overlay import Change

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Trial:
    engine: Engine  # answering as it would with the change
    loaded: Loaded  # what would be applied and refused
    problems: list[str]  # why the change itself would be refused (empty: it validates)


INTERVAL = 1.0
UNREADABLE: tuple[type[Exception], ...] = (*OUTAGE_ERRORS, OSError, KnowledgeError)


class KnowledgeSync:
    def __init__(
        self,
        dialogue: Dialogue,
        changelog: ChangeLog,
        directory: str | Path | None = None,
        *,
        interval: float = INTERVAL,
    ) -> None:
        self.dialogue = dialogue
        self.changelog = changelog
        self.directory = directory
        self.interval = interval
        self.shipped: Engine = dialogue.base_engine  # the shipped files alone
        self.version: str | None = None  # of the log, as last applied
        self.changes: list[Change] = []  # the log as last applied
        self.loaded: Loaded | None = None  # what was applied and what was refused
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def refresh(self, *, force: bool = False) -> bool:
        """Apply the log if it changed since the last time (or `force`); True when rebuilt."""
        async with self._lock:
            version = await self.changelog.version()
            if version == self.version and not force:
                return False
            changes = await self.changelog.changes()
            engine, loaded = await asyncio.to_thread(self.shipped.with_changes, self.directory, changes)
            await self.dialogue.set_knowledge(engine)
            self.version, self.changes, self.loaded = version, changes, loaded
        if loaded.rejected:
            log.warning("knowledge changes not applied (they do not validate): %s", sorted(loaded.rejected))
        log.info("knowledge: %d entries, %d operator change(s) applied", len(engine.kb), len(loaded.applied))
        return True

    async def reload_shipped(self, engine: Engine) -> None:
        """The shipped files were re-read (/reload): apply the log on top of them again."""
        self.shipped = engine
        await self.refresh(force=True)

    async def trial(self, kind: str, data: dict[str, Any], group: str = "") -> Trial:
        """The knowledge as it would be with one more change on top of the whole log, built as
        every process builds it; nothing is saved."""
        changes = await self.changelog.changes()
        change = Change(max((c.id for c in changes), default=0) + 1, kind, data, group=group)
        engine, loaded = await asyncio.to_thread(
            self.shipped.with_changes, self.directory, [*changes, change]
        )
        return Trial(engine, loaded, [p.message for p in loaded.rejected.get(change.id, [])])

    # -- background -------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="knowledge-sync")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self.refresh()
                if self._failing:
                    log.info("knowledge changes readable again")
                self._failing = False
            except UNREADABLE as error:
                if not self._failing:  # once per outage; the bot answers with what it has
                    log.warning("cannot read knowledge changes (%s); keeping the current knowledge", error)
                self._failing = True
            except Exception:
                log.exception("applying knowledge changes failed; keeping the current knowledge")
            await asyncio.sleep(self.interval)
