"""Callback data factories (short prefixes: Telegram allows 64 bytes) and the mapping from a
dialogue button's action string to callback data and back."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class AskCB(CallbackData, prefix="q"):
    """Answer an entry (related question, near miss, example)."""

    entry: str


class PickCB(CallbackData, prefix="p"):
    """Answer a clarification; `uid` is the asker (only they may answer in a group)."""

    slot: str
    value: str
    uid: int


class VoteCB(CallbackData, prefix="v"):
    vote: str
    entry: str


class SetCB(CallbackData, prefix="s"):
    """Set a profile field from the /region or /scheme menu."""

    field: str
    value: str
    uid: int


class BroadcastCB(CallbackData, prefix="b"):
    """Confirm (go) or cancel (no) a broadcast preview."""

    action: str
    preview: str


def pack_action(action: str, asker_id: int) -> str:
    kind, _, rest = action.partition(":")
    if kind == "ask":
        return AskCB(entry=rest).pack()
    if kind == "pick":
        slot, _, value = rest.partition(":")
        return PickCB(slot=slot, value=value, uid=asker_id).pack()
    if kind == "vote":
        vote, _, entry = rest.partition(":")
        return VoteCB(vote=vote, entry=entry).pack()
    if kind == "bc":
        action, _, preview = rest.partition(":")
        return BroadcastCB(action=action, preview=preview).pack()
    if kind in ("setregion", "setscheme"):
        return SetCB(field=kind.removeprefix("set"), value=rest, uid=asker_id).pack()
    raise ValueError(f"unknown button action {action!r}")
