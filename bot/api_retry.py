"""Retrying Bot API calls that failed for reasons that pass: an aiogram session middleware.

aiogram raises and does not retry (aiogram/client/session/base.py): a 5xx becomes
`TelegramServerError`, a timeout or broken connection `TelegramNetworkError`, a 429
`TelegramRetryAfter`. This middleware retries the first two with exponential backoff and
jitter, a bounded number of times, and waits out one 429 of an ordinary call (capped); what
still fails is raised to the caller (and counted). getUpdates is left alone: aiogram's polling
loop has its own backoff. The broadcaster sends through a Bot of its own without this
middleware: it paces and retries itself.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.metrics import Metrics

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)


def error_kind(error: BaseException) -> str:
    """A short label for metrics: server, network, retry_after, forbidden, bad_request, other."""
    for kind, types in (
        ("retry_after", TelegramRetryAfter),
        ("server", TelegramServerError),
        ("network", TelegramNetworkError),
        ("forbidden", TelegramForbiddenError),
        ("bad_request", TelegramBadRequest),
    ):
        if isinstance(error, types):
            return kind
    return "other"


class RetryMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        attempts: int = 4,  # in all, the first one included
        base_delay: float = 0.25,
        max_delay: float = 4.0,
        max_retry_after: float = 30.0,  # a longer 429 wait is not worth holding a reply for
        metrics: Metrics | None = None,
    ) -> None:
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.metrics = metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == GetUpdates.__api_method__:
            return await make_request(bot, method)
        attempt, waited_retry_after = 1, False
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                self._count("api_errors", error)
                if waited_retry_after or error.retry_after > self.max_retry_after:
                    raise
                waited_retry_after = True
                delay: float = error.retry_after
            except (TelegramServerError, TelegramNetworkError) as error:
                self._count("api_errors", error)
                if attempt >= self.attempts:
                    log.warning("Bot API %s failed %d times: %s", method.__api_method__, attempt, error)
                    raise
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                attempt += 1
            except Exception as error:
                self._count("api_errors", error)
                raise
            self._count("api_retries", None, method.__api_method__)
            await asyncio.sleep(delay)

    def _count(self, which: str, error: BaseException | None, method: str = "") -> None:
        if self.metrics is None:
            return
        if which == "api_errors" and error is not None:
            self.metrics.api_errors.labels(error_kind(error)).inc()
        elif which == "api_retries":
            self.metrics.api_retries.labels(method).inc()
