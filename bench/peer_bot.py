"""The peer of bench/bench_bot.py: an aiogram bot as tutorials write one.

One message handler matches the text against every curated question and alternate with
rapidfuzz's `WRatio` (`process.extractOne`) and replies with that entry's answer, whatever the
score. No state, no Redis, no clarifying, no declining. Run as `python bench/peer_bot.py` with
BOT_TOKEN and TELEGRAM_API_URL set, as the benchmark does.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from rapidfuzz import fuzz, process

from knowledge.loader import load_or_raise

KB = load_or_raise()
ANSWERS = {text: entry.answer for entry in KB.entries for text in (entry.question, *entry.alternates)}
CHOICES = list(ANSWERS)
dp = Dispatcher()


@dp.message()
async def reply(message: Message) -> None:
    best = process.extractOne(message.text or "", CHOICES, scorer=fuzz.WRatio)
    await message.answer(ANSWERS[best[0]] if best else "没找到")


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    await dp.start_polling(bot, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main())
