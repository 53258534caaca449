"""`python -m bot`: the Telegram bot when BOT_TOKEN is set, else the local console chat."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot import texts
from bot.console import run_console
from bot.settings import SettingsError, load_settings
from knowledge.loader import KnowledgeError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="医保政策助手")
    parser.add_argument("--console", action="store_true", help="force the local console chat")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.bot_token is not None and not args.console:
        print(texts.TELEGRAM_NOT_READY, file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_console(knowledge_dir=settings.knowledge_dir))
    except KnowledgeError as exc:
        print(f"knowledge base has errors:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
