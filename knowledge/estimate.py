"""Estimates for entries that state a formula, computed from the figures the user gives.

An entry opts in with `estimate: <name>` (knowledge/README.md); the engine runs the named
estimator on the (normalised) question when that entry answers it. An estimator returns the
lines to show under the answer, or None when the question holds no usable figure — it never
guesses a figure the user did not give.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# an amount of money: 8000, 8000元, 8千, 1.2万, 8k (normalise has turned 八千 into 8千 already)
_AMOUNT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d.])\s*(万|千|k|w)?\s*(元|块)?", re.IGNORECASE)
# a bare number followed by one of these is not money: 2024年, 6个月, 158天, 35岁, 75%
_NOT_MONEY_AFTER = re.compile(r"\s*(年|月|天|日|号|个|岁|%|周|次|倍)")
_MULTIPLIER = {"万": 10_000, "w": 10_000, "千": 1_000, "k": 1_000}
# words that say the amount is a monthly wage or contribution base
_WAGE_WORDS = re.compile(r"工资|月薪|薪水|收入|基数|平均工资|月平均|一个月|每月|月入|到手")
_DAYS = re.compile(r"(\d{2,3})\s*天")

# 生育津贴 formula as the source states it (entry shengyu.allowance-monthly-amount, source 003)
BASE_MATERNITY_DAYS = 98
MIN_MONTHLY_WAGE = 500  # below this a number is not a monthly wage (a count, a year, days)
MAX_MONTHLY_WAGE = 200_000


def monthly_wage(text: str) -> float | None:
    """The monthly wage a question states, when it states exactly one plausible amount."""
    if not _WAGE_WORDS.search(text):
        return None
    amounts = []
    for match in _AMOUNT.finditer(text):
        number, unit, currency = match.groups()
        if not unit and not currency and _NOT_MONEY_AFTER.match(text, match.end()):
            continue
        value = float(number) * _MULTIPLIER.get((unit or "").lower(), 1)
        if MIN_MONTHLY_WAGE <= value <= MAX_MONTHLY_WAGE:
            amounts.append(value)
    return amounts[0] if len(set(amounts)) == 1 else None


def maternity_allowance(text: str) -> list[str] | None:
    """生育津贴 = 单位上年度职工月平均工资 ÷ 30 × 产假天数, with the user's figures."""
    wage = monthly_wage(text)
    if wage is None:
        return None
    days_match = _DAYS.search(text)
    days = int(days_match.group(1)) if days_match else BASE_MATERNITY_DAYS
    total = wage / 30 * days
    basis = f"您说的{days}天" if days_match else f"基础产假{BASE_MATERNITY_DAYS}天"
    lines = [
        f"按您给的数估算：{_money(wage)} ÷ 30 × {days}天 ≈ {_money(total)}。",
        f"这里把{_money(wage)}当作单位上年度职工月平均工资，天数按{basis}；实际金额以当地医保部门核定为准。",
    ]
    if days > BASE_MATERNITY_DAYS:
        # the sources: leave of 158 days with the allowance paid for 98 is lawful
        lines.append(
            "注意：津贴计发天数可以少于产假天数（资料说产假158天、津贴只按98天发是合法的），"
            f"按{BASE_MATERNITY_DAYS}天算约为{_money(wage / 30 * BASE_MATERNITY_DAYS)}。"
        )
    return lines


def _money(value: float) -> str:
    return f"{value:,.0f}元" if value >= 100 else f"{value:.2f}元"


ESTIMATORS: dict[str, Callable[[str], list[str] | None]] = {
    "生育津贴": maternity_allowance,
}
