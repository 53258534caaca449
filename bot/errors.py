"""What happens when a handler raises: the error is logged with the update id (the log
context carries it), counted, and the user gets a short apology; other updates go on."""

from __future__ import annotations

import logging

from aiogram.types import ErrorEvent

from bot import texts
from bot.metrics import Metrics
from bot.resilient_store import StateUnavailable

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, metrics: Metrics) -> bool:
    error = event.exception
    update = event.update
    metrics.handler_errors.inc()
    if isinstance(error, StateUnavailable):
        log.warning("update %s: state store unavailable (%s)", update.update_id, error)
        text = texts.STATE_UNAVAILABLE
    else:
        log.error("update %s failed: %s", update.update_id, type(error).__name__, exc_info=error)
        text = texts.INTERNAL_ERROR
    try:
        if update.message is not None:
            await update.message.answer(text)
        elif update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
    except Exception as reply_error:  # the apology itself could not be sent (the API is down …)
        log.warning("update %s: could not send the apology: %s", update.update_id, reply_error)
    return True
