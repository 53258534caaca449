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
OUT_OF_SCOPE = "这个问题属于“{topic}”方面，不在本助手整理的医保政策资料范围内。"
MISSING_REGION = "暂时没有整理到{region}的相关规定。"
BROAD = (
    "关于“{topic}”的问题比较多，您想问的是哪一个？可以点下面的常见问题，"
    "也可以把问题说具体些，比如在哪个省参保、遇到了什么情况。"
)
UNDERSTOOD = "您问的是：{parts}"
DECLINE = {
    "place": "我整理的资料里暂时没有{region}的这项规定。下面是其他地区的规定，仅供参考，不能代替当地政策。",
    "ask": "关于{subject}，我整理的资料里没有讲{ask}的规定。",
    "person": "关于{subject}，我整理的资料里没有专门针对{person}的规定。",
    "scheme": "关于{subject}，我整理的资料里没有{scheme}的这项规定。",
    "detail": "关于{subject}，我整理的资料里没有提到“{detail}”的规定。",
    "subject": "我整理的资料里没有{subject}这方面的规定。",
    "low": "我整理的资料里没有正好回答这个问题的规定。",
    "unknown": "抱歉，我没有看出您问的是哪方面的医保政策，资料里也没有找到匹配的规定。"
    "可以换个说法再问一次（说明地区、险种会更准）。",
}
ASK_WHERE = "建议咨询：{advice}。"
WE_HAVE = "我这里有这些相关内容："
DID_YOU_MEAN = "您是不是想问："
RELATED = "您可能还想问："
PLACE_NOTE = "以下是{where}的规定，其他地区可能不同："
UNNAMED_PLACE_NOTE = "以下是资料中某一个省的“省医保”规定，资料没有写明是哪个省，不一定适用于您所在的地区："
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


def place_note(entry: Entry) -> str:
    """First line of an answer whose place the user did not name: whose rule this is."""
    if entry.is_unnamed_province:
        return UNNAMED_PLACE_NOTE
    return PLACE_NOTE.format(where=entry.where)


def answer_text(
    entry: Entry,
    user_region: str | None = None,
    estimate: list[str] | None = None,
    whose: bool = False,
) -> str:
    """The full reply for one entry: whose rule it is when the user named no place (`whose`),
    heading, answer, the estimate from the user's figures (when the entry has a formula and
    the question gave them), scope, date and caveat."""
    lines = [place_note(entry)] if whose else []
    lines += [f"【{entry.question}】", entry.answer.strip(), ""]
    if estimate:
        lines += [*estimate, ""]
    if user_region:
        lines.append(region_note(entry, user_region))
    lines += [scope_line(entry), source_line(entry)]
    return "\n".join(lines)


def decision_text_body(decision: Decision) -> str:
    """The answer part of an answer decision, without the list of suggestions."""
    assert decision.entry is not None
    user_region = decision.region if decision.region_note else None
    return answer_text(decision.entry, user_region, decision.estimate, whose=decision.place_note is not None)


def decision_text(decision: Decision) -> str:
    """Plain-text reply for a decision (buttons listed as numbered lines)."""
    if decision.kind == "smalltalk":
        return SMALLTALK.get(decision.smalltalk or "greeting", SMALLTALK["greeting"])
    if decision.kind == "answer" and decision.entry is not None:
        return _with_list(decision_text_body(decision), RELATED, [e.question for e in decision.related])
    if decision.kind == "clarify":
        prompt = CLARIFY_REGION if decision.slot == "region" else CLARIFY_SCHEME
        return _with_list(prompt, "", decision.options)
    return _with_list(
        not_found_text(decision), suggestions_title(decision), [e.question for e in decision.near]
    )


def decline_text(decision: Decision) -> str:
    """A decline as the bot sends it: why, then — when it offers entries as buttons — what
    they are (in Telegram the buttons follow the text)."""
    title = suggestions_title(decision)
    text = not_found_text(decision)
    return f"{text}\n\n{title}" if decision.near and title else text


def suggestions_title(decision: Decision) -> str:
    if decision.broad:
        return ""
    return DID_YOU_MEAN if decision.decline == "unknown" else WE_HAVE


def not_found_text(decision: Decision) -> str:
    """Why there is no answer, honestly: what was understood, what our material lacks, and
    where to ask instead."""
    if decision.broad:
        return BROAD.format(topic=decision.broad)
    reading = decision.reading
    lines: list[str] = []
    if decision.out_of_scope:
        lines.append(OUT_OF_SCOPE.format(topic=decision.out_of_scope))
    else:
        parts = reading.parts() if reading is not None else []
        if parts and decision.decline != "unknown":
            lines.append(UNDERSTOOD.format(parts=" · ".join(parts)))
        lines.append(_reason(decision))
    if decision.advice:
        lines.append(ASK_WHERE.format(advice=decision.advice))
    elif decision.decline or decision.missing_region:
        lines.append(f"可拨打{HOTLINES}咨询。")
    return "\n".join(lines)


def _reason(decision: Decision) -> str:
    reading = decision.reading
    subject = "、".join(reading.subjects) if reading is not None and reading.subjects else "这个问题"
    if decision.decline is None and decision.missing_region:
        return MISSING_REGION.format(region=decision.missing_region)
    template = DECLINE.get(decision.decline or "low", DECLINE["low"])
    labels = [reading.labels.get(a, a) for a in reading.asks] if reading is not None else []
    return template.format(
        region=decision.missing_region or decision.region or "您所在地区",
        subject=subject,
        ask="".join(f"“{label}”" for label in labels) or "这一点",
        person="、".join(reading.persons) if reading is not None and reading.persons else "您这类人员",
        scheme=(reading.scheme if reading is not None else None) or decision.scheme or "这个险种",
        detail="、".join(decision.details) or "这一点",
    )


def _with_list(text: str, title: str, items: list[str]) -> str:
    if not items:
        return text
    lines = [text, ""] + ([title] if title else []) + [f"  [{i}] {item}" for i, item in enumerate(items, 1)]
    return "\n".join(lines)
