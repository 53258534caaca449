"""Text normalisation shared by the index and the queries, so both sides agree.

full-width → half-width (NFKC), traditional → simplified (OpenCC), lower case, emoji and
punctuation → space, Chinese numerals before a unit → digits (一百五十八天 → 158天).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import cn2an
import opencc

_T2S = opencc.OpenCC("t2s")

# A run of Chinese numerals directly followed by a unit of time, money, age or level.
_NUMERAL = re.compile(
    r"([零〇一二两三四五六七八九十百千万]+)(?=(?:个)?(?:天|日|周|月|年|岁|元|块|级|次|倍|%|号|胎|孩|人))"
)
# Keep letters, digits, CJK and a few signs that carry meaning (% and .); everything else → space.
_DROP = re.compile(r"[^0-9a-z%.\u3400-\u4dbf\u4e00-\u9fff]+")
_SPACES = re.compile(r"\s+")


def _numeral_to_digits(match: re.Match[str]) -> str:
    run = match.group(1)
    if run in {"一", "两"} or run.startswith(("百", "千", "万")):
        # "一个月" and "两个月" are fine as digits; a lone 百/千/万 is not a number here.
        if run in {"一", "两"}:
            return "1" if run == "一" else "2"
        return run
    try:
        value = cn2an.cn2an(run.replace("两", "二"), "smart")
    except (ValueError, KeyError):
        return run
    return str(int(value)) if float(value).is_integer() else str(value)


@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Canonical form of a text for matching (never shown to users)."""
    text = unicodedata.normalize("NFKC", text)
    text = _T2S.convert(text)
    text = text.lower()
    text = _NUMERAL.sub(_numeral_to_digits, text)
    text = _DROP.sub(" ", text)
    return _SPACES.sub(" ", text).strip()
