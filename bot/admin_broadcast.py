"""The admins' side of broadcasting: parse, preview, confirm or cancel, status, progress text.

The sending itself is bot/broadcast.py's `Broadcaster`; this module turns admin commands into
jobs and keeps the published text as a policy update (bot/updates.py).
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass

from aiogram import Bot

from bot import texts
from bot.broadcast import Broadcaster, BroadcastStore, Job
from bot.dialogue import Button, Dialogue, Reply
from bot.render import utf16_len
from bot.state import PENDING_TTL
from bot.updates import new_update
from knowledge.engine import OTHER_REGION
from knowledge.schema import NATIONWIDE

PREVIEW_TTL = PENDING_TTL  # a preview is valid for 10 minutes
MAX_TEXT = 3500  # leaves room below Telegram's 4096 once escaped


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    region: str | None


def parse(dialogue: Dialogue, args: str, replied_text: str | None) -> Draft | Reply:
    """`/broadcast [地区] 文本`, or `/broadcast [地区]` as a reply to the message to send."""
    args = args.strip()
    first, _, rest = args.partition(" ")
    region: str | None = None
    text = args
    if first:
        resolved, _problem = dialogue.resolve_region(first)
        if resolved is not None and resolved != OTHER_REGION and (rest.strip() or replied_text):
            region, text = resolved, rest.strip()
    if not text and replied_text:
        text = replied_text.strip()
    if not text:
        return Reply(texts.BROADCAST_USAGE, kind="info")
    if utf16_len(text) > MAX_TEXT:  # as Telegram counts: an emoji is two
        return Reply(texts.BROADCAST_TOO_LONG.format(length=utf16_len(text), limit=MAX_TEXT), kind="info")
    return Draft(text, region)


@dataclass(slots=True)
class BroadcastSlot:
    """Filled at startup (the sender needs the Bot); handlers get it as `broadcasts`."""

    admin: BroadcastAdmin | None = None


class BroadcastAdmin:
    def __init__(
        self, dialogue: Dialogue, store: BroadcastStore, broadcaster: Broadcaster, sender: Bot | None = None
    ) -> None:
        self.dialogue = dialogue
        self.store = store
        self.broadcaster = broadcaster
        self.sender = sender  # the broadcaster's own Bot, closed with it

    async def close(self) -> None:
        if self.sender is not None:
            await self.sender.session.close()

    async def preview(self, draft: Draft, admin_id: int) -> Reply:
        audience = await self.dialogue.state.audience(draft.region)
        if not audience:
            return Reply(texts.BROADCAST_NO_AUDIENCE, kind="info")
        preview_id = uuid.uuid4().hex[:12]
        await self.dialogue.state.set_ephemeral(
            f"bcpreview:{preview_id}",
            {"text": draft.text, "region": draft.region, "admin": admin_id},
            PREVIEW_TTL,
        )
        text = texts.BROADCAST_PREVIEW.format(
            text=draft.text, audience=len(audience), where=draft.region or f"{NATIONWIDE}，全部订阅者"
        )
        buttons = [
            Button(texts.BROADCAST_CONFIRM, f"bc:go:{preview_id}"),
            Button(texts.BROADCAST_CANCEL, f"bc:no:{preview_id}"),
        ]
        return Reply(text, [buttons], "info")

    async def confirm(self, preview_id: str, admin_id: int) -> Job | Reply:
        """Publish: keep the text as a policy update and queue the job (audience snapshot now)."""
        draft = await self.dialogue.state.pop_ephemeral(f"bcpreview:{preview_id}")
        if draft is None or draft.get("admin") != admin_id:
            return Reply(texts.BROADCAST_EXPIRED, kind="alert")
        region = draft.get("region")
        await self.dialogue.state.add_update(new_update(str(draft["text"]), region))
        await self.dialogue.refresh_updates()
        audience = await self.dialogue.state.audience(region)
        if not audience:
            return Reply(texts.BROADCAST_NO_AUDIENCE, kind="info")
        job = await self.store.create(
            html.escape(str(draft["text"])), audience, created_by=admin_id, region=region
        )
        return job

    async def drop(self, preview_id: str) -> Reply:
        await self.dialogue.state.pop_ephemeral(f"bcpreview:{preview_id}")
        return Reply(texts.BROADCAST_CANCELLED_PREVIEW, kind="info")

    async def status(self) -> Reply:
        jobs = await self.store.recent(5)
        if not jobs:
            return Reply(texts.BROADCAST_STATUS_NONE, kind="info")
        return Reply("\n\n".join(progress_text(job) for job in jobs), kind="info")

    async def cancel(self, job_id: str) -> Reply:
        job_id = job_id.strip().lstrip("#")
        if not job_id:
            return Reply(texts.BROADCAST_CANCEL_USAGE, kind="info")
        if await self.broadcaster.cancel(job_id):
            return Reply(texts.BROADCAST_CANCEL_DONE.format(id=job_id), kind="info")
        return Reply(texts.BROADCAST_CANCEL_UNKNOWN.format(id=job_id), kind="info")


def progress_text(job: Job) -> str:
    eta = job.eta_seconds
    return texts.BROADCAST_PROGRESS.format(
        id=job.id,
        where=job.region or NATIONWIDE,
        state=texts.BROADCAST_STATES.get(job.status, job.status),
        sent=job.sent,
        total=job.total,
        blocked=job.blocked,
        failed=job.failed,
        rate=job.rate,
        eta="—" if eta is None else f"{int(eta // 60)} 分 {int(eta % 60)} 秒",
    )
