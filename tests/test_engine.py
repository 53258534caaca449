"""The engine: normalisation, slots, the reading of a question, and each decision it makes."""

from __future__ import annotations

import pytest

from knowledge import decision as why
from knowledge import present
from knowledge.engine import OTHER_REGION, Engine
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


def test_a_place_alone_is_the_place(gazetteer: Gazetteer) -> None:
    assert extract_slots("晋", gazetteer).region == "山西"
    assert extract_slots("温岭市", gazetteer).region == "浙江"


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("我是退休职工", EMPLOYEE),
        ("单位交的医保", EMPLOYEE),
        ("新农合能报吗", RESIDENT),
        ("农村医疗保险怎么报", RESIDENT),
        ("城乡居民医保", RESIDENT),
        ("职工和居民有啥区别", None),  # both named: no slot
        ("医保卡丢了", None),
    ],
)
def test_scheme_slot(text: str, scheme: str | None) -> None:
    assert scheme_of(text) == scheme


# -- reading a question as parts ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "subjects", "asks", "persons"),
    [
        ("杭州地区生育津贴多少天能到账", ("生育津贴发放",), ("到账生效",), ()),
        ("异地就医备案之后什么时候开始生效", ("异地备案",), ("到账生效",), ()),  # 异地就医 is broader
        ("山西异地就医怎么备案", ("异地备案",), ("办理",), ()),
        ("住院和门诊报销比例一样吗", ("门诊报销",), ("区别", "比例"), ()),  # 住院 is weak: background
        ("医保卡里的钱能取出来吗", ("个账提取",), ("能否",), ()),  # 医保卡 is only background
        ("孕妇可以用丈夫的医保生育保险吗", ("生育保险",), ("能否",), ("男方",)),
        ("退休人员住院费怎么报销", ("住院报销",), ("怎么报",), ("退休人员",)),
        ("南昌市个人灵活就业社保怎么交", ("医保缴费",), ("办理",), ("灵活就业人员",)),
        ("新农合一万块能报多少", ("险种", "医保报销"), ("报多少",), ()),  # weak ones only: all kept
        ("住了几天院 能报吗", ("医保报销",), ("能否",), ()),  # a count that is said, not asked
        ("生育津贴多久内领取有效", ("生育津贴",), ("时间",), ()),  # a deadline
        ("医保卡转借他人被发现后会如何处理", ("医保卡",), ("影响",), ()),
    ],
)
def test_reading(
    engine: Engine, question: str, subjects: tuple[str, ...], asks: tuple[str, ...], persons: tuple[str, ...]
) -> None:
    reading = engine.decide(question).reading
    assert reading is not None
    assert (reading.subjects, reading.asks, reading.persons) == (subjects, asks, persons)


def test_reading_names_neighbouring_topics_and_places(engine: Engine) -> None:
    reading = engine.decide("医保卡转借他人被发现后会如何处理").reading
    assert reading is not None and reading.outside == ("医保卡出借和骗保",)
    reading = engine.decide("江苏南通农村医疗保险报销比例多少").reading
    assert reading is not None and reading.regions == ("江苏",) and reading.scheme == RESIDENT
    assert reading.parts() == ["江苏南通", RESIDENT, "医保报销", "比例"]


def test_reading_keeps_details_no_part_explains(engine: Engine) -> None:
    reading = engine.decide("抚顺白内障手术能走医保吗").reading
    assert reading is not None and reading.details == ("白内障",)
    chatter = engine.decide("我家老头子在上海住院 医院说要先自己出一千五 这是啥规定啊").reading
    assert chatter is not None and chatter.details == ()  # who asks and why is not a detail


def test_homophones_are_repaired_only_towards_the_vocabulary(engine: Engine) -> None:
    decision = engine.decide("设保卡挂湿了还能用吗")
    assert decision.entry is not None and decision.entry.id == "ka.loss-still-usable"
    reading = engine.decide("补了社保卡 用不用跟单位说一声").reading
    assert reading is not None and "医保卡补办" in reading.subjects  # 补了 is not turned into 不了


# -- answers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("山西生孩子产假能休几天", "shengyu.shanxi-maternity-leave"),
        ("老公单位交的生育险 我生娃能报销多少", "shengyu.male-worker-ratio"),
        ("社保卡挂失了还能看病吗", "ka.loss-still-usable"),
        ("醫保卡掛失了還能用嗎", "ka.loss-still-usable"),  # traditional characters
        ("异地就医报销按照哪里标准", "yidi.catalog-rule"),
        ("深圳社保卡可以去药店买药吗?", "zhanghu.pharmacy-deduction"),  # a nationwide rule, for 深圳
        ("外地的合作医疗怎么报销", "yidi.direct-settlement-how"),
        ("只要是家庭成员就可以使用“家庭共济”吗?", "zhanghu.family-medical-use"),
    ],
)
def test_answers(engine: Engine, question: str, entry_id: str) -> None:
    decision = engine.decide(question)
    assert decision.kind == "answer", [(v.entry.id, v.why_not()) for v in decision.verdicts[:3]]
    assert decision.entry is not None and decision.entry.id == entry_id
    assert 1 <= len(decision.related) <= 3
    assert all(r.id != entry_id for r in decision.related)


def test_every_entry_answers_its_own_question(engine: Engine) -> None:
    """The annotations (`answers`, `requires`, `persons`) must at least let an entry answer
    the question it is titled with, asked from its own region."""
    wrong = []
    for entry in engine.kb.entries:
        regional = not (entry.is_nationwide or entry.is_unnamed_province)
        decision = engine.decide(entry.question, region=entry.region if regional else None)
        answered = decision.kind == "answer" and decision.entry == entry
        asked_back = decision.kind == "clarify" and entry in decision.waiting
        if not (answered or asked_back):
            wrong.append((entry.id, decision.kind, decision.decline))
    assert wrong == []


# -- places -------------------------------------------------------------------------------------
def test_clarify_region_when_members_differ_by_region(engine: Engine) -> None:
    decision = engine.decide("医保缴费基数是多少")
    assert decision.kind == "clarify"
    assert decision.slot == "region"
    assert decision.options[-1] == OTHER_REGION
    assert {"安徽", "山西"} <= set(decision.options)
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


def test_nationwide_answer_fits_a_question_naming_no_place(engine: Engine) -> None:
    decision = engine.decide("医保卡里没钱了还能报销吗")
    assert decision.kind == "answer"
    assert decision.entry is not None and decision.entry.id == "zhanghu.no-balance"
    assert decision.place_note is None


def test_region_in_question_beats_saved_region(engine: Engine) -> None:
    decision = engine.decide("上海医保卡里没钱了还能用吗", region="山西")
    assert decision.entry is not None and decision.entry.id == "zhanghu.shanghai-no-balance"


def test_another_places_rule_never_answers_a_question_naming_a_place(engine: Engine) -> None:
    decision = engine.decide("广东产假多少天")
    assert decision.kind == "not_found" and decision.decline == why.PLACE
    assert decision.missing_region == "广东"
    assert any(e.id == "shengyu.shanxi-maternity-leave" for e in decision.near)
    assert present.not_found_text(decision).startswith("您问的是：广东 · 产假 · 多长时间或多少天\n")
    assert "暂时没有广东的这项规定" in present.not_found_text(decision)


def test_a_saved_region_is_a_place_too(engine: Engine) -> None:
    decision = engine.decide("医保卡里的钱能取出来吗", region="广东")
    assert decision.kind == "not_found" and decision.decline == why.PLACE


def test_nationwide_figure_of_a_local_subject_is_not_given_for_a_named_place(engine: Engine) -> None:
    # 98天 is the national base; 广州 sets its own: the national entry does not answer for it
    assert engine.decide("广州产假一共多少天").kind == "not_found"
    assert engine.decide("北京产假是怎么规定的").kind == "not_found"
    placeless = engine.decide("产假一共多少天")
    assert placeless.entry is not None and placeless.entry.id == "shengyu.leave-allowance-days-legal"
    # an entry that itself states the place's figures still answers (万州 in 门诊特殊病)
    wanzhou = engine.decide("万州门诊特殊病高档报销比例是多少")
    assert wanzhou.entry is not None and wanzhou.entry.id == "manbing.special-disease-regions"


def test_a_regional_answer_to_a_question_naming_no_place_says_whose_rule_it_is(engine: Engine) -> None:
    decision = engine.decide("医保卡里的钱能取出来吗")
    assert decision.entry is not None and decision.entry.id == "zhanghu.shanghai-withdraw"
    assert decision.place_note == "上海"
    assert present.decision_text(decision).splitlines()[0] == "以下是上海的规定，其他地区可能不同："


def test_the_unnamed_provinces_rules(engine: Engine) -> None:
    placeless = engine.decide("住院报销比例是多少")
    assert placeless.entry is not None and placeless.entry.is_unnamed_province
    assert present.decision_text(placeless).splitlines()[0] == present.UNNAMED_PLACE_NOTE
    for question in ("四川住院报销比例是多少", "成都大病保险怎么报销"):
        assert engine.decide(question).kind == "not_found", question


def test_a_comparison_of_places_needs_one_of_them_named(engine: Engine) -> None:
    decision = engine.decide("在药房刷医保卡买药 是扣我自己卡里的钱还是国家给报")
    assert decision.entry is None or len(decision.entry.regions) == 1
    named = engine.decide("北京和山西的职工医保个人账户有什么不同")
    assert named.entry is not None and named.entry.id == "yidi.bj-sx-personal-account"


def test_a_city_named_picks_the_citys_rule(engine: Engine) -> None:
    decision = engine.decide("惠州医保能在东莞用吗")
    assert decision.entry is not None and decision.entry.id == "yidi.huizhou-in-dongguan"
    other = engine.decide("顺义有哪些能走医保的药店")
    assert other.entry is not None and other.entry.id == "dingdian.shunyi-pharmacies"
    chaoyang = engine.decide("朝阳区有哪些能走医保的药店")  # 顺义's list is not 朝阳's
    assert chaoyang.entry is None or chaoyang.entry.id != "dingdian.shunyi-pharmacies"


def test_two_cities_of_one_province_are_care_elsewhere(engine: Engine) -> None:
    for question in ("深圳的医保卡在惠州能刷吗", "惠州的卡在东莞医院能用不"):
        decision = engine.decide(question)
        assert decision.entry is not None and decision.entry.id == "yidi.huizhou-in-dongguan", question


# -- what makes an entry not the answer ---------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("杭州地区生育津贴多少天能到账", why.ASK),  # we have 生育津贴, not how long it takes
        ("抚顺白内障手术能走医保吗", why.DETAIL),  # 青光眼 is not 白内障
        ("退休人员住院费怎么报销", why.PERSON),
        ("2020年合作医疗交费是多少", why.DETAIL),  # the rule we have is 2025's
        ("住院有医保为什么还要交押金", why.ASK),
        ("社保卡在哪可以更改照片", why.SUBJECT),
        ("领取生育津贴后两个月单位不发钱怎么办", why.DETAIL),  # 不发: a problem no entry speaks of
        ("明天北京下雨吗", why.UNKNOWN),
    ],
)
def test_declines_say_why(engine: Engine, question: str, reason: str) -> None:
    decision = engine.decide(question)
    assert decision.kind == "not_found" and decision.decline == reason


def test_a_decline_offers_what_we_have_on_the_subject(engine: Engine) -> None:
    decision = engine.decide("杭州地区生育津贴多少天能到账")
    assert decision.near and all("生育" in e.question or e.topic == "生育" for e in decision.near)
    text = present.not_found_text(decision)
    assert text.splitlines()[0] == "您问的是：浙江杭州 · 生育津贴发放 · 多久到账或生效"
    assert "12393" in text


def test_a_rule_for_particular_people_answers_only_them(engine: Engine) -> None:
    general = engine.decide("生育保险报销比例是多少")
    assert general.entry is None or general.entry.id != "shengyu.male-worker-ratio"
    husband = engine.decide("老婆没工作 能用我的生育险报销吗")
    assert husband.entry is not None and husband.entry.id == "shengyu.male-worker-ratio"


# issue #9's examples: none may be answered with a different question
@pytest.mark.parametrize(
    ("question", "acceptable"),
    [
        ("医疗保险个人交一年多少钱", {"shengyibao.resident-jiangxi"}),  # only with 江西 said first
        ("满60岁交不交新农合", set()),
        ("城乡居民医疗保险停交多久失效", set()),
        ("交居民医保多久可以生效", set()),
        ("刚拿到社保卡怎么激活", {"ka.activate"}),
        ("孕妇几个月可以休产假", {"shengyu.leave-allowance-days-legal"}),
        ("住院和门诊报销比例一样吗", set()),
        ("医保卡里的钱能取出来吗", {"zhanghu.shanghai-withdraw"}),  # said as 上海's rule
        ("江苏南通农村医疗保险报销比例多少", set()),
        ("产假的产前15天规定怎么算", set()),
        ("深圳社保最低多少钱一个月2024年度", set()),
        ("居民养老最高档交15年后每月领多少", set()),
    ],
)
def test_issue_examples_get_no_answer_to_a_different_question(
    engine: Engine, question: str, acceptable: set[str]
) -> None:
    decision = engine.decide(question)
    if decision.kind == "answer":
        assert decision.entry is not None and decision.entry.id in acceptable
        if not decision.entry.is_nationwide:
            assert decision.place_note is not None  # whose rule it is, in the first line
    else:
        assert decision.kind in ("not_found", "clarify")


# -- topics, neighbours, small talk -------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("社保卡", "医保卡"),
        ("我想问一下异地就医", "异地就医"),
        ("关于生育津贴的政策", "生育津贴"),
        ("医保", "医保"),
        ("山西异地就医备案", "异地备案"),
    ],
)
def test_a_subject_alone_gets_its_common_questions(engine: Engine, question: str, topic: str) -> None:
    decision = engine.decide(question)
    assert decision.kind == "not_found" and decision.broad == topic and decision.decline is None
    assert 1 <= len(decision.near) <= 4
    assert present.not_found_text(decision).startswith(f"关于“{topic}”的问题比较多")


def test_topic_suggestions_fit_the_region_named(engine: Engine) -> None:
    decision = engine.decide("山西异地就医备案")
    assert decision.near and decision.near[0].applies_to("山西")


@pytest.mark.parametrize("question", ["产假几天", "异地就医怎么备案", "社保卡挂失怎么办"])
def test_a_subject_with_a_question_about_it_is_not_broad(engine: Engine, question: str) -> None:
    decision = engine.decide(question)
    assert decision.broad is None and decision.kind in ("answer", "clarify")


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("失业金一个月能领多少钱", "失业保险"),
        ("退休金每个月能涨多少", "养老保险"),
        ("住房公积金怎么提取", "住房公积金"),
        ("医保卡可以借给别人用吗", "医保卡出借和骗保"),
        ("社保卡的银行密码忘了怎么办", "社保卡密码"),
        ("北京哪个医院看不孕不育好 推荐一下", "医院推荐"),  # 医院 + 推荐, neither alone
        ("交强险一年多少钱", "商业保险"),  # found as typed, before 交 → 缴费
        ("生二胎国家给补多少钱啊一个月", "育儿补贴"),
    ],
)
def test_neighbouring_topics_are_named_not_answered(engine: Engine, question: str, topic: str) -> None:
    decision = engine.decide(question)
    assert decision.kind == "not_found"
    assert decision.out_of_scope == topic
    assert present.not_found_text(decision).startswith(f"这个问题属于“{topic}”方面")


@pytest.mark.parametrize("question", ["住房公积金怎么提取", "住房公积金三个月提取一次怎么取"])
def test_a_neighbouring_topic_gets_its_own_advice(engine: Engine, question: str) -> None:
    # 提取 also reads as a 医保 subject (个账提取): the advice still follows the topic declined
    decision = engine.decide(question)
    assert decision.decline == "outside" and decision.out_of_scope == "住房公积金"
    assert "住房公积金管理中心" in decision.advice and "12393" not in decision.advice


def test_a_neighbouring_topic_an_entry_covers_is_answered(engine: Engine) -> None:
    paying = engine.decide("山西个人账户能给家人交长期护理保险吗")
    assert paying.kind == "answer" and paying.entry is not None
    assert paying.entry.id == "zhanghu.shanxi-family"
    assert engine.decide("长期护理保险怎么申请").out_of_scope == "长期护理保险"
    deadline = engine.decide("灵活就业人员的养老保险每年什么时候交")
    assert deadline.entry is not None and deadline.entry.id == "jiaofei.flexible-payment-deadline"


@pytest.mark.parametrize(
    "question",
    [
        "明天北京下雨吗",
        "红烧肉怎么做",
        "哪只股票会涨",
        "asdfghjkl",
        "家里宽带怎么办理",
        "北京到大同的高铁票多少钱",
    ],
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
    follow = engine.decide("北京呢", context=first.context)
    assert follow.followup
    assert follow.entry is None or follow.entry.region != "上海"


def test_followup_changes_the_scheme_and_keeps_both_places(engine: Engine) -> None:
    first = engine.decide("山西职工医保去北京看病能报多少")
    assert first.entry is not None and first.entry.id == "yidi.bj-sx-worker-ratio"
    second = engine.decide("那居民医保呢", context=first.context)
    assert second.entry is not None and second.entry.id == "yidi.bj-sx-resident-ratio"


def test_followup_naming_a_person_changes_the_subject(engine: Engine) -> None:
    first = engine.decide("山西生孩子产假多久")
    second = engine.decide("男的能休几天", context=first.context)
    assert second.entry is not None and second.entry.id == "shengyu.shanxi-paternity-leave"


def test_followup_keeps_the_person_and_the_asking(engine: Engine) -> None:
    first = engine.decide("河南灵活就业社保能按年交吗")
    second = engine.decide("基数怎么选", context=first.context)
    assert second.entry is not None and second.entry.id == "jiaofei.henan-flexible-base"
    surgery = engine.decide("抚顺视网膜手术走医保不")
    other = engine.decide("脑动脉瘤栓塞呢", context=surgery.context)
    assert other.entry is not None and other.entry.id == "daiyu.fushun-aneurysm-embolization"


def test_a_whole_question_after_another_is_read_on_its_own(engine: Engine) -> None:
    first = engine.decide("山西职工医保今年缴费基数多少")
    second = engine.decide("那江西居民医保交多少", context=first.context)
    assert second.entry is not None and second.entry.id == "shengyibao.resident-jiangxi"


def test_short_text_without_context_is_not_a_followup(engine: Engine) -> None:
    assert not engine.decide("北京呢").followup
