"""Reply text → Telegram HTML: everything escaped, the 【heading】 in bold, split below 4096."""

from __future__ import annotations

import html

TELEGRAM_LIMIT = 4096
SAFE_LIMIT = 4000  # leave room for the markup we add


def to_html(text: str) -> str:
    """Escape everything (user text included); a first line written 【…】 becomes bold."""
    first, sep, rest = text.partition("\n")
    if first.startswith("【") and first.endswith("】"):
        return f"<b>{html.escape(first)}</b>{sep}{html.escape(rest)}"
    return html.escape(text)


def split_text(text: str, limit: int = SAFE_LIMIT) -> list[str]:
    """Plain text in pieces of at most `limit` characters once escaped, cut at paragraph,
    then line, then character boundaries."""
    if len(html.escape(text)) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for paragraph in _units(text, limit):
        candidate = f"{current}\n{paragraph}" if current else paragraph
        if len(html.escape(candidate)) <= limit:
            current = candidate
        else:
            if current:
                pieces.append(current)
            current = paragraph
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, limit: int) -> list[str]:
    """Lines, with any line too long on its own cut into slices that fit."""
    units: list[str] = []
    for line in text.split("\n"):
        while len(html.escape(line)) > limit:
            cut = limit
            while len(html.escape(line[:cut])) > limit:
                cut -= max(1, (len(html.escape(line[:cut])) - limit) // 5)
            units.append(line[:cut])
            line = line[cut:]
        units.append(line)
    return units


def render(text: str) -> list[str]:
    """HTML messages for one reply, each below Telegram's 4096-character limit."""
    chunks = split_text(text)
    return [to_html(chunks[0]), *(html.escape(c) for c in chunks[1:])]
