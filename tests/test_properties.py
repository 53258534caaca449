"""Property-based tests (issue #10, "Bad input"): arbitrary and hostile text through the
dialogue, the engine's normaliser and pipeline, the renderer and the callback data.

Whatever a user types or a client sends, no exception escapes; every message the bot would
send is Telegram HTML that parses (the stub Bot API's checker), shows the reply text exactly
(user text only escaped), is not empty and stays below Telegram's 4096-character limit
(counted, as Telegram does, in UTF-16 code units of the visible text); every button has a
text and callback data of at most 64 bytes that parses back to the same action.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot import privacy, texts
from bot.dialogue import MAX_QUESTION, SCHEME_WORDS, Dialogue, Reply, Who
from bot.render import TELEGRAM_LIMIT, render
from bot.state import MemoryStore
from handlers.callback_data import AskCB, BroadcastCB, PickCB, SetCB, VoteCB, pack_action
from handlers.replies import BUTTON_TEXT_MAX, keyboard
from knowledge import present
from knowledge.engine import OTHER_REGION, Decision, Engine
from knowledge.normalise import normalise
from knowledge.slots import EMPLOYEE, RESIDENT
from tests.stub_api import ApiError, visible_text

T = TypeVar("T")

# `engine` is the session-scoped fixture of conftest.py (built once); every example gets a
# fresh MemoryStore of its own, so nothing leaks from one example to the next.
FAST = settings(max_examples=120, deadline=None)
QUICK = settings(max_examples=250, deadline=None)

KINDS = {"answer", "clarify", "not_found", "topics", "smalltalk", "hint", "info", "alert"}
ALERT_LIMIT = 200  # answerCallbackQuery: the text of a toast or alert is 0-200 characters
ROW_LIMIT = 8  # Telegram: at most 8 buttons in a row, 100 in an inline keyboard
BUTTONS_LIMIT = 100
MAX_USER_ID = 2**52  # Telegram user ids have at most 52 significant bits
ID_NUMBER = "11010519491231002X"  # a resident ID number with a valid check character
CARD_NUMBER = "6222020200001234562"  # passes the Luhn check: read as a bank card number
FRAGMENTS = [
    "异地就医",
    "备案",
    "生育津贴",
    "山西",
    "太原",
    "北京",
    "芜湖",
    "职工医保",
    "城乡居民医保",
    "居民",
    "社保卡",
    "丢了",
    "怎么",
    "多少",
    "报销比例",
    "缴费基数",
    "产假",
    "一百五十八天",
    "呢",
    "那",
    "你好",
    "谢谢",
    "醫保",
    "？",
    "，",
    " ",
    "\n",
    "\t",
    "<b>",
    "</b>",
    "<i>",
    "</i>",
    "<script>",
    "<a href='x'>",
    "&amp;",
    "&lt;",
    "&",
    "&#0;",
    "<!--",
    "\x00",
    "\x1b",
    "\u202e",
    "\u200b",
    "\ufeff",
    "😀",
    "👨‍👩‍👧",
    "🇨🇳",
    "12393",
    "5000元",
    "30%",
    ID_NUMBER,
    CARD_NUMBER,
    ":",
    "ask:",
    "pick:region:",
    OTHER_REGION,
]
# st.text() never draws surrogates (category Cs): a str with one cannot come from Telegram.
NOISE = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
POLICY_TEXT = st.lists(st.one_of(st.sampled_from(FRAGMENTS), NOISE), max_size=25).map("".join)
TEXT = st.one_of(NOISE, POLICY_TEXT, st.text(max_size=300))
_RANDOM = random.Random(10)
# 100 KB inputs, as pytest parameters: hypothesis would print them whole on a failure
HUGE = {
    "cjk": "啊" * 100_000,
    "lt": "<" * 100_000,
    "amp": "&" * 100_000,
    "emoji": "😀" * 50_000,
    "question-and-markup": "山西异地就医怎么备案<script>" * 5_000,
    "blank-line-at-cut": "a" * 3_999 + "\n \n" + "b" * 4_000,
    # any code point but surrogates, the same every run
    "random": "".join(
        chr(_RANDOM.choice([_RANDOM.randrange(0xD800), _RANDOM.randrange(0xE000, 0x30000)]))
        for _ in range(100_000)
    ),
}
huge = pytest.mark.parametrize("text", list(HUGE.values()), ids=list(HUGE))
WHO = st.builds(
    Who,
    user_id=st.integers(1, MAX_USER_ID),
    chat_id=st.integers(-(10**13), MAX_USER_ID),
    group=st.booleans(),
)
COMMANDS = ["start", "help", "region", "scheme", "me", "reset", "subscribe", "unsubscribe", "updates", "ask"]
COMMAND = st.one_of(
    st.sampled_from(COMMANDS),
    st.sampled_from(COMMANDS).map(lambda c: f"/{c}"),
    st.sampled_from(COMMANDS).map(lambda c: f"/{c}@yibao_bot"),
    NOISE,
)
ACTION_KINDS = ["ask", "pick", "vote", "setregion", "setscheme", "bc", ""]
ACTION = st.one_of(
    NOISE,
    st.tuples(st.sampled_from(ACTION_KINDS), TEXT).map(":".join),
    st.tuples(st.sampled_from(["pick:region", "pick:scheme", "vote:up", "vote:down"]), TEXT).map(":".join),
)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """One example's coroutine on a fresh event loop (hypothesis calls the test synchronously)."""
    return asyncio.run(coro)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def unpack_action(data: str, asker_id: int) -> str:
    """Callback data back to the dialogue's action, as handlers/callbacks.py does it."""
    classes: list[type[CallbackData]] = [AskCB, PickCB, VoteCB, SetCB, BroadcastCB]
    parsed = []
    for cls in classes:
        try:
            parsed.append(cls.unpack(data))
        except (TypeError, ValueError):
            continue
    assert len(parsed) == 1, f"{data!r} parses as {parsed}"
    cb = parsed[0]
    if isinstance(cb, AskCB):
        return f"ask:{cb.entry}"
    if isinstance(cb, VoteCB):
        return f"vote:{cb.vote}:{cb.entry}"
    if isinstance(cb, BroadcastCB):
        return f"bc:{cb.action}:{cb.preview}"
    assert isinstance(cb, PickCB | SetCB)
    assert cb.uid == asker_id  # only the asker may answer: the id must survive packing
    if isinstance(cb, PickCB):
        return f"pick:{cb.slot}:{cb.value}"
    return f"set{cb.field}:{cb.value}"


def check_message(piece: str) -> str:
    """One message as sendMessage gets it (parse_mode HTML): its visible text."""
    try:
        shown = visible_text(piece, "HTML")
    except ApiError as error:
        pytest.fail(f"{error.description}: {piece[:200]!r}")
    assert shown.strip(), f"empty message {piece[:200]!r}"
    assert utf16_len(shown) < TELEGRAM_LIMIT, f"message of {utf16_len(shown)} UTF-16 units"
    # the only markup is the bold heading we add; every "<" of the text itself is escaped
    assert "<" not in piece.replace("<b>", "").replace("</b>", ""), piece[:200]
    return shown


def _ink(text: str) -> str:
    """The text without its whitespace (splitting drops the line breaks it cuts at, and pieces
    of nothing but spaces; Telegram trims every message anyway)."""
    return "".join(text.split())


def check_text(text: str) -> None:
    """The messages a reply text is sent as: valid, not too long, and together showing exactly
    the text."""
    pieces = render(text)
    assert pieces
    shown = [check_message(piece) for piece in pieces]
    assert _ink("".join(shown)) == _ink(text)


def check_buttons(reply: Reply, asker_id: int) -> None:
    markup = keyboard(reply, asker_id)
    if not reply.buttons:
        assert markup is None
        return
    assert markup is not None
    assert all(0 < len(row) <= ROW_LIMIT for row in markup.inline_keyboard)
    assert sum(len(row) for row in markup.inline_keyboard) <= BUTTONS_LIMIT
    sent = [b for row in markup.inline_keyboard for b in row]
    for button, sent_button in zip(reply.flat_buttons, sent, strict=True):
        assert button.text.strip() and sent_button.text.strip()
        assert len(sent_button.text) <= BUTTON_TEXT_MAX
        data = sent_button.callback_data
        assert data is not None and len(data.encode()) <= MAX_CALLBACK_LENGTH
        assert unpack_action(data, asker_id) == button.action


def check_reply(reply: Reply, asker_id: int) -> None:
    assert reply.kind in KINDS
    if reply.kind == "alert":  # shown as a toast or alert on the button, as plain text
        assert 0 < len(reply.text) <= ALERT_LIMIT
        assert not reply.buttons
    check_text(reply.text)
    check_buttons(reply, asker_id)


# -- the dialogue ---------------------------------------------------------------------------
@settings(FAST)
@given(who=WHO, text=TEXT)
@example(who=Who(1, 1), text="山西异地就医怎么备案<script>alert(1)</script>")
@example(who=Who(1, 1), text=f"我的身份证号是{ID_NUMBER}，卡号{CARD_NUMBER}，生育津贴多少")
@example(who=Who(1, -100, group=True), text="   ")
@example(who=Who(1, 1), text="\x00\u202e<b>&amp;</i>")
def test_any_question_gets_a_sendable_reply(engine: Engine, who: Who, text: str) -> None:
    async def scenario() -> None:
        store = MemoryStore()
        reply = await Dialogue(engine, store).handle_text(who, text)
        check_reply(reply, who.user_id)
        read = text.strip()[:MAX_QUESTION]
        if privacy.mask(read)[1]:
            assert texts.PERSONAL_DATA_WARNING in reply.text
        for number in (ID_NUMBER, CARD_NUMBER):
            if re.search(rf"(?<![0-9A-Za-z]){number}(?![0-9A-Za-z])", read):
                # a personal number on its own: a warning, never echoed, never kept
                assert texts.PERSONAL_DATA_WARNING in reply.text
                assert number not in reply.text
                kept = [q for g in await store.top_unanswered(100) for q in g.examples]
                assert not any(number in q for q in kept)

    run(scenario())


@huge
def test_huge_question_gets_a_sendable_reply(engine: Engine, text: str) -> None:
    reply = run(Dialogue(engine, MemoryStore()).handle_text(Who(1, 1), text))
    check_reply(reply, 1)


# One step of a conversation: a message, a press on one of the last reply's buttons (or on
# anything at all when it has none), a forged action, or a command.
STEP = st.one_of(
    st.tuples(st.just("text"), TEXT),
    st.tuples(st.just("press"), st.integers(0, 20)),
    st.tuples(st.just("action"), ACTION),
    st.tuples(st.just("command"), st.tuples(COMMAND, TEXT)),
)
# questions that lead to a clarification, an answer with buttons, a follow-up, a topics list
OPENERS = st.sampled_from(["医保缴费基数是多少", "社保卡挂失了还能看病吗", "生育津贴", "北京呢", "你好"])


@settings(FAST)
@given(who=WHO, opener=OPENERS, steps=st.lists(STEP, min_size=1, max_size=6))
def test_any_conversation_gets_sendable_replies(
    engine: Engine, who: Who, opener: str, steps: list[tuple[str, Any]]
) -> None:
    async def scenario() -> None:
        dialogue = Dialogue(engine, MemoryStore())
        last = await dialogue.handle_text(who, opener)
        check_reply(last, who.user_id)
        for kind, value in steps:
            reply: Reply | None
            if kind == "text":
                reply = await dialogue.handle_text(who, value)
            elif kind == "press" and last.flat_buttons:
                buttons = last.flat_buttons
                reply = await dialogue.handle_button(who, buttons[value % len(buttons)].action)
            elif kind == "press":
                reply = await dialogue.handle_button(who, f"pick:region:{value}")
            elif kind == "action":
                reply = await dialogue.handle_button(who, value)
            else:
                reply = await dialogue.private_command(who, *value)
            if reply is None:  # not a command: nothing is sent
                continue
            check_reply(reply, who.user_id)
            if reply.kind != "alert":
                last = reply
        # what the operators see of it (/stats: unanswered questions are user text)
        check_reply(await dialogue.stats(), who.user_id)

    run(scenario())


@settings(QUICK)
@given(who=WHO, action=ACTION, pending=st.booleans())
@example(who=Who(1, 1), action="pick:region:<b>x</b>&", pending=True)
@example(who=Who(1, 1), action="pick:scheme:" + "😀" * 30, pending=True)
@example(who=Who(1, 1), action="setregion:" + "<" * 60, pending=False)
@example(who=Who(1, 1), action="vote:up:", pending=False)
def test_any_button_action_gets_a_sendable_reply(
    engine: Engine, who: Who, action: str, pending: bool
) -> None:
    async def scenario() -> None:
        dialogue = Dialogue(engine, MemoryStore())
        if pending:  # a clarification waiting: pick:region:… reaches _complete with any value
            assert (await dialogue.handle_text(who, "医保缴费基数是多少")).kind == "clarify"
            if action.startswith("pick:scheme:"):
                await dialogue.state.set_pending(who.chat_id, who.user_id, {"slot": "scheme", "waiting": []})
        check_reply(await dialogue.handle_button(who, action), who.user_id)
        # whatever that stored in the profile, the next questions are answered
        check_reply(await dialogue.handle_text(who, "缴费基数怎么定的"), who.user_id)
        check_reply(await dialogue.handle_text(who, "异地就医怎么备案"), who.user_id)

    run(scenario())


@settings(QUICK)
@given(who=WHO, command=COMMAND, arg=TEXT)
@example(who=Who(1, 1), command="/region", arg="<script>" * 1_000)
@example(who=Who(1, 1), command="/region", arg="😀" * 2_100)  # a whole Telegram message of emoji
@example(who=Who(1, 1), command="/subscribe", arg="太原</b>")
@example(who=Who(1, -5, group=True), command="/me@yibao_bot", arg="")
def test_any_command_gets_a_sendable_reply(engine: Engine, who: Who, command: str, arg: str) -> None:
    reply = run(Dialogue(engine, MemoryStore()).private_command(who, command, arg))
    name = command.removeprefix("/").partition("@")[0]
    assert (reply is None) == (name not in COMMANDS)
    if reply is not None:
        check_reply(reply, who.user_id)


@huge
@pytest.mark.parametrize("command", ["region", "subscribe", "scheme", "ask"])
def test_huge_command_argument_gets_a_sendable_reply(engine: Engine, command: str, text: str) -> None:
    reply = run(Dialogue(engine, MemoryStore()).private_command(Who(1, 1), command, text))
    assert reply is not None
    check_reply(reply, 1)


# -- the renderer every reply goes through ----------------------------------------------------
@settings(QUICK)
@given(text=st.one_of(TEXT, st.text(min_size=3_900, max_size=9_000)).filter(str.strip))
@example(text="【标题<i>】\n正文 & <b>")
@example(text="😀" * 4_500)
@example(text="x\n" + " " * 8_000 + "\ny")
def test_render_shows_any_text_exactly(text: str) -> None:
    check_text(text)


@huge
def test_render_huge_text(text: str) -> None:
    check_text(text)


# -- the engine -------------------------------------------------------------------------------
_KEPT = re.compile(r"[0-9a-z%. \u3400-\u4dbf\u4e00-\u9fff]*")


# runs of Chinese numerals before a unit are turned into digits (cn2an), malformed ones too
NUMERAL_CHARS = "零〇一二两三四五六七八九十百千万亿" + "个天日月年元岁级次%点.负 "
NUMERALS = st.text(st.sampled_from(NUMERAL_CHARS), max_size=30)


@settings(QUICK)
@given(text=st.one_of(TEXT, NUMERALS, st.text()))
@example(text="醫保 一百五十八天 ＡＢＣ　５０００元 😀 \x00")
@example(text="十十天 九千千元 三万万岁 万三个月")
@example(text="İ ß ﬁ Ⅻ ㍿")
def test_normalise_output_is_canonical(text: str) -> None:
    norm = normalise(text)
    assert _KEPT.fullmatch(norm), norm
    assert norm == norm.strip() and "  " not in norm
    # (not idempotent: 百〇一% → 百 一% → 百 1%, the 〇 dropped only after the numerals are read)


REGIONS = st.one_of(st.none(), st.sampled_from(["山西", "北京", "安徽", "全国", "某省", OTHER_REGION]), NOISE)
SCHEMES = st.one_of(st.none(), st.sampled_from([EMPLOYEE, RESIDENT, *SCHEME_WORDS]), NOISE)


def check_decision(engine: Engine, decision: Decision) -> None:
    assert decision.kind in {"answer", "clarify", "not_found", "smalltalk"}
    shown = [decision.entry, *decision.related, *decision.near, *decision.waiting]
    assert all(e.id in engine.kb.by_id for e in shown if e is not None)
    if decision.kind == "answer":
        assert decision.entry is not None
    if decision.kind == "clarify":
        assert decision.slot in ("region", "scheme") and decision.options
    check_text(present.decision_text(decision))


@settings(QUICK)
@given(text=TEXT, region=REGIONS, scheme=SCHEMES, followup=TEXT)
@example(text="山西异地就医怎么备案", region=None, scheme=None, followup="北京呢")
@example(text="医保缴费基数是多少", region="<b>", scheme="居民", followup="那职工呢")
def test_engine_decides_any_text(
    engine: Engine, text: str, region: str | None, scheme: str | None, followup: str
) -> None:
    decision = engine.decide(text, region=region, scheme=scheme)
    check_decision(engine, decision)
    # the next message, read with what this one left as context
    check_decision(engine, engine.decide(followup, region=region, scheme=scheme, context=decision.context))


@pytest.mark.parametrize("text", [HUGE["cjk"], HUGE["lt"], HUGE["amp"]], ids=["cjk", "lt", "amp"])
def test_engine_decides_huge_text(engine: Engine, text: str) -> None:
    check_decision(engine, engine.decide(text))


# -- callback data ----------------------------------------------------------------------------
CALLBACK_CLASSES: list[type[CallbackData]] = [AskCB, PickCB, VoteCB, SetCB, BroadcastCB]
PART = st.one_of(
    NOISE,
    st.integers().map(str),
    st.sampled_from(["", "-1", "+1", " 1", "1_000", "１２", "1e3", "nan", "0x10", "9" * 5_000]),
)
CALLBACK = st.one_of(
    st.text(max_size=64),
    st.binary(max_size=64).map(lambda b: b.decode("utf-8", "replace")),
    st.text(min_size=65, max_size=500),
    st.tuples(st.sampled_from(["q", "p", "v", "s", "b", "", "qq"]), st.lists(PART, max_size=5)).map(
        lambda t: ":".join([t[0], *t[1]])
    ),
)


@settings(max_examples=300, deadline=None)
@given(data=CALLBACK)
@example(data="p:region:山西:" + "9" * 5_000)
@example(data="s:region:北京:-1")
@example(data="q:")
def test_any_callback_data_parses_or_is_refused(data: str) -> None:
    """What aiogram's filter catches (TypeError, ValueError) and nothing else; what parses
    packs back to data that parses to the same thing."""
    for cls in CALLBACK_CLASSES:
        try:
            parsed = cls.unpack(data)
        except (TypeError, ValueError):
            continue
        assert isinstance(parsed, cls)
        try:
            packed = parsed.pack()
        except ValueError:  # e.g. too long once the uid is written back in full
            continue
        assert cls.unpack(packed) == parsed


def emitted_actions(engine: Engine) -> list[str]:
    """Every button action the bot can put on a message (see bot/dialogue.py, admin_broadcast.py)."""
    entries = engine.kb.entries
    regions = [*sorted({r for e in entries for r in e.regions}), OTHER_REGION]
    return [
        *(f"ask:{e.id}" for e in entries),
        *(f"vote:{vote}:{e.id}" for e in entries for vote in ("up", "down")),
        *(f"pick:region:{r}" for r in regions),
        *(f"pick:scheme:{s}" for s in (EMPLOYEE, RESIDENT)),
        *(f"setregion:{r}" for r in regions),
        *(f"setscheme:{s}" for s in (EMPLOYEE, RESIDENT)),
        *(f"bc:{a}:{uuid.uuid4().hex[:12]}" for a in ("go", "no")),
    ]


@settings(max_examples=20, deadline=None)
@given(asker_id=st.integers(1, MAX_USER_ID))
@example(asker_id=MAX_USER_ID)
def test_every_emitted_action_packs_within_64_bytes_and_back(engine: Engine, asker_id: int) -> None:
    for action in emitted_actions(engine):
        data = pack_action(action, asker_id)
        assert len(data.encode()) <= MAX_CALLBACK_LENGTH, data
        assert unpack_action(data, asker_id) == action


def test_menus_and_welcome_are_sendable(engine: Engine) -> None:
    dialogue = Dialogue(engine, MemoryStore())
    for reply in (dialogue.start(), dialogue.help(), dialogue.region_menu(), dialogue.scheme_menu()):
        check_reply(reply, MAX_USER_ID)
