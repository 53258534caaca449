"""The bot's own web endpoints, in polling and webhook mode alike (on WEB_HOST:WEB_PORT):

- GET /healthz — the process is alive;
- GET /readyz — the knowledge base is loaded and, when REDIS_URL is set, Redis answers a PING;
  503 with the reason otherwise (a load balancer stops sending webhooks to this replica);
- GET /metrics — Prometheus exposition (bot/metrics.py).
(/health answers like /healthz, for the deploy examples of earlier versions.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import cast

from aiohttp import web
from redis.asyncio import Redis

from bot.dialogue import Dialogue
from bot.metrics import Metrics
from bot.redis_conn import OUTAGE_ERRORS

PING_TIMEOUT = 1.0
UNREACHABLE: tuple[type[Exception], ...] = (TimeoutError, *OUTAGE_ERRORS)
DIALOGUE: web.AppKey[Dialogue] = web.AppKey("dialogue", Dialogue)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)
REDIS: web.AppKey[Redis | None] = web.AppKey("redis")


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    dialogue = request.app[DIALOGUE]
    checks["knowledge"] = "ok" if len(dialogue.engine.kb) else "empty"
    redis = request.app[REDIS]
    if redis is not None:
        try:
            await asyncio.wait_for(cast("Awaitable[bool]", redis.ping()), PING_TIMEOUT)
            checks["redis"] = "ok"
        except UNREACHABLE as error:
            checks["redis"] = f"unreachable: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return web.json_response({"ready": ready, **checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": Metrics.content_type})


def add_routes(app: web.Application, dialogue: Dialogue, metrics_: Metrics, redis: Redis | None) -> None:
    app[DIALOGUE] = dialogue
    app[METRICS] = metrics_
    app[REDIS] = redis
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/health", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
