"""Re-read the knowledge files without a restart; a broken file keeps the old knowledge."""

from __future__ import annotations

import asyncio
import logging

from bot import texts
from bot.dialogue import Dialogue, Reply
from bot.knowledge_sync import KnowledgeSync
from knowledge.engine import load_engine
from knowledge.loader import KnowledgeError

log = logging.getLogger(__name__)
MAX_ERRORS_SHOWN = 10


async def reload_knowledge(
    dialogue: Dialogue, knowledge_dir: str | None, sync: KnowledgeSync | None = None
) -> Reply:
    try:
        # building the index takes a fraction of a second: keep the event loop free meanwhile
        engine = await asyncio.to_thread(load_engine, knowledge_dir)
    except KnowledgeError as exc:
        shown = "\n".join(str(p) for p in exc.problems[:MAX_ERRORS_SHOWN])
        log.error("reload refused: %d problem(s) in the knowledge files", len(exc.problems))
        return Reply(texts.RELOAD_FAILED.format(errors=shown), kind="info")
    if sync is not None:  # the operators' changes stay applied on top of the re-read files
        await sync.reload_shipped(engine)
    else:
        await dialogue.set_knowledge(engine)
    engine = dialogue.base_engine
    log.info("knowledge reloaded: %d entries", len(engine.kb))
    return Reply(texts.RELOAD_OK.format(entries=len(engine.kb)), kind="info")
