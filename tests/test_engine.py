"""The retrieval engine: normalisation, slots, each decision kind, follow-ups and greetings."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import present
from knowledge.engine import OTHER_REGION, Engine, load_out_of_scope
from knowledge.gazetteer import Gazetteer
from knowledge.normalise import normalise
from knowledge.slots import EMPLOYEE, RESIDENT, extract_slots, scheme_of


# -- normalisation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("醫保卡掛失怎麼辦", "医保卡挂失怎么办"),  # traditional → simplified
        ("ＡＢＣ１２３", "abc123"),  # full-width → half-width, lower case
        ("产假一百五十八天！！😀", "产假158天"),  # numerals before a unit; punctuation and emoji dropped
        ("两个月", "2个月"),
        ("一样吗", "一样吗"),  # 一 not followed by a unit stays a word
        ("一万五的起付线", "一万五的起付线"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


# -- slots --------------------------------------------------------------------------------------
def test_city_gives_its_province_and_leaves_the_topic(gazetteer: Gazetteer) -> None:
    slots = extract_slots(normalise("我在太原 异地就医怎么备案"), gazetteer)
    assert slots.region == "山西"
    assert "太原" not in slots.topic_text
    assert "异地就医" in slots.topic_text


@pytest.mark.parametrize(
    ("text", "apart"),
    [
        ("太原医保在北京能用吗", True),
        ("惠州医保在东莞能用吗", True),
        ("山西太原的医保", False),
        ("朝阳和海淀的医保", False),
    ],
)
def test_places_apart(gazetteer: Gazetteer, text: str, apart: bool) -> None:
    assert extract_slots(text, gazetteer).apart is apart


def test_two_cities_of_one_province_are_care_elsewhere(engine: Engine) -> None:
    # the phrasing "惠州医保能在东莞用吗" is more than "医保能用吗" once its places are cut
    for question in ("深圳的医保卡在惠州能刷吗", "惠州的卡在东莞医院能用不"):
        decision = engine.decide(question)
        assert decision.entry is not None and decision.entry.id == "yidi.huizhou-in-dongguan", question
    placeless = engine.decide("医保卡能用吗")
    assert placeless.entry is None or placeless.entry.id != "yidi.huizhou-in-dongguan"


def test_a_place_alone_is_the_place(gazetteer: Gazetteer) -> None:
    assert extract_slots("晋", gazetteer).region == "山西"
    assert extract_slots("温岭市", gazetteer).region == "浙江"


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("我是退休职工", EMPLOYEE),
        ("单位交的医保", EMPLOYEE),
        ("新农合能报吗", RESIDENT),
        ("城乡居民医保", RESIDENT),
        ("职工和居民有啥区别", None),  # both named: no slot
        ("医保卡丢了", None),
    ],
)
def test_scheme_slot(text: str, scheme: str | None) -> None:
    assert scheme_of(text) == scheme


# -- decisions ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("山西生孩子产假能休几天", "shengyu.shanxi-maternity-leave"),
        ("老公单位交的生育险 我生娃能报销多少", "shengyu.male-worker-ratio"),
        ("社保卡挂失了还能看病吗", "ka.loss-still-usable"),
        ("醫保卡掛失了還能用嗎", "ka.loss-still-usable"),  # traditional characters
        ("设保卡挂湿了还能用吗", "ka.loss-still-usable"),  # homophones from voice input
    ],
)
def test_answers(engine: Engine, question: str, entry_id: str) -> None:
    decision = engine.decide(question)
    assert decision.kind == "answer", decision.candidates[:3]
    assert decision.entry is not None and decision.entry.id == entry_id
    assert 1 <= len(decision.related) <= 3
    assert all(r.id != entry_id for r in decision.related)


def test_clarify_region_when_members_differ_by_region(engine: Engine) -> None:
    decision = engine.decide("医保缴费基数是多少")
    assert decision.kind == "clarify"
    assert decision.slot == "region"
    assert decision.options[-1] == OTHER_REGION
    assert {"安徽", "山西", "江西"} <= set(decision.options)
    assert {e.group for e in decision.waiting} == {"省医保缴费基数和方式"}


def test_saved_region_answers_without_asking(engine: Engine) -> None:
    decision = engine.decide("医保缴费基数是多少", region="山西")
    assert decision.kind == "answer"
    assert decision.entry is not None and decision.entry.region == "山西"


def test_clarify_scheme(engine: Engine) -> None:
    decision = engine.decide("北京和山西的医保异地报销比例一样吗")
    assert decision.kind == "clarify" and decision.slot == "scheme"
    chosen = engine.choose(decision.waiting, scheme=RESIDENT)
    assert chosen.entry is not None and chosen.entry.id == "yidi.bj-sx-resident-ratio"


def test_choose_other_region_falls_back_to_nationwide(engine: Engine) -> None:
    family = [e for e in engine.kb.entries if e.group == "余额用完还能用吗"]
    decision = engine.choose(family, region=OTHER_REGION)
    assert decision.entry is not None and decision.entry.region == "全国"


def test_nationwide_member_answers_when_region_unknown(engine: Engine) -> None:
    decision = engine.decide("医保卡里没钱了还能报销吗")
    assert decision.kind == "answer"
    assert decision.entry is not None and decision.entry.id == "zhanghu.no-balance"


def test_region_in_question_beats_saved_region(engine: Engine) -> None:
    decision = engine.decide("上海医保卡里没钱了还能用吗", region="山西")
    assert decision.entry is not None and decision.entry.id == "zhanghu.shanghai-no-balance"


def test_other_provinces_rule_is_not_given_as_an_answer(engine: Engine) -> None:
    # Only 山西's maternity leave is in the knowledge base: a 广东 question must not get it.
    decision = engine.decide("广东产假多少天")
    assert decision.kind == "not_found" and decision.missing_region == "广东"
    assert any(e.id == "shengyu.shanxi-maternity-leave" for e in decision.near)
    # a question about a nationwide rule, asked from a named place, is still answered
    assert engine.decide("温岭社保卡丢了怎么办").kind == "answer"
    saved = engine.decide("产假多少天", region="广东")  # saved region: answer, but say so
    if saved.entry is not None and saved.entry.region == "山西":
        assert saved.region_note == "山西"


def test_region_named_without_any_entry_for_it_is_not_found(engine: Engine) -> None:
    decision = engine.decide("成都医保缴费基数是多少")
    assert decision.kind == "not_found"
    assert decision.missing_region == "四川"
    assert any(e.group == "省医保缴费基数和方式" for e in decision.near)


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("社保卡", "社保卡"),
        ("我想问一下异地就医", "异地就医"),
        ("关于生育津贴的政策", "生育津贴"),
        ("医保", "医保"),
    ],
)
def test_a_topic_alone_gets_its_common_questions(engine: Engine, question: str, topic: str) -> None:
    decision = engine.decide(question)
    assert decision.kind == "not_found" and decision.broad == topic
    assert 2 <= len(decision.near) <= 4
    assert present.not_found_text(decision).startswith(f"关于“{topic}”的问题比较多")


def test_broad_topic_suggestions_fit_the_region_named(engine: Engine) -> None:
    decision = engine.decide("北京医保")
    assert decision.broad == "医保"
    assert decision.near and all(e.applies_to("北京") for e in decision.near)


@pytest.mark.parametrize("question", ["产假几天", "异地就医备案", "社保卡挂失"])
def test_a_topic_with_a_question_about_it_is_not_broad(engine: Engine, question: str) -> None:
    decision = engine.decide(question)
    assert decision.broad is None and decision.kind == "answer"


def test_rule_kept_only_province_by_province_is_not_found_for_another(engine: Engine) -> None:
    # 居民医保 premiums exist for some provinces only (a group with no nationwide member): a
    # 新疆 question must not get a nationwide entry of another topic that happens to fit.
    decision = engine.decide("库尔勒城乡居民医保今年交多少钱")
    assert decision.kind == "not_found" and decision.missing_region == "新疆"
    assert any(e.group == "省医保缴费基数和方式" for e in decision.near)
    assert present.not_found_text(decision).startswith("暂时没有整理到新疆的相关规定。")


@pytest.mark.parametrize(
    "question",
    ["明天北京下雨吗", "红烧肉怎么做", "住房公积金怎么提取", "哪只股票会涨", "asdfghjkl", "养老金每年涨多少"],
)
def test_not_found(engine: Engine, question: str) -> None:
    assert engine.decide(question).kind == "not_found"


@pytest.mark.parametrize(
    ("text", "kind"),
    [("你好", "greeting"), ("您好！", "greeting"), ("谢谢", "thanks"), ("多谢啦", "thanks"), ("拜拜", "bye")],
)
def test_smalltalk(engine: Engine, text: str, kind: str) -> None:
    decision = engine.decide(text)
    assert decision.kind == "smalltalk" and decision.smalltalk == kind


def test_greeting_with_a_question_is_a_question(engine: Engine) -> None:
    assert engine.decide("你好，山西产假多少天").kind == "answer"


# -- follow-ups ---------------------------------------------------------------------------------
def test_followup_changes_the_region(engine: Engine) -> None:
    first = engine.decide("上海医保卡没钱了还能用吗")
    assert first.entry is not None and first.entry.id == "zhanghu.shanghai-no-balance"
    second = engine.decide("那其他地方呢", context=first.context)
    assert second.followup
    follow = engine.decide("北京呢", context=first.context)
    assert follow.followup
    assert follow.entry is None or follow.entry.region != "上海"


def test_followup_changes_the_scheme(engine: Engine) -> None:
    first = engine.decide("北京和山西职工医保异地报销比例一样吗")
    assert first.entry is not None and first.entry.id == "yidi.bj-sx-worker-ratio"
    second = engine.decide("那居民医保呢", context=first.context)
    assert second.entry is not None and second.entry.id == "yidi.bj-sx-resident-ratio"


def test_short_text_without_context_is_not_a_followup(engine: Engine) -> None:
    assert not engine.decide("北京呢").followup


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("失业金一个月能领多少钱", "失业保险"),
        ("退休金每个月能涨多少", "养老保险"),
        ("住房公积金怎么提取", "住房公积金"),
        ("医保卡可以借给别人用吗", "医保卡出借、盗刷和骗保"),
        ("社保卡的银行密码忘了怎么办", "社保卡密码"),
    ],
)
def test_neighbouring_topics_are_named_not_answered(engine: Engine, question: str, topic: str) -> None:
    decision = engine.decide(question)
    assert decision.kind == "not_found"
    assert decision.out_of_scope == topic


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("北京哪个医院看不孕不育好 推荐一下", "医院推荐"),  # 医院 + 推荐, neither alone
        ("养老保险交满十五年 每个月能领多少", "养老保险"),  # 养老保险 + 领
    ],
)
def test_neighbouring_topics_named_by_two_words_together(engine: Engine, question: str, topic: str) -> None:
    decision = engine.decide(question)
    assert decision.kind == "not_found"
    assert decision.out_of_scope == topic


def test_one_word_of_a_two_word_term_is_not_enough(engine: Engine) -> None:
    decision = engine.decide("异地住院要先去医院开什么证明")
    assert decision.out_of_scope is None


def test_neighbouring_topic_the_best_entry_only_mentions(engine: Engine) -> None:
    # zhanghu.shanxi-family says the account can pay 长期护理保险 premiums ...
    paying = engine.decide("山西个人账户能交长期护理保险吗")
    assert paying.kind == "answer" and paying.entry is not None
    assert paying.entry.id == "zhanghu.shanxi-family"
    # ... which does not make a question about that insurance itself ours
    applying = engine.decide("长期护理保险怎么申请")
    assert applying.kind == "not_found"
    assert applying.out_of_scope == "长期护理保险"


def test_out_of_scope_terms_load_words_and_word_sets(tmp_path: Path) -> None:
    (tmp_path / "out_of_scope.yaml").write_text(
        "topics:\n  - name: 医院推荐\n    words: [医院推荐, [醫院, 推荐]]\n", encoding="utf-8"
    )
    assert load_out_of_scope(tmp_path) == {"医院推荐": (("医院推荐",), ("医院", "推荐"))}


def test_out_of_scope_word_does_not_block_an_entry_that_mentions_it(engine: Engine) -> None:
    # 灵活就业 entries talk about 养老保险 themselves
    decision = engine.decide("灵活就业人员的养老保险和医保什么时候交")
    assert decision.kind == "answer"
    assert decision.entry is not None and decision.entry.topic == "缴费与参保"


@pytest.mark.parametrize("question", ["家里宽带怎么办理", "离婚要带什么手续", "微信被封号了怎么解封"])
def test_only_question_words_in_common_is_not_an_answer(engine: Engine, question: str) -> None:
    # 怎么 / 办理 / 带 / 手续 / 微信 are shared with many entries and say nothing of the topic
    assert engine.decide(question).kind == "not_found"


def test_two_places_make_a_cross_region_question_only_about_insurance(engine: Engine) -> None:
    assert engine.decide("北京到大同的高铁票多少钱").kind == "not_found"
    assert engine.decide("大同的医保在北京看病能报吗").kind in ("answer", "clarify")


def test_entries_of_one_topic_are_not_a_family_because_they_score_alike(engine: Engine) -> None:
    # the 北京/山西 comparison scores next to the nationwide best: it must not be picked for 山西
    decision = engine.decide("我是运城的 在太原住院 要不要备案")
    assert decision.entry is not None and decision.entry.group is None
    assert decision.entry.id == decision.candidates[0].entry.id
    assert decision.entry.id != "yidi.bj-sx-contribution-benefits"
