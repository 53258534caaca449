"""Local console chat: type a question, read the bot's answer. Used when BOT_TOKEN is unset.

Buttons are shown as numbered lines; typing the number presses the button.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import TextIO

from aiohttp import web

from bot import texts
from bot.changelog import create_changelog
from bot.dialogue import Dialogue, Reply, Who
from bot.knowledge_sync import KnowledgeSync
from bot.settings import Settings
from bot.state import MemoryStore
from bot.webconsole.auth import ConsoleAuth, console_secret
from bot.webconsole.setup import setup_console
from bot.webconsole.views import Console
from knowledge import present
from knowledge.engine import load_engine

CONSOLE_USER = 1
QUIT = {"/quit", "/exit", "quit", "exit", "退出"}


def format_reply(reply: Reply) -> str:
    lines = [reply.text]
    if reply.buttons:
        title = present.RELATED if reply.kind == "answer" else ""  # a decline says its own
        lines.append("")
        if title:
            lines.append(title)
        lines.extend(f"  [{i}] {b.text}" for i, b in enumerate(reply.flat_buttons, 1))
    return "\n".join(lines)


async def run_console(
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    knowledge_dir: str | None = None,
    settings: Settings | None = None,
) -> int:
    """The console chat; with `settings`, also the operator console on WEB_HOST:WEB_PORT (the
    person at the keyboard is its admin: /console prints a login link), with the operators'
    changes kept in CHANGES_FILE and applied as they are made."""
    print(texts.CONSOLE_STATE_NOTE, file=stdout, flush=True)
    store = MemoryStore()
    dialogue = Dialogue(load_engine(knowledge_dir), store)
    web_console = await _start_web_console(dialogue, settings, stdout) if settings is not None else None
    print(texts.CONSOLE_BANNER, file=stdout, flush=True)
    try:
        return await _chat(dialogue, stdin, stdout, web_console)
    finally:
        if web_console is not None:
            await web_console.stop()


@dataclass(slots=True)
class _WebConsole:
    sync: KnowledgeSync
    auth: ConsoleAuth
    runner: web.AppRunner

    async def stop(self) -> None:
        await self.sync.stop()
        await self.runner.cleanup()


async def _start_web_console(dialogue: Dialogue, settings: Settings, stdout: TextIO) -> _WebConsole | None:
    sync = KnowledgeSync(dialogue, create_changelog(settings, None), settings.knowledge_dir)
    await sync.refresh()
    sync.start()
    auth = ConsoleAuth(
        dialogue.state, console_secret(settings), settings.console_url, frozenset({CONSOLE_USER})
    )
    app = web.Application()
    setup_console(app, Console(sync, auth))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
    except OSError as error:  # the port is taken: the chat still works
        print(texts.CONSOLE_WEB_FAILED.format(error=error.strerror or error), file=stdout, flush=True)
        await sync.stop()
        await runner.cleanup()
        return None
    print(texts.CONSOLE_WEB.format(url=settings.console_url), file=stdout, flush=True)
    return _WebConsole(sync, auth, runner)


async def _chat(dialogue: Dialogue, stdin: TextIO, stdout: TextIO, web_console: _WebConsole | None) -> int:
    who = Who(CONSOLE_USER, CONSOLE_USER)
    last: Reply | None = None
    interactive = stdin.isatty()
    while True:
        if interactive:
            print("\n问> ", end="", file=stdout, flush=True)
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            return 0
        text = line.strip()
        if text in QUIT:
            return 0
        buttons = last.flat_buttons if last else []
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            reply = await dialogue.handle_button(who, buttons[int(text) - 1].action)
        elif text == "/console" and web_console is not None:
            link = await web_console.auth.login_link(CONSOLE_USER)
            reply = Reply(texts.CONSOLE_LINK.format(link=link), kind="info")
        elif text.startswith("/"):
            command, _, arg = text.partition(" ")
            reply = await dialogue.private_command(who, command, arg) or Reply(texts.HELP, kind="hint")
        else:
            reply = await dialogue.handle_text(who, text)
        print(format_reply(reply), file=stdout, flush=True)
        last = reply
