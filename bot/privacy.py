"""Personal numbers people paste into a chat: resident ID-card numbers and bank or social
security card numbers. The bot does not need them: `mask` replaces them before a question is
read, logged or kept for review, and the reply asks the user not to send them.

- ID card (GB 11643): 17 digits and a check character (0-9 or X) that matches the weighted sum.
- Card numbers: 16-19 digits that pass the Luhn check (bank cards, and the bank side of 社保卡).
"""

from __future__ import annotations

import re

ID_MASK = "[身份证号]"
CARD_MASK = "[卡号]"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# a run of digits (and a final X) not glued to other digits or letters; spaces and dashes
# inside a card number (6222 0202 0000 1234 567) are allowed
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])(\d(?:[ -]?\d){15,18})(?![0-9A-Za-z])")


def valid_id_card(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == number[17].upper()


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask(text: str) -> tuple[str, bool]:
    """The text with personal numbers replaced, and whether there were any."""
    found = False

    def id_card(match: re.Match[str]) -> str:
        nonlocal found
        if valid_id_card(match.group(1)):
            found = True
            return ID_MASK
        return match.group(0)

    def card(match: re.Match[str]) -> str:
        nonlocal found
        digits = re.sub(r"[ -]", "", match.group(1))
        if 16 <= len(digits) <= 19 and luhn(digits):
            found = True
            return CARD_MASK
        return match.group(0)

    masked = _CARD.sub(card, _ID_CARD.sub(id_card, text))
    return masked, found
