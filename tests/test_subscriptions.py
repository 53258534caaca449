"""Subscriptions and published updates, against the in-process store and real Redis."""

from __future__ import annotations

import datetime as dt

from bot.dialogue import Dialogue, Who
from bot.state import ALL_UPDATES, StateStore
from bot.updates import new_update
from knowledge.engine import Engine

ALICE = Who(1, 1)
BOB = Who(2, 2)
CAROL = Who(3, 3)


async def test_audience_by_region(engine: Engine, state_store: StateStore) -> None:
    dialogue = Dialogue(engine, state_store)
    await dialogue.subscribe(ALICE)  # everything
    assert "山西" in (await dialogue.subscribe(BOB, "太原")).text  # a city → its province
    await dialogue.subscribe(CAROL, "北京")
    assert await state_store.subscriptions(ALICE.chat_id) == [ALL_UPDATES]
    assert await state_store.subscriptions(BOB.chat_id) == ["山西"]
    assert await state_store.audience("山西") == [1, 2]  # region's subscribers + everything
    assert await state_store.audience(None) == [1, 2, 3]  # a nationwide update reaches everyone
    assert await state_store.audience("广东") == [1]


async def test_unsubscribe_stops_everything(engine: Engine, state_store: StateStore) -> None:
    dialogue = Dialogue(engine, state_store)
    await dialogue.subscribe(BOB, "山西")
    await dialogue.subscribe(BOB)
    assert "已退订" in (await dialogue.unsubscribe(BOB)).text
    assert await state_store.subscriptions(BOB.chat_id) == []
    assert await state_store.audience(None) == []
    assert "还没有订阅" in (await dialogue.unsubscribe(BOB)).text


async def test_me_shows_subscriptions(engine: Engine, state_store: StateStore) -> None:
    dialogue = Dialogue(engine, state_store)
    await dialogue.subscribe(ALICE, "郑州")
    assert "订阅：河南" in (await dialogue.me(ALICE)).text


async def test_updates_listed_newest_first_region_aware(engine: Engine, state_store: StateStore) -> None:
    dialogue = Dialogue(engine, state_store)
    await state_store.add_update(new_update("全国：异地就医备案可以在线办理。", None, dt.date(2026, 11, 1)))
    await state_store.add_update(new_update("山西：门诊限额提高到400元。", "山西", dt.date(2026, 11, 10)))
    await state_store.add_update(new_update("广东：跨市结算再扩围。", "广东", dt.date(2026, 11, 20)))
    await dialogue.set_region(BOB, "大同")
    listed = (await dialogue.updates(BOB)).text
    assert listed.index("2026-11-10") < listed.index("2026-11-01")  # newest first
    assert "广东" not in listed  # another province's update is not relevant to BOB
    assert "2026-11-20" in (await dialogue.updates(ALICE)).text  # no region known: all


async def test_published_update_is_found_as_a_dated_note(engine: Engine, state_store: StateStore) -> None:
    dialogue = Dialogue(engine, state_store)
    text = "山西省自2026年12月1日起，居民医保门诊年度支付限额提高到400元。"
    await state_store.add_update(new_update(text, "山西", dt.date(2026, 11, 24)))
    await dialogue.refresh_updates()
    reply = await dialogue.handle_text(ALICE, "山西居民医保门诊年度支付限额提高到多少了")
    assert reply.kind == "answer"
    assert "400元" in reply.text and "资料日期：2026-11-24" in reply.text


async def test_ephemeral_values_are_read_once_and_expire(state_store: StateStore) -> None:
    await state_store.set_ephemeral("preview:abc", {"text": "通知"}, ttl=600)
    assert await state_store.pop_ephemeral("preview:abc") == {"text": "通知"}
    assert await state_store.pop_ephemeral("preview:abc") is None  # confirmed once only
