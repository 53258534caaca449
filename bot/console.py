"""Local console chat: type a question, read the bot's answer. Used when BOT_TOKEN is unset.

Buttons are shown as numbered lines; typing the number presses the button.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot import texts
from bot.dialogue import Dialogue, Reply, Who
from bot.state import MemoryStore
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
    stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, knowledge_dir: str | None = None
) -> int:
    print(texts.CONSOLE_STATE_NOTE, file=stdout, flush=True)
    dialogue = Dialogue(load_engine(knowledge_dir), MemoryStore())
    print(texts.CONSOLE_BANNER, file=stdout, flush=True)
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
        elif text.startswith("/"):
            command, _, arg = text.partition(" ")
            reply = await dialogue.private_command(who, command, arg) or Reply(texts.HELP, kind="hint")
        else:
            reply = await dialogue.handle_text(who, text)
        print(format_reply(reply), file=stdout, flush=True)
        last = reply
