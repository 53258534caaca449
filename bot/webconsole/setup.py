"""Mounts the operator console at /console on the bot's web app, behind its guard.

The guard lets through only the login link and static files; every other request needs a
live session of an admin (else the login hint, status 401, and no data), and every request that
changes something a CSRF token equal to the session's (form field `csrf` or header
X-CSRF-Token; else 403). Pages are sent with a strict Content-Security-Policy (scripts and
styles from the console's own files only), no caching and no Referer (the login link's token
never leaks to another site).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.redis_conn import OUTAGE_ERRORS
from bot.resilient_store import StateUnavailable
from bot.webconsole import views
from bot.webconsole.auth import COOKIE
from bot.webconsole.views import CONSOLE, SESSION, Console

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
OPEN_PATHS = ("/console/login",)
STORE_AWAY: tuple[type[Exception], ...] = (StateUnavailable, *OUTAGE_ERRORS)
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await _guarded(request, handler)
    response.headers.update(HEADERS)
    if not request.path.startswith("/console/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in OPEN_PATHS or request.path.startswith("/console/static/"):
        return await _handle(request, handler)
    console = request.app[CONSOLE]
    try:
        session = await console.auth.session(request.cookies.get(COOKIE))
    except STORE_AWAY:
        return _unavailable(request)
    if session is None:
        return aiohttp_jinja2.render_template(
            "login.html", request, {"reason": "", "nav": "login", "csrf": ""}, status=401
        )
    request[SESSION] = session
    if request.method not in ("GET", "HEAD"):
        form = await request.post()
        sent = str(form.get("csrf", "")) or request.headers.get("X-CSRF-Token", "")
        if not console.auth.csrf_ok(session, sent):
            log.warning("console: %s %s refused (CSRF token missing or wrong)", request.method, request.path)
            return aiohttp_jinja2.render_template(
                "message.html",
                request,
                {"message": "请求缺少有效的安全令牌（CSRF），请刷新页面后重试。", "nav": "", "csrf": ""},
                status=403,
            )
    return await _handle(request, handler)


async def _handle(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except STORE_AWAY:
        return _unavailable(request)


def _unavailable(request: web.Request) -> web.Response:
    context = {
        "message": "状态存储（Redis）暂时不可用，请稍后刷新。机器人仍在回答问题。",
        "nav": "",
        "csrf": "",
    }
    return aiohttp_jinja2.render_template("message.html", request, context, status=503)


def setup_console(app: web.Application, console: Console) -> web.Application:
    """Mount the console at /console on `app`; returns the console's sub-application."""
    sub = web.Application(middlewares=[guard])
    sub[CONSOLE] = console
    aiohttp_jinja2.setup(
        sub,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    routes = sub.router
    routes.add_get("/login", views.login)
    routes.add_post("/logout", views.logout)
    routes.add_get("/", views.home)
    routes.add_get("/unanswered", views.unanswered)
    routes.add_get("/group", views.group)
    routes.add_get("/entries", views.entries)
    routes.add_get("/entries.json", views.entries_json)
    routes.add_post("/alternate", views.alternate)
    routes.add_get("/entry/new", views.new_entry_form)
    routes.add_post("/entry/new", views.new_entry)
    routes.add_post("/outside", views.mark_outside)
    routes.add_post("/dismiss", views.dismiss)
    routes.add_get("/changes", views.changes)
    routes.add_post("/changes/{change_id:\\d+}/revert", views.revert)
    routes.add_get("/feedback", views.feedback)
    routes.add_get("/broadcasts", views.broadcasts)
    routes.add_static("/static", HERE / "static")
    app.add_subapp("/console", sub)
    return sub
