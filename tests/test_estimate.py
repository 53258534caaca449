"""Estimates from the user's own figures: what counts as a monthly wage, the 生育津贴 arithmetic,
and that the engine adds them only to the entry that states the formula."""

from __future__ import annotations

import pytest

from knowledge import present
from knowledge.engine import Engine
from knowledge.estimate import maternity_allowance, monthly_wage
from knowledge.normalise import normalise


@pytest.mark.parametrize(
    ("text", "wage"),
    [
        ("我工资8000 生育津贴能拿多少", 8000),
        ("月薪8千", 8000),
        ("工资八千块", 8000),  # normalise turns 八千 into 8千
        ("单位平均工资1.2万", 12000),
        ("缴费基数5000元", 5000),
        ("2024年生的 工资6000", 6000),  # a year is not money
        ("工资6000 社保交了6个月", 6000),
        ("生育津贴怎么算", None),  # no figure: nothing to compute
        ("8000 生育津贴", None),  # a bare number without wage words is not read as a wage
        ("工资5000或者6000", None),  # two different amounts: do not pick one
        ("工资300", None),  # not a monthly wage
    ],
)
def test_monthly_wage(text: str, wage: float | None) -> None:
    assert monthly_wage(normalise(text)) == wage


def test_maternity_allowance_uses_98_days_unless_told() -> None:
    lines = maternity_allowance("我工资8000 生育津贴能拿多少")
    assert lines is not None
    assert lines[0] == "按您给的数估算：8,000元 ÷ 30 × 98天 ≈ 26,133元。"  # 8000 / 30 × 98 = 26133.3
    assert "基础产假98天" in lines[1]
    told = maternity_allowance("单位平均工资12000 产假158天")
    assert told is not None and told[0] == "按您给的数估算：12,000元 ÷ 30 × 158天 ≈ 63,200元。"
    assert "您说的158天" in told[1]
    assert "按98天算约为39,200元" in told[2]  # leave days need not all be paid: 12000 / 30 × 98


def test_engine_adds_the_estimate_to_the_formula_entry_only(engine: Engine) -> None:
    decision = engine.decide("我工资8000 生育津贴能拿多少")
    assert decision.entry is not None and decision.entry.estimate == "生育津贴"
    assert decision.estimate and "26,133元" in decision.estimate[0]
    assert "26,133元" in present.decision_text(decision)
    assert engine.decide("生育津贴怎么算").estimate == []  # the formula, no figure given
    other = engine.decide("山西产假多少天 工资8000")
    assert other.entry is not None and other.entry.estimate is None and other.estimate == []
