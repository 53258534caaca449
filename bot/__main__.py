"""`python -m bot`: Telegram long polling when BOT_TOKEN is set, else the local console chat;
`python -m bot --webhook` (or BOT_MODE=webhook) serves Telegram webhooks instead."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.console import run_console
from bot.logs import setup_logging
from bot.settings import Settings, SettingsError, load_settings
from knowledge.loader import KnowledgeError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="医保政策助手")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--webhook", action="store_true", help="serve Telegram webhooks (needs WEBHOOK_URL)")
    mode.add_argument("--console", action="store_true", help="local console chat even if BOT_TOKEN is set")
    mode.add_argument(
        "--export",
        metavar="DIR",
        help="write the knowledge files with the operators' changes (from Redis or CHANGES_FILE) to DIR",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.export:
        return asyncio.run(export_changes(settings, args.export))
    console = settings.bot_token is None or args.console
    # in the console chat a log line per question would interleave with the replies (DEBUG still shows)
    level = "WARNING" if console and settings.log_level == "INFO" else settings.log_level
    setup_logging(level, settings.log_format)
    try:
        if console:
            if args.webhook:
                print("invalid setting BOT_TOKEN: required in webhook mode", file=sys.stderr)
                return 2
            return asyncio.run(run_console(knowledge_dir=settings.knowledge_dir, settings=settings))
        from bot.app import run_polling, run_webhook  # aiogram is only needed here

        if args.webhook or settings.bot_mode == "webhook":
            if settings.webhook_url is None:
                print("invalid setting WEBHOOK_URL: required in webhook mode", file=sys.stderr)
                return 2
            run_webhook(settings)
        else:
            asyncio.run(run_polling(settings))
        return 0
    except KnowledgeError as exc:
        print(f"knowledge base has errors:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


async def export_changes(settings: Settings, out_dir: str) -> int:
    """`python -m knowledge export`, with the changes read where this bot keeps them."""
    from bot.changelog import create_changelog
    from bot.redis_conn import close, connect
    from knowledge.export import ExportError, export

    redis = connect(settings.redis_url) if settings.redis_url is not None else None
    try:
        changes = await create_changelog(settings, redis).changes()
    finally:
        if redis is not None:
            await close(redis)
    try:
        report = export(settings.knowledge_dir, out_dir, changes)
    except ExportError as exc:
        print(exc, file=sys.stderr)
        return 1
    files = ", ".join(report.files) or "-"
    print(f"wrote {len(report.written)} change(s) of {len(changes)} to {out_dir}: {files}")
    for change_id, problems in sorted(report.skipped.items()):
        print(f"skipped #{change_id}: {'; '.join(p.message for p in problems)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
