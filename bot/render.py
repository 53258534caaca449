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


def utf16_len(text: str) -> int:
    """Length as Telegram counts it, in UTF-16 code units: an emoji counts two."""
    return len(text.encode("utf-16-le")) // 2


def _size(text: str) -> int:
    """Length once escaped, in UTF-16 code units (a cautious measure of the visible length)."""
    return utf16_len(html.escape(text))


def split_text(text: str, limit: int = SAFE_LIMIT) -> list[str]:
    """Plain text in pieces of at most `limit` characters (UTF-16 units) once escaped, cut at
    paragraph, then line, then character boundaries."""
    if _size(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for paragraph in _units(text, limit):
        candidate = f"{current}\n{paragraph}" if current else paragraph
        if _size(candidate) <= limit:
            current = candidate
        else:
            if current:
                pieces.append(current)
            current = paragraph
    if current:
        pieces.append(current)
    # a piece of nothing but spaces is refused by Telegram ("message text is empty")
    return [p for p in pieces if p.strip()] or pieces[:1]


def _units(text: str, limit: int) -> list[str]:
    """Lines, with any line too long on its own cut into slices that fit."""
    units: list[str] = []
    for line in text.split("\n"):
        while _size(line) > limit:
            cut = limit
            while _size(line[:cut]) > limit:
                cut -= max(1, (_size(line[:cut]) - limit) // 5)
            units.append(line[:cut])
            line = line[cut:]
        units.append(line)
    return units


def render(text: str) -> list[str]:
    """HTML messages for one reply, each below Telegram's 4096-character limit."""
    chunks = split_text(text)
    return [to_html(chunks[0]), *(html.escape(c) for c in chunks[1:])]
