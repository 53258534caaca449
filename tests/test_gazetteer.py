"""Region gazetteer: names of every level resolve to their province; ambiguity is explicit."""

from __future__ import annotations

import pytest

from knowledge.gazetteer import Gazetteer


def test_counts(gazetteer: Gazetteer) -> None:
    levels = [p.level for p in gazetteer.places]
    assert levels.count("province") == 34
    assert 330 <= levels.count("prefecture") <= 340
    assert levels.count("county") > 2500


@pytest.mark.parametrize(
    ("name", "province"),
    [
        ("山西省", "山西"),
        ("山西", "山西"),
        ("晋", "山西"),
        ("北京市", "北京"),
        ("京", "北京"),
        ("新疆维吾尔自治区", "新疆"),
        ("新疆", "新疆"),
        ("新", "新疆"),
        ("内蒙", "内蒙古"),
        ("广西壮族自治区", "广西"),
        ("香港", "香港"),
    ],
)
def test_province_names_and_abbreviations(gazetteer: Gazetteer, name: str, province: str) -> None:
    place = gazetteer.lookup(name)
    assert place is not None
    assert place.level == "province"
    assert place.province == province


@pytest.mark.parametrize(
    ("name", "province"),
    [
        ("太原", "山西"),
        ("太原市", "山西"),
        ("郑州", "河南"),
        ("东莞", "广东"),
        ("惠州", "广东"),
        ("抚顺", "辽宁"),
        ("抚州", "江西"),
        ("张家口", "河北"),
        ("青岛", "山东"),
        ("乌鲁木齐", "新疆"),
        ("昌吉", "新疆"),
        ("昌吉回族自治州", "新疆"),
        ("巴州", "新疆"),
    ],
)
def test_city_to_province(gazetteer: Gazetteer, name: str, province: str) -> None:
    place = gazetteer.province(name)
    assert place is not None and place.short == province


@pytest.mark.parametrize(
    ("name", "province", "prefecture"),
    [
        ("顺义", "北京", "北京"),
        ("顺义区", "北京", "北京"),
        ("温岭", "浙江", "台州"),
        ("温岭市", "浙江", "台州"),
        ("库尔勒", "新疆", "巴音郭楞"),
        ("五家渠", "新疆", ""),
        ("铁门关", "新疆", ""),
        ("天门", "湖北", ""),
        ("济源", "河南", ""),
    ],
)
def test_counties_from_the_sources(gazetteer: Gazetteer, name: str, province: str, prefecture: str) -> None:
    place = gazetteer.lookup(name)
    assert place is not None
    assert place.province == province
    assert place.prefecture == prefecture


def test_abolished_prefecture_is_gone(gazetteer: Gazetteer) -> None:
    laiwu = [p for p in gazetteer.candidates("莱芜") if p.level == "prefecture"]
    assert laiwu == []


def test_ambiguous_name_follows_exception_table(gazetteer: Gazetteer) -> None:
    # 海南 is a province and also a prefecture in 青海 and a district in 内蒙古.
    assert {p.province for p in gazetteer.candidates("海南")} >= {"海南", "青海"}
    place = gazetteer.lookup("海南")
    assert place is not None and place.level == "province" and place.province == "海南"
    assert gazetteer.ambiguous["海南"].resolve == "海南"


def test_unresolvable_name_is_not_guessed(gazetteer: Gazetteer) -> None:
    assert gazetteer.ambiguous["鼓楼"].resolve is None
    assert len({p.province for p in gazetteer.candidates("鼓楼")}) >= 3
    assert gazetteer.lookup("鼓楼") is None
    assert gazetteer.find("鼓楼医保怎么报") == []


def test_find_in_text_longest_first(gazetteer: Gazetteer) -> None:
    found = gazetteer.find("山西医保在北京顺义区能用吗")
    assert [m.place.province for m in found] == ["山西", "北京", "北京"]
    assert [m.text for m in found] == ["山西", "北京", "顺义区"]


def test_one_character_abbreviations_never_match_inside_text(gazetteer: Gazetteer) -> None:
    assert gazetteer.find("新农合可以在小诊所报销吗") == []
    assert gazetteer.find("京东买药能用医保吗") == []


def test_common_words_do_not_match(gazetteer: Gazetteer) -> None:
    for word in gazetteer.common_words:
        assert all(m.text != word for m in gazetteer.find(f"我想问{word}的事"))


def test_everyday_questions_have_no_place(gazetteer: Gazetteer) -> None:
    for text in (
        "社保卡掉了咋整",
        "生育津贴一般多少钱一个月",
        "医保个人账户是个人缴纳部分吗",
        "慢病卡办理需要什么资料",
    ):
        assert gazetteer.find(text) == [], text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("医保定点药店", []),  # not 保定
        ("每天津贴多少", []),  # not 天津
        ("规定安徽怎么报", ["安徽"]),  # not 定安
        ("共济南京可以吗", ["江苏"]),  # not 济南
        ("退休宁夏医保", ["宁夏"]),  # not 休宁
        ("北京市内报销", ["北京"]),  # 北京市 would cut 市内; 北京 does not
        ("医保山西能用吗", ["山西"]),  # not 保山
    ],
)
def test_place_names_do_not_cut_words(gazetteer: Gazetteer, text: str, expected: list[str]) -> None:
    assert [m.place.province for m in gazetteer.find(text)] == expected
