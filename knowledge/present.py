"""How decisions are shown to a user, in plain text (the bot escapes it for Telegram HTML).

An answer always carries where and to whom it applies, the source date and the caveat
以当地医保部门最新规定为准.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from knowledge.schema import ALL_SCHEMES, Entry

if TYPE_CHECKING:
    from knowledge.engine import Decision

LOCAL_RULES_CAVEAT = "以当地医保部门最新规定为准"
HOTLINES = "全国医保服务热线 12393（社保卡业务可拨 12333）"
NOT_FOUND = (
    "抱歉，暂时没有找到与您问题匹配的政策解答。\n"
    "可以换个说法再问一次（说明地区、险种会更准），或拨打" + HOTLINES + "咨询。"
)
OUT_OF_SCOPE = (
    "这个问题属于“{topic}”方面，不在本助手整理的医保政策资料范围内。"
    "养老、失业、工伤保险和社保卡问题可拨打 12333，医保问题可拨打 12393。"
)
MISSING_REGION = "暂时没有整理到{region}的相关规定。"
BROAD = (
    "关于“{topic}”的问题比较多，您想问的是哪一个？可以点下面的常见问题，"
    "也可以把问题说具体些，比如在哪个省参保、遇到了什么情况。"
)
DID_YOU_MEAN = "您是不是想问："
RELATED = "您可能还想问："
CLARIFY_REGION = (
    "这个问题各地规定不同。请问您在哪个省（或城市）参保？可以点下面的按钮，也可以直接输入城市名。"
)
CLARIFY_SCHEME = "职工医保和城乡居民医保的规定不同。请问您参加的是哪一种？"
SMALLTALK = {
    "greeting": "您好！我是医保政策助手，可以问我异地就医备案、报销比例、生育津贴、家庭共济、"
    "灵活就业缴费、医保卡挂失等问题，例如：山西异地就医怎么备案？",
    "thanks": "不客气！还有其他医保问题随时问我。",
    "bye": "再见！有医保问题随时来问。",
}


def scope_line(entry: Entry) -> str:
    schemes = "、".join(s for s in entry.schemes if s != ALL_SCHEMES) or "各类参保人"
    return f"适用范围：{entry.where}｜{schemes}"


def source_line(entry: Entry) -> str:
    return f"资料日期：{entry.date.isoformat()}，{LOCAL_RULES_CAVEAT}。"


def region_note(entry: Entry, user_region: str) -> str:
    return f"注意：目前只整理到{entry.where}的规定，{user_region}的做法可能不同，请向当地医保部门确认。"


def answer_text(entry: Entry, user_region: str | None = None, estimate: list[str] | None = None) -> str:
    """The full reply for one entry: heading, answer, the estimate from the user's figures
    (when the entry has a formula and the question gave them), scope, date and caveat."""
    lines = [f"【{entry.question}】", entry.answer.strip(), ""]
    if estimate:
        lines += [*estimate, ""]
    if user_region:
        lines.append(region_note(entry, user_region))
    lines += [scope_line(entry), source_line(entry)]
    return "\n".join(lines)


def decision_text_body(decision: Decision) -> str:
    """The answer part of an answer decision, without the list of suggestions."""
    assert decision.entry is not None
    return answer_text(decision.entry, decision.region if decision.region_note else None, decision.estimate)


def decision_text(decision: Decision) -> str:
    """Plain-text reply for a decision (buttons listed as numbered lines)."""
    if decision.kind == "smalltalk":
        return SMALLTALK.get(decision.smalltalk or "greeting", SMALLTALK["greeting"])
    if decision.kind == "answer" and decision.entry is not None:
        return _with_list(decision_text_body(decision), RELATED, [e.question for e in decision.related])
    if decision.kind == "clarify":
        prompt = CLARIFY_REGION if decision.slot == "region" else CLARIFY_SCHEME
        return _with_list(prompt, "", decision.options)
    title = "" if decision.broad else DID_YOU_MEAN
    return _with_list(not_found_text(decision), title, [e.question for e in decision.near])


def not_found_text(decision: Decision) -> str:
    """Why there is no answer: another topic, too broad a question, no rules for the user's
    region, or no match."""
    if decision.broad:
        return BROAD.format(topic=decision.broad)
    if decision.out_of_scope:
        return OUT_OF_SCOPE.format(topic=decision.out_of_scope)
    if decision.missing_region:
        return MISSING_REGION.format(region=decision.missing_region) + "\n" + NOT_FOUND
    return NOT_FOUND


def _with_list(text: str, title: str, items: list[str]) -> str:
    if not items:
        return text
    lines = [text, ""] + ([title] if title else []) + [f"  [{i}] {item}" for i, item in enumerate(items, 1)]
    return "\n".join(lines)
