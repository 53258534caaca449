"""Parsing /broadcast: text, region + text, and a reply to the message to send."""

from __future__ import annotations

from bot.admin_broadcast import MAX_TEXT, Draft, parse
from bot.dialogue import Dialogue, Reply
from bot.state import MemoryStore
from knowledge.engine import Engine


def test_parse_variants(engine: Engine) -> None:
    dialogue = Dialogue(engine, MemoryStore())
    assert parse(dialogue, "明年起门诊限额提高", None) == Draft("明年起门诊限额提高", None)
    assert parse(dialogue, "太原 明年起门诊限额提高", None) == Draft("明年起门诊限额提高", "山西")
    assert parse(dialogue, "", "回复的那条通知") == Draft("回复的那条通知", None)
    assert parse(dialogue, "山西", "回复的那条通知") == Draft("回复的那条通知", "山西")
    # a place name alone, with nothing to send, is the text itself
    assert parse(dialogue, "山西", None) == Draft("山西", None)
    usage = parse(dialogue, "", None)
    assert isinstance(usage, Reply) and "/broadcast" in usage.text
    too_long = parse(dialogue, "字" * (MAX_TEXT + 1), None)
    assert isinstance(too_long, Reply) and str(MAX_TEXT) in too_long.text
    # counted as Telegram counts: an emoji is two UTF-16 units
    assert isinstance(parse(dialogue, "🏥" * (MAX_TEXT // 2 + 1), None), Reply)
    assert isinstance(parse(dialogue, "🏥" * (MAX_TEXT // 2), None), Draft)
