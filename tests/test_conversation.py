"""Conversations through bot.dialogue, against the in-process store and real Redis alike."""

from __future__ import annotations

import pytest

from bot import texts
from bot.dialogue import Dialogue, Reply, Who
from bot.state import MemoryStore, StateStore
from knowledge.engine import Engine

ME = Who(user_id=1001, chat_id=1001)


@pytest.fixture
def dialogue(engine: Engine, state_store: StateStore) -> Dialogue:
    return Dialogue(engine, state_store)


def actions(reply: Reply, prefix: str) -> list[str]:
    return [b.action for b in reply.flat_buttons if b.action.startswith(prefix)]


async def test_question_gets_answer_related_and_feedback_buttons(dialogue: Dialogue) -> None:
    reply = await dialogue.handle_text(ME, "社保卡挂失了还能看病吗")
    assert reply.kind == "answer" and reply.entry_id == "ka.loss-still-usable"
    assert "资料日期：2025-04-18" in reply.text and "以当地医保部门最新规定为准" in reply.text
    assert 1 <= len(actions(reply, "ask:")) <= 3
    assert actions(reply, "vote:") == ["vote:up:ka.loss-still-usable", "vote:down:ka.loss-still-usable"]


async def test_clarify_by_button_then_profile_is_reused(dialogue: Dialogue, state_store: StateStore) -> None:
    asked = await dialogue.handle_text(ME, "医保缴费基数是多少")
    assert asked.kind == "clarify"
    assert "pick:region:山西" in actions(asked, "pick:")
    answered = await dialogue.handle_button(ME, "pick:region:山西")
    assert answered.kind == "answer" and answered.entry_id == "shengyibao.base-shanxi"
    assert (await state_store.get_profile(ME.user_id))["region"] == "山西"
    again = await dialogue.handle_text(ME, "缴费基数怎么定的")
    assert again.kind == "answer" and again.entry_id == "shengyibao.base-shanxi"  # never asks twice


async def test_clarify_by_typed_city(dialogue: Dialogue, state_store: StateStore) -> None:
    assert (await dialogue.handle_text(ME, "医保缴费基数是多少")).kind == "clarify"
    answered = await dialogue.handle_text(ME, "芜湖")  # a city: resolved to 安徽
    assert answered.entry_id == "shengyibao.base-anhui"
    assert (await state_store.get_profile(ME.user_id))["region"] == "安徽"


async def test_clarify_other_region_says_what_there_is(dialogue: Dialogue, state_store: StateStore) -> None:
    await dialogue.handle_text(ME, "医保缴费基数是多少")
    reply = await dialogue.handle_button(ME, "pick:region:其他地区")
    assert reply.kind == "not_found"
    assert "12393" in reply.text
    assert "region" not in await state_store.get_profile(ME.user_id)


async def test_clarify_answered_with_a_region_we_lack(dialogue: Dialogue) -> None:
    await dialogue.handle_text(ME, "医保缴费基数是多少")
    reply = await dialogue.handle_text(ME, "成都")
    assert reply.kind == "not_found"
    assert reply.text.startswith("暂时没有整理到四川的相关规定")
    assert actions(reply, "ask:")  # what there is for other provinces


async def test_clarify_scheme_by_button(dialogue: Dialogue, state_store: StateStore) -> None:
    asked = await dialogue.handle_text(ME, "北京和山西的医保异地报销比例一样吗")
    assert asked.kind == "clarify" and actions(asked, "pick:scheme:")
    reply = await dialogue.handle_button(ME, "pick:scheme:城乡居民医保")
    assert reply.entry_id == "yidi.bj-sx-resident-ratio"
    assert (await state_store.get_profile(ME.user_id))["scheme"] == "城乡居民医保"


async def test_followup_uses_the_previous_question(dialogue: Dialogue) -> None:
    first = await dialogue.handle_text(ME, "北京和山西职工医保异地报销比例一样吗")
    assert first.entry_id == "yidi.bj-sx-worker-ratio"
    second = await dialogue.handle_text(ME, "那居民医保呢")
    assert second.entry_id == "yidi.bj-sx-resident-ratio"


async def test_related_button_answers_that_entry(dialogue: Dialogue) -> None:
    reply = await dialogue.handle_text(ME, "社保卡挂失了还能看病吗")
    target = actions(reply, "ask:")[0]
    followed = await dialogue.handle_button(ME, target)
    assert followed.kind == "answer" and followed.entry_id == target.removeprefix("ask:")


async def test_not_found_is_recorded_for_review(dialogue: Dialogue) -> None:
    reply = await dialogue.handle_text(ME, "明天北京下雨吗")
    assert reply.kind == "not_found" and "12393" in reply.text
    await dialogue.handle_text(ME, "明天北京下雨吗")
    stats = await dialogue.stats()
    assert "2× （未识别主题） · 能不能 · 北京\n    例：明天北京下雨吗" in stats.text


async def test_unanswered_questions_are_grouped_by_what_was_understood(
    dialogue: Dialogue, state_store: StateStore
) -> None:
    for question in ("杭州地区生育津贴多少天能到账", "杭州生育金多久到账啊", "今天北京会下雨吗"):
        reply = await dialogue.handle_text(ME, question)
        assert reply.kind == "not_found", question
    groups = await state_store.top_unanswered()
    assert groups[0].key == "生育津贴发放 · 多久到账或生效 · 浙江" and groups[0].count == 2
    assert groups[0].examples == ["杭州生育金多久到账啊", "杭州地区生育津贴多少天能到账"]  # newest first
    assert groups[0].first_seen <= groups[0].last_seen


async def test_a_decline_says_what_was_understood_offers_what_we_have_and_where_to_ask(
    dialogue: Dialogue,
) -> None:
    reply = await dialogue.handle_text(ME, "杭州地区生育津贴多少天能到账")
    assert reply.kind == "not_found"
    assert reply.text.startswith("您问的是：浙江杭州 · 生育津贴发放 · 多久到账或生效\n")
    assert "没有讲“多久到账或生效”的规定" in reply.text and "12393" in reply.text
    assert reply.text.endswith("我这里有这些相关内容：")
    offered = [b.action.removeprefix("ask:") for b in reply.flat_buttons]
    assert offered and all(dialogue.engine.kb.by_id[i].topic == "生育" for i in offered)


async def test_a_regional_answer_to_a_question_naming_no_place_says_whose_rule_it_is(
    dialogue: Dialogue,
) -> None:
    reply = await dialogue.handle_text(ME, "医保卡里的钱能取出来吗")
    assert reply.entry_id == "zhanghu.shanghai-withdraw"
    assert reply.text.splitlines()[0] == "以下是上海的规定，其他地区可能不同："


async def test_broad_question_offers_common_questions_and_is_not_recorded(
    dialogue: Dialogue, state_store: StateStore
) -> None:
    reply = await dialogue.handle_text(ME, "社保卡")
    assert reply.kind == "topics" and reply.text.startswith("关于“医保卡”的问题比较多")
    assert len(actions(reply, "ask:")) >= 2
    assert await state_store.top_unanswered() == []  # understood, nothing for operators to review
    assert (await state_store.get_stats()).get("broad") == 1


async def test_feedback_is_counted_once_per_user(dialogue: Dialogue, state_store: StateStore) -> None:
    await dialogue.handle_button(ME, "vote:up:ka.loss-still-usable")
    await dialogue.handle_button(ME, "vote:down:ka.loss-still-usable")  # changes the vote
    await dialogue.handle_button(Who(2002, 2002), "vote:up:ka.loss-still-usable")
    assert await state_store.feedback_summary() == [("ka.loss-still-usable", 1, 1)]


async def test_region_command_resolves_cities_and_refuses_ambiguity(dialogue: Dialogue) -> None:
    assert "浙江" in (await dialogue.set_region(ME, "温岭")).text
    assert "鼓楼" in (await dialogue.set_region(ME, "鼓楼")).text
    assert "江苏" in (await dialogue.set_region(ME, "鼓楼")).text  # lists the provinces
    me = await dialogue.me(ME)
    assert "地区：浙江" in me.text


async def test_reset_forgets_everything(dialogue: Dialogue, state_store: StateStore) -> None:
    await dialogue.set_region(ME, "太原")
    await dialogue.set_scheme(ME, "职工")
    await dialogue.handle_text(ME, "医保缴费基数是多少")
    assert (await dialogue.reset(ME)).text == texts.RESET_DONE
    assert await state_store.get_profile(ME.user_id) == {}
    assert await state_store.get_pending(ME.chat_id, ME.user_id) is None
    assert await state_store.get_context(ME.chat_id, ME.user_id) is None


async def test_group_default_region_applies_to_members_without_one(dialogue: Dialogue) -> None:
    group = Who(user_id=3003, chat_id=-100500, group=True)
    await dialogue.set_region(group, "太原", for_group=True)
    reply = await dialogue.handle_text(group, "医保缴费基数是多少")
    assert reply.entry_id == "shengyibao.base-shanxi"
    assert "本群默认地区：山西" in (await dialogue.me(group)).text


async def test_expired_clarification_is_not_completed(engine: Engine) -> None:
    now = [0.0]
    dialogue = Dialogue(engine, MemoryStore(clock=lambda: now[0]))
    assert (await dialogue.handle_text(ME, "医保缴费基数是多少")).kind == "clarify"
    now[0] += 11 * 60
    reply = await dialogue.handle_button(ME, "pick:region:山西")
    assert reply.kind == "alert" and reply.text == texts.CLARIFY_EXPIRED


async def test_place_followup_after_a_nationwide_answer_is_not_repeated(dialogue: Dialogue) -> None:
    first = await dialogue.handle_text(ME, "社保卡丢了怎么打电话挂失")
    assert first.kind == "answer"
    again = await dialogue.handle_text(ME, "大同呢")
    assert again.kind == "info" and "全国通用" in again.text and "山西" in again.text


async def test_followup_with_a_figure_gets_the_estimate(dialogue: Dialogue) -> None:
    first = await dialogue.handle_text(ME, "生育津贴怎么算")
    assert first.entry_id == "shengyu.allowance-monthly-amount"
    second = await dialogue.handle_text(ME, "我工资8000呢")
    assert second.kind == "answer" and "26,133元" in second.text
