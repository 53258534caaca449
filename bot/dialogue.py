"""The conversation logic, independent of Telegram: (text or button, who, where) → Reply.

The console chat, the Telegram handlers and the tests all enter here. The engine decides;
this module remembers (profile, pending clarification, context) and shapes the reply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bot.state import StateStore
from knowledge import present
from knowledge.engine import OTHER_REGION, Context, Decision, Engine
from knowledge.slots import scheme_of


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    action: str  # ask:<entry id> | pick:region:<value> | pick:scheme:<value>


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: list[Button] = field(default_factory=list)
    kind: str = "answer"  # answer | clarify | not_found | smalltalk | hint
    entry_id: str | None = None


class Dialogue:
    def __init__(self, engine: Engine, state: StateStore) -> None:
        self.engine = engine
        self.state = state

    # -- entry points ---------------------------------------------------------------------
    async def handle_text(self, user_id: int, chat_id: int, text: str) -> Reply:
        question = text.strip()
        if not question:
            return Reply(present.SMALLTALK["greeting"], kind="hint")
        pending = await self.state.get_pending(chat_id, user_id)
        if pending is not None:
            value = self._slot_value(pending["slot"], question)
            if value is not None:
                return await self._complete(user_id, chat_id, pending, value)
            await self.state.clear_pending(chat_id, user_id)
        profile = await self.state.get_profile(user_id)
        raw_ctx = await self.state.get_context(chat_id, user_id)
        context = Context(**raw_ctx) if raw_ctx else None
        decision = self.engine.decide(
            question, region=profile.get("region"), scheme=profile.get("scheme"), context=context
        )
        return await self._reply(user_id, chat_id, question, decision)

    async def handle_button(self, user_id: int, chat_id: int, action: str) -> Reply:
        kind, _, value = action.partition(":")
        if kind == "ask" and value in self.engine.kb.by_id:
            entry = self.engine.kb.by_id[value]
            profile = await self.state.get_profile(user_id)
            decision = self.engine.choose([entry], region=profile.get("region"))
            decision.context = Context(query=entry.question, entry_id=entry.id)
            return await self._reply(user_id, chat_id, entry.question, decision)
        if kind == "pick":
            slot, _, choice = value.partition(":")
            pending = await self.state.get_pending(chat_id, user_id)
            if pending is not None and pending["slot"] == slot:
                return await self._complete(user_id, chat_id, pending, choice)
        return Reply(present.SMALLTALK["greeting"], kind="hint")

    # -- helpers --------------------------------------------------------------------------
    def _slot_value(self, slot: str, text: str) -> str | None:
        """A typed reply to a clarification: a place (city → province) or a scheme."""
        if slot == "region":
            if text in (OTHER_REGION, "其他", "别的地方", "其它地区"):
                return OTHER_REGION
            place = self.engine.gazetteer.lookup(text) if len(text) <= 12 else None
            if place is None:
                found = self.engine.gazetteer.find(text) if len(text) <= 20 else []
                place = found[0].place if found else None
            return place.province if place is not None else None
        return scheme_of(text)

    async def _complete(self, user_id: int, chat_id: int, pending: dict[str, object], value: str) -> Reply:
        await self.state.clear_pending(chat_id, user_id)
        slot = str(pending["slot"])
        if value != OTHER_REGION:
            await self.state.update_profile(user_id, **{slot: value})
        waiting = [self.engine.kb.by_id[i] for i in pending["waiting"] if i in self.engine.kb.by_id]  # type: ignore[attr-defined]
        profile = await self.state.get_profile(user_id)
        region = value if slot == "region" else profile.get("region")
        scheme = value if slot == "scheme" else profile.get("scheme")
        decision = self.engine.choose(waiting, region=region, scheme=scheme)
        if decision.kind == "answer" and decision.entry is not None:
            decision.context = Context(
                query=str(pending.get("query", "")), region=region, entry_id=decision.entry.id
            )
        return await self._reply(user_id, chat_id, str(pending.get("question", "")), decision)

    async def _reply(self, user_id: int, chat_id: int, question: str, decision: Decision) -> Reply:
        if decision.context is not None and decision.kind in ("answer", "clarify"):
            await self.state.set_context(chat_id, user_id, asdict(decision.context))
        if decision.kind == "answer" and decision.entry is not None:
            buttons = [Button(e.question, f"ask:{e.id}") for e in decision.related]
            return Reply(present.decision_text_body(decision), buttons, "answer", decision.entry.id)
        if decision.kind == "clarify":
            await self.state.set_pending(
                chat_id,
                user_id,
                {
                    "slot": decision.slot,
                    "waiting": [e.id for e in decision.waiting],
                    "question": question,
                    "query": decision.context.query if decision.context else "",
                },
            )
            buttons = [Button(o, f"pick:{decision.slot}:{o}") for o in decision.options]
            prompt = present.CLARIFY_REGION if decision.slot == "region" else present.CLARIFY_SCHEME
            return Reply(prompt, buttons, "clarify")
        if decision.kind == "smalltalk":
            return Reply(present.decision_text(decision), kind="smalltalk")
        await self.state.record_unanswered(question)
        buttons = [Button(e.question, f"ask:{e.id}") for e in decision.near]
        return Reply(present.NOT_FOUND, buttons, "not_found")
