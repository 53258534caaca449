"""The console chat answers a typed question end to end, through `python -m bot`."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from bot import texts
from bot.console import run_console
from knowledge.paths import PACKAGE_DATA


def run_bot(stdin: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "REDIS_URL", "KNOWLEDGE_DIR"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        input=stdin,
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        check=False,
    )


def test_console_answers_a_question_with_date_and_caveat() -> None:
    result = run_bot("山西产假多少天\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "进程内存" in out.splitlines()[0]  # says which state store it uses
    assert "158" in out
    assert "资料日期：2025-03-16" in out
    assert "以当地医保部门最新规定为准" in out


def test_console_unknown_question_gives_hotline() -> None:
    result = run_bot("今天天气怎么样呀朋友们\n")
    assert result.returncode == 0, result.stderr
    assert "12393" in result.stdout


async def test_console_follows_a_suggestion_by_number() -> None:
    out = io.StringIO()
    await run_console(io.StringIO("男职工生育险报销比例是多少\n1\n"), out, str(PACKAGE_DATA))
    text = out.getvalue()
    assert "您可能还想问" in text
    _first, second = text.split("您可能还想问", 1)
    suggestion = second.splitlines()[1].split("] ", 1)[1]
    assert f"【{suggestion}】" in second  # pressing 1 answered the first suggested question


def test_console_flag_wins_over_bot_token() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--console"],
        input="谢谢\n",
        capture_output=True,
        text=True,
        env={**os.environ, "BOT_TOKEN": "123:abc"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "不客气" in result.stdout


def test_webhook_mode_needs_a_webhook_url() -> None:
    clean = {k: v for k, v in os.environ.items() if k not in {"WEBHOOK_URL", "REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--webhook"],
        capture_output=True,
        text=True,
        env={**clean, "BOT_TOKEN": "123:abc"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2  # a setting is wrong: systemd does not restart it (deploy/)
    assert "WEBHOOK_URL" in result.stderr


def test_bad_setting_stops_with_one_line_naming_it() -> None:
    result = run_bot("", WEB_PORT="eighty")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "WEB_PORT" in result.stderr


async def test_console_runs_the_private_chat_commands() -> None:
    out = io.StringIO()
    script = "/region 太原\n/subscribe\n/me\n/updates\n/nosuchcommand\n/reset\n/me\n"
    await run_console(io.StringIO(script), out, str(PACKAGE_DATA))
    text = out.getvalue()
    assert "山西" in text  # /region resolved the city, /me shows it
    assert texts.SUBSCRIBED_ALL in text
    assert texts.HELP in text  # an unknown command gets the help text
    assert "本群默认地区" not in text  # a private chat has no group settings
