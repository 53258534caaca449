"""Published policy updates: stored records → dated entries the engine can find.

An operator's broadcast is kept (`StateStore.add_update`) with its date and region, listed by
/updates, and indexed next to the curated entries so later questions find it as a dated note.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from knowledge.engine import Engine
from knowledge.normalise import normalise
from knowledge.schema import ALL_SCHEMES, NATIONWIDE, Entry

UPDATE_TOPIC = "政策更新"
SOURCE = "运营发布"
_FIRST_SENTENCE = re.compile(r"^(.{4,60}?)[。！？!?\n]")


def new_update(text: str, region: str | None, today: dt.date | None = None) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex[:10],
        "date": (today or dt.date.today()).isoformat(),
        "region": region,
        "text": text.strip(),
    }


def title_of(text: str) -> str:
    match = _FIRST_SENTENCE.match(text.strip())
    first = match.group(1) if match else text.strip().split("\n", 1)[0][:40]
    return first.strip()


def entry_of(update: dict[str, Any], engine: Engine) -> Entry:
    """A published update as an entry. What it answers is read from its text: the subjects it
    names (by the engine's vocabularies), for any kind of asking — an operator's notice is
    the latest word on what it names. A text that names no subject is only listed by /updates."""
    text = str(update["text"])
    title = title_of(text)
    region = update.get("region") or NATIONWIDE
    subjects = engine.reader.read(normalise(text)).named
    kinds = tuple(a.name for a in engine.vocabulary.asks.values() if not (a.open or a.accepts))
    return Entry(
        id=f"update.u{update['id']}",
        topic=UPDATE_TOPIC,
        question=f"{UPDATE_TOPIC}：{title}",
        alternates=(title, text[:80]),
        answer=text,
        regions=(str(region),),
        city=None,
        schemes=(ALL_SCHEMES,),
        tags=(UPDATE_TOPIC,),
        source=SOURCE,
        date=dt.date.fromisoformat(str(update["date"])),
        answers=tuple((s, kinds) for s in subjects if not engine.vocabulary.subjects[s].weak),
    )


def engine_with_updates(base: Engine, updates: list[dict[str, Any]]) -> Engine:
    """The base engine when there are no updates, else one that also indexes them."""
    return base.extended([entry_of(u, base) for u in updates]) if updates else base
