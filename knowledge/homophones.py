"""Homophone repair for voice input and pinyin typing: 设保卡 → 社保卡, 挂湿 → 挂失, 报消 → 报销.

A window of 2–4 Chinese characters is replaced by a domain word with exactly the same toneless
pinyin when the window is not itself a word (neither domain vocabulary nor a common word in
jieba's dictionary). Pinyin is looked up one character at a time, on both sides, so the two
agree and a query costs one pypinyin call.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache

from pypinyin import lazy_pinyin

MIN_LEN, MAX_LEN = 2, 4
COMMON_WORD_FREQ = 50  # a jieba word this frequent is a real word, not a mistyped one


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@lru_cache(maxsize=20000)
def _char_key(char: str) -> str:
    return lazy_pinyin(char)[0]


def _keys(chars: str) -> list[str]:
    """Toneless pinyin of each character (cached per character: pypinyin is slow per call)."""
    return [_char_key(c) for c in chars]


class HomophoneFixer:
    def __init__(self, domain_words: Collection[str], word_freq: Mapping[str, int]) -> None:
        self._domain = frozenset(w for w in domain_words if MIN_LEN <= len(w) <= MAX_LEN)
        self._freq = word_freq
        by_key: dict[str, set[str]] = {}
        for word in self._domain:
            if all(_is_cjk(c) for c in word):
                by_key.setdefault(" ".join(_keys(word)), set()).add(word)
        # A pinyin shared by two domain words is ambiguous: never guess between them.
        self._by_key = {k: next(iter(v)) for k, v in by_key.items() if len(v) == 1}

    def fix(self, text: str) -> str:
        keys = _keys(text) if text else []
        out: list[str] = []
        i = 0
        while i < len(text):
            step = 1
            piece = text[i]
            for length in range(min(MAX_LEN, len(text) - i), MIN_LEN - 1, -1):
                window = text[i : i + length]
                if not all(_is_cjk(c) for c in window):
                    continue
                if window in self._domain or self._freq.get(window, 0) >= COMMON_WORD_FREQ:
                    piece, step = window, length  # a real word: keep it as typed
                    break
                word = self._by_key.get(" ".join(keys[i : i + length]))
                if word is not None and not self._cuts_a_word(text, i, i + length):
                    piece, step = word, length
                    break
            out.append(piece)
            i += step
        return "".join(out)

    def _cuts_a_word(self, text: str, start: int, end: int) -> bool:
        """True when the window's edge falls inside a common word (旧衣服: 衣服 is a word)."""
        left = text[start - 1 : start + 1] if start > 0 else ""
        right = text[end - 1 : end + 1] if end < len(text) else ""
        return any(self._freq.get(pair, 0) >= COMMON_WORD_FREQ for pair in (left, right) if len(pair) == 2)
