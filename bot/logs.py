"""Logging: one JSON object a line (LOG_FORMAT=json) or human-readable lines.

Every record made while an update is handled carries that update's id and a hashed user id
(`update_context`, set by the observing middleware), so the lines of one update can be found
without storing who asked. Personal numbers are masked in every record (bot/privacy.py), and
the bot never logs a question's text at INFO.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from bot.privacy import mask

USER_HASH_SALT = "yb-log"  # not a secret: it only keeps raw ids out of the logs


@dataclass(frozen=True, slots=True)
class UpdateContext:
    update_id: int
    user: str  # hash_user(id), or "" when the update has no user


update_context: contextvars.ContextVar[UpdateContext | None] = contextvars.ContextVar(
    "update_context", default=None
)


def hash_user(user_id: int) -> str:
    return hashlib.sha256(f"{USER_HASH_SALT}:{user_id}".encode()).hexdigest()[:12]


class ContextFilter(logging.Filter):
    """Adds update_id and user to each record, and masks personal numbers in its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = update_context.get()
        record.update_id = ctx.update_id if ctx is not None else None
        record.user = ctx.user if ctx is not None else None
        message = record.getMessage()
        masked, found = mask(message)
        if found:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("update_id", "user"):
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))[0]
        return json.dumps(line, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(where)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        update_id = getattr(record, "update_id", None)
        user = getattr(record, "user", None)
        record.where = f" [update {update_id} user {user}]" if update_id is not None else ""
        text = super().format(record)
        return mask(text)[0] if record.exc_info else text


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once for the process (replacing earlier handlers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else HumanFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
