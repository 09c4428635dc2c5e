"""SMS encoding facts every adapter and the message renderer share.

A text that fits the GSM 03.38 default alphabet travels as GSM-7 (160 characters, 153 per part when
concatenated; characters from the extension table take two septets). Anything else forces UCS-2
(70 UTF-16 units, 67 per part). Vendors bill per part, and some (Instasent) refuse non-GSM text unless
told, so the encoding is decided here once.
"""

from __future__ import annotations

import enum

__all__ = ("Encoding", "encoding_of", "segment_count")

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


class Encoding(enum.StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


def encoding_of(text: str) -> Encoding:
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text):
        return Encoding.GSM7
    return Encoding.UCS2


def segment_count(text: str) -> int:
    """How many SMS parts ``text`` takes (what the vendor bills)."""
    if encoding_of(text) is Encoding.GSM7:
        units = sum(2 if ch in _GSM7_EXTENSION else 1 for ch in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)
