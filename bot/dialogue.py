"""The conversation logic, independent of Telegram: (text or button, who, where) → Reply.

The console chat, the Telegram handlers and the tests all enter here. The engine decides;
this module remembers (profile, pending clarification, context, group settings), records
what operators need (unanswered questions, feedback, counters) and shapes the reply.
Buttons carry an `action` string; the handlers turn it into callback data and back.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bot import privacy, texts
from bot.metrics import Metrics
from bot.state import (
    ALL_UPDATES,
    REPLY_KEPT,
    UNANSWERED_MAX_LEN,
    UPDATES_KEPT,
    VOTES,
    StateStore,
    Turn,
    TurnResult,
    Unanswered,
)
from bot.updates import engine_with_updates
from knowledge import present
from knowledge.engine import OTHER_REGION, Context, Decision, Engine
from knowledge.reading import unanswered_key
from knowledge.schema import NATIONWIDE
from knowledge.slots import EMPLOYEE, RESIDENT, scheme_of

MAX_QUESTION = 2000  # characters of a message read as a question (a question is short; a paste is not)
log = logging.getLogger(__name__)
SCHEME_WORDS = {"职工": EMPLOYEE, "职工医保": EMPLOYEE, "居民": RESIDENT, "城乡居民医保": RESIDENT}


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    # ask:<entry id> | pick:<slot>:<value> | vote:<up|down>:<entry id>
    # | setregion:<province> | setscheme:<scheme>
    action: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)  # rows of buttons
    kind: str = "answer"  # answer | clarify | not_found | topics | smalltalk | hint | info | alert
    entry_id: str | None = None

    @property
    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]


@dataclass(frozen=True, slots=True)
class Who:
    """Who is asking, and where."""

    user_id: int
    chat_id: int
    group: bool = False


class Dialogue:
    def __init__(self, engine: Engine, state: StateStore, metrics: Metrics | None = None) -> None:
        self.base_engine = engine  # the curated knowledge base alone
        self.engine = engine  # plus published policy updates (see refresh_updates)
        self.state = state
        self.metrics = metrics

    async def refresh_updates(self) -> None:
        """Index the published updates next to the curated entries (after start and each publish)."""
        updates = await self.state.recent_updates(UPDATES_KEPT)
        self.engine = await asyncio.to_thread(engine_with_updates, self.base_engine, updates)

    async def set_knowledge(self, engine: Engine) -> None:
        """A reloaded knowledge base; published updates stay indexed."""
        self.base_engine = engine
        await self.refresh_updates()

    # -- questions ------------------------------------------------------------------------
    async def handle_text(self, who: Who, text: str) -> Reply:
        # ID-card and card numbers are never read, kept or logged (bot/privacy.py)
        question, personal = privacy.mask(text.strip()[:MAX_QUESTION])
        if not question:
            return Reply(texts.ASK_USAGE if who.group else texts.HELP, kind="hint")
        turn = await self.state.load_turn(who.chat_id, who.user_id, who.group)
        reply = await self._answer_text(who, question, turn)
        if self.metrics is not None:
            self.metrics.decisions.labels(reply.kind).inc()
        # what was decided, never what was asked (the log context adds update and hashed user)
        log.info("question: %s%s", reply.kind, f" {reply.entry_id}" if reply.entry_id else "")
        if turn.degraded:  # said once, in this reply: its answer did not use what was saved
            reply = replace(reply, text=f"{reply.text}\n\n{texts.STATE_UNREADABLE}")
        if personal:
            if self.metrics is not None:
                self.metrics.personal_data.inc()
            reply = replace(reply, text=f"{texts.PERSONAL_DATA_WARNING}\n\n{reply.text}")
        return reply

    async def _answer_text(self, who: Who, question: str, turn: Turn) -> Reply:
        if turn.pending is not None:
            value = self._slot_value(str(turn.pending["slot"]), question)
            if value is not None:
                return await self._complete(who, turn.pending, value)
            await self.state.clear_pending(who.chat_id, who.user_id)
        region, scheme = self._slots_of(turn)
        context = Context.from_dict(turn.context) if turn.context else None
        decision = self.engine.decide(question, region=region, scheme=scheme, context=context)
        same = decision.entry is not None and context is not None and decision.entry.id == context.entry_id
        place_only = decision.followup and same and not decision.estimate and self._names_a_place(question)
        if place_only and decision.entry is not None and decision.entry.is_nationwide:
            # "北京呢" after a nationwide answer: say it applies there too, do not repeat it
            where = decision.region or question
            return Reply(
                texts.SAME_NATIONWIDE.format(where=where, question=decision.entry.question), kind="info"
            )
        return await self._reply(who, question, decision)

    async def handle_button(self, who: Who, action: str) -> Reply:
        kind, _, rest = action.partition(":")
        if kind == "ask":
            entry = self.engine.kb.by_id.get(rest)
            if entry is None:
                return Reply(texts.CLARIFY_EXPIRED, kind="alert")
            region, _scheme = await self._known_slots(who)
            return await self._reply(who, entry.question, self.engine.answer_entry(entry, region))
        if kind == "pick":
            slot, _, choice = rest.partition(":")
            pending = await self.state.get_pending(who.chat_id, who.user_id)
            if pending is None or pending["slot"] != slot:
                return Reply(texts.CLARIFY_EXPIRED, kind="alert")
            return await self._complete(who, pending, choice)
        if kind == "vote":
            vote, _, entry_id = rest.partition(":")
            if vote not in VOTES or entry_id not in self.engine.kb.by_id:
                return Reply(texts.CLARIFY_EXPIRED, kind="alert")
            # the question that led to the answer, and the reply shown (for operators' review)
            last = (await self.state.load_turn(who.chat_id, who.user_id, False)).context or {}
            asked = last.get("entry_id") == entry_id
            question = str(last.get("question", "")) if asked else ""
            shown = str(last.get("reply", "")) if asked else ""
            await self.state.record_feedback(entry_id, who.user_id, vote, question, shown)
            await self.state.incr_stat(f"feedback_{vote}")
            if self.metrics is not None:
                self.metrics.feedback.labels(vote).inc()
            return Reply(texts.VOTE_THANKS, kind="alert")
        if kind == "setregion":
            return await self.set_region(who, rest)
        if kind == "setscheme":
            return await self.set_scheme(who, rest)
        return Reply(texts.CLARIFY_EXPIRED, kind="alert")

    # -- commands -------------------------------------------------------------------------
    async def private_command(self, who: Who, command: str, arg: str = "") -> Reply | None:
        """A command as typed in a private chat ("/region 太原"), for the console chat; None
        when it is not one. (In Telegram, handlers/commands.py adds the group rules.)"""
        name = command.removeprefix("/").partition("@")[0]
        arg = arg.strip()
        if name == "start":
            return self.start()
        if name == "help":
            return self.help()
        if name == "region":
            return await self.set_region(who, arg) if arg else self.region_menu()
        if name == "scheme":
            return await self.set_scheme(who, arg) if arg else self.scheme_menu()
        if name == "me":
            return await self.me(who)
        if name == "reset":
            return await self.reset(who)
        if name == "subscribe":
            return await self.subscribe(who, arg)
        if name == "unsubscribe":
            return await self.unsubscribe(who)
        if name == "updates":
            return await self.updates(who)
        if name == "ask":
            return await self.handle_text(who, arg)
        return None

    def start(self) -> Reply:
        examples = [self.engine.kb.by_id[i] for i in texts.START_EXAMPLES if i in self.engine.kb.by_id]
        return Reply(texts.WELCOME, [[Button(e.question, f"ask:{e.id}")] for e in examples], "info")

    def help(self) -> Reply:
        return Reply(texts.HELP, kind="info")

    def region_menu(self) -> Reply:
        regions = sorted({r for e in self.engine.kb.entries for r in e.regions if r != NATIONWIDE})
        buttons = [Button(r, f"setregion:{r}") for r in regions]
        rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
        rows.append([Button(OTHER_REGION, f"setregion:{OTHER_REGION}")])
        return Reply(texts.REGION_PROMPT, rows, "info")

    def resolve_region(self, text: str) -> tuple[str | None, str | None]:
        """(province, None) or (None, message explaining why the name did not resolve)."""
        name = text.strip()
        if name in (OTHER_REGION, "其他", "其它"):
            return OTHER_REGION, None
        place = self.engine.gazetteer.lookup(name)
        if place is not None:
            return place.province, None
        provinces = sorted({p.province for p in self.engine.gazetteer.candidates(name)})
        if len(provinces) > 1:
            example = f"{provinces[0]}{name}"
            return None, texts.REGION_AMBIGUOUS.format(
                text=name, provinces="、".join(provinces), example=example
            )
        return None, texts.REGION_UNKNOWN.format(text=name)

    async def set_region(self, who: Who, text: str, *, for_group: bool = False) -> Reply:
        region, problem = self.resolve_region(text)
        if region is None:
            return Reply(problem or texts.REGION_UNKNOWN.format(text=text), kind="info")
        if for_group:
            await self.state.update_group(who.chat_id, region=region)
            return Reply(texts.GROUP_REGION_SET.format(region=region), kind="info")
        if region == OTHER_REGION:
            await self.state.clear_profile(who.user_id, "region")
            return Reply(texts.REGION_CLEARED, kind="info")
        await self.state.update_profile(who.user_id, region=region)
        return Reply(texts.REGION_SET.format(region=region), kind="info")

    def scheme_menu(self) -> Reply:
        row = [Button(EMPLOYEE, f"setscheme:{EMPLOYEE}"), Button(RESIDENT, f"setscheme:{RESIDENT}")]
        return Reply(texts.SCHEME_PROMPT, [row], "info")

    async def set_scheme(self, who: Who, text: str) -> Reply:
        scheme = SCHEME_WORDS.get(text.strip()) or scheme_of(text)
        if scheme is None:
            return Reply(texts.SCHEME_UNKNOWN, kind="info")
        await self.state.update_profile(who.user_id, scheme=scheme)
        return Reply(texts.SCHEME_SET.format(scheme=scheme), kind="info")

    async def me(self, who: Who) -> Reply:
        profile = await self.state.get_profile(who.user_id)
        subs = await self.state.subscriptions(who.chat_id)
        text = texts.ME.format(
            region=profile.get("region", texts.ME_NOTHING), scheme=profile.get("scheme", texts.ME_NOTHING)
        )
        if who.group:
            group = await self.state.get_group(who.chat_id)
            text += "\n" + texts.ME_GROUP_REGION.format(region=group.get("region", texts.ME_NOTHING))
        text += "\n" + texts.ME_SUBSCRIPTIONS.format(subs="、".join(subs) if subs else texts.ME_NOTHING)
        return Reply(text, kind="info")

    # -- policy updates -------------------------------------------------------------------
    async def subscribe(self, who: Who, text: str = "") -> Reply:
        if not text.strip():
            await self.state.subscribe(who.chat_id, None)
            return Reply(texts.SUBSCRIBED_ALL, kind="info")
        region, problem = self.resolve_region(text)
        if region is None or region == OTHER_REGION:
            return Reply(problem or texts.REGION_UNKNOWN.format(text=text.strip()), kind="info")
        await self.state.subscribe(who.chat_id, region)
        return Reply(texts.SUBSCRIBED_REGION.format(region=region), kind="info")

    async def unsubscribe(self, who: Who) -> Reply:
        if not await self.state.subscriptions(who.chat_id):
            return Reply(texts.NOT_SUBSCRIBED, kind="info")
        await self.state.unsubscribe(who.chat_id)
        return Reply(texts.UNSUBSCRIBED, kind="info")

    async def updates(self, who: Who, limit: int = 5) -> Reply:
        """Latest updates relevant to this chat: nationwide ones and its regions' (all when none known)."""
        region, _scheme = await self._known_slots(who)
        regions = {s for s in await self.state.subscriptions(who.chat_id) if s != ALL_UPDATES}
        if region:
            regions.add(region)
        relevant = [
            u
            for u in await self.state.recent_updates(UPDATES_KEPT)
            if not regions or u.get("region") in (None, *regions)
        ][:limit]
        if not relevant:
            return Reply(texts.UPDATES_NONE, kind="info")
        lines = [texts.UPDATES_HEADER] + [
            texts.UPDATE_LINE.format(date=u["date"], where=u.get("region") or NATIONWIDE, text=u["text"])
            for u in relevant
        ]
        return Reply("\n\n".join(lines), kind="info")

    async def reset(self, who: Who) -> Reply:
        await self.state.clear_profile(who.user_id)
        await self.state.clear_pending(who.chat_id, who.user_id)
        await self.state.clear_context(who.chat_id, who.user_id)
        return Reply(texts.RESET_DONE, kind="info")

    async def stats(self) -> Reply:
        counters = await self.state.get_stats()
        unanswered = await self.state.top_unanswered(10)
        feedback = await self.state.feedback_summary(10)
        return Reply(
            texts.STATS.format(
                counters="\n".join(f"{k}: {v}" for k, v in sorted(counters.items())) or texts.STATS_EMPTY,
                unanswered="\n".join(
                    texts.STATS_UNANSWERED.format(count=g.count, key=g.key, example=g.examples[0])
                    for g in unanswered
                )
                or texts.STATS_EMPTY,
                feedback="\n".join(f"{e}: {up}/{down}" for e, up, down in feedback) or texts.STATS_EMPTY,
            ),
            kind="info",
        )

    # -- helpers --------------------------------------------------------------------------
    def _names_a_place(self, text: str) -> bool:
        return bool(self.engine.gazetteer.find(text))

    async def _known_slots(self, who: Who) -> tuple[str | None, str | None]:
        return self._slots_of(await self.state.load_turn(who.chat_id, who.user_id, who.group))

    @staticmethod
    def _slots_of(turn: Turn) -> tuple[str | None, str | None]:
        """The user's own region, else the group's default; the user's scheme."""
        region = turn.profile.get("region") or turn.group.get("region")
        return region, turn.profile.get("scheme")

    def _slot_value(self, slot: str, text: str) -> str | None:
        """A typed reply to a clarification: a place (city → province) or a scheme."""
        if slot == "region":
            if text in (OTHER_REGION, "其他", "其它", "别的地方", "其它地区"):
                return OTHER_REGION
            place = self.engine.gazetteer.lookup(text) if len(text) <= 12 else None
            if place is None and len(text) <= 20:
                found = self.engine.gazetteer.find(text)
                place = found[0].place if found else None
            return place.province if place is not None else None
        return SCHEME_WORDS.get(text) or scheme_of(text)

    async def _complete(self, who: Who, pending: dict[str, Any], value: str) -> Reply:
        await self.state.clear_pending(who.chat_id, who.user_id)
        slot = str(pending["slot"])
        if value != OTHER_REGION:
            await self.state.update_profile(who.user_id, **{slot: value})
        waiting = [self.engine.kb.by_id[i] for i in pending["waiting"] if i in self.engine.kb.by_id]
        region, scheme = await self._known_slots(who)
        if slot == "region":
            region = value
        else:
            scheme = value
        decision = self.engine.choose(waiting, region=region, scheme=scheme)
        if decision.kind == "answer" and decision.entry is not None:
            query = str(pending.get("query", ""))
            decision.context = Context(query=query, region=decision.region, entry_id=decision.entry.id)
            return await self._reply(who, str(pending.get("question", "")), decision)
        # nothing for that choice: say so and offer what there is
        await self.state.incr_stat("not_found")
        if value == OTHER_REGION:
            prefix = texts.OTHER_REGION_NOTHING
        else:
            prefix = present.MISSING_REGION.format(region=value)
        rows = [[Button(e.question, f"ask:{e.id}")] for e in decision.near]
        return Reply(prefix, rows, "not_found")

    async def _reply(self, who: Who, question: str, decision: Decision) -> Reply:
        context = None
        if decision.context is not None and decision.kind in ("answer", "clarify"):
            context = asdict(decision.context)
        reading = decision.reading
        subjects = tuple(dict.fromkeys((*reading.subjects, *reading.outside))) if reading else ()
        if decision.kind == "answer" and decision.entry is not None:
            entry = decision.entry
            text = present.decision_text_body(decision)
            if context is not None:  # kept with a vote on this answer (Dialogue.handle_button)
                context.update(question=question[:UNANSWERED_MAX_LEN], reply=text[:REPLY_KEPT])
            await self.state.save_turn(
                who.chat_id, who.user_id, TurnResult("answered", context, subjects=subjects)
            )
            rows = [[Button(e.question, f"ask:{e.id}")] for e in decision.related]
            rows.append(
                [
                    Button(texts.BUTTON_UP, f"vote:up:{entry.id}"),
                    Button(texts.BUTTON_DOWN, f"vote:down:{entry.id}"),
                ]
            )
            return Reply(text, rows, "answer", entry.id)
        if decision.kind == "clarify":
            pending = {
                "slot": decision.slot,
                "waiting": [e.id for e in decision.waiting],
                "question": question,
                "query": decision.context.query if decision.context else "",
            }
            await self.state.save_turn(
                who.chat_id, who.user_id, TurnResult("clarified", context, pending, subjects=subjects)
            )
            buttons = [Button(o, f"pick:{decision.slot}:{o}") for o in decision.options]
            rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
            prompt = present.CLARIFY_REGION if decision.slot == "region" else present.CLARIFY_SCHEME
            return Reply(prompt, rows, "clarify")
        if decision.kind == "smalltalk":
            return Reply(present.decision_text(decision), kind="smalltalk")
        rows = [[Button(e.question, f"ask:{e.id}")] for e in decision.near]
        if decision.broad:
            # a broad question ("医保") was understood: nothing for operators to review
            await self.state.save_turn(who.chat_id, who.user_id, TurnResult("broad", subjects=subjects))
            return Reply(present.decline_text(decision), rows, "topics")
        key = reading.key if reading is not None else unanswered_key((), (), ())
        if self.metrics is not None:
            self.metrics.declines.labels(decision.decline or "none").inc()
        text = present.decline_text(decision)
        unanswered = Unanswered(question, key, text)
        await self.state.save_turn(
            who.chat_id, who.user_id, TurnResult("not_found", unanswered=unanswered, subjects=subjects)
        )
        return Reply(text, rows, "not_found")
