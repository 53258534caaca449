"""User-facing Chinese texts of the bot, kept in one place."""

from __future__ import annotations

CONSOLE_BANNER = "医保政策助手 · 本地控制台（输入问题后回车；输入 /quit 退出）"
CONSOLE_STATE_NOTE = "未设置 BOT_TOKEN：以本地控制台运行，对话状态保存在进程内存中（退出即清空）。"
TELEGRAM_NOT_READY = (
    "已设置 BOT_TOKEN，但 Telegram 机器人模式尚未实现（见 issue #4）。取消 BOT_TOKEN 可先用本地控制台试用。"
)
