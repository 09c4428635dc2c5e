"""Which numbers may receive a code at all: the number's type (``phonenumbers.number_type``) and the
operator's blocked E.164 prefixes.

Premium-rate, shared-cost, toll-free and non-geographic ranges (+979, +800, +808, +870, +881, +882,
+883, +888, ...) are valid numbers, and exactly where SMS pumping sends its traffic: only the types in
``allowed_number_types`` are accepted. The refusal says which rule applied (the type or the prefix)
and nothing more.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

from .errors import NumberNotAllowed
from .fraud_policy import NumberType
from .phone import Phone

__all__ = ("check_number", "number_type")

_TYPES = {
    PhoneNumberType.MOBILE: NumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: NumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.FIXED_LINE: NumberType.FIXED_LINE,
    PhoneNumberType.TOLL_FREE: NumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE: NumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST: NumberType.SHARED_COST,
    PhoneNumberType.VOIP: NumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER: NumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER: NumberType.PAGER,
    PhoneNumberType.UAN: NumberType.UAN,
    PhoneNumberType.VOICEMAIL: NumberType.VOICEMAIL,
}
_NON_GEOGRAPHIC = "001"  # phonenumbers' region for the global ranges (+800, +808, +870, +88x, +979)
_WORDS = {
    NumberType.FIXED_LINE: "fixed-line numbers cannot receive text messages",
    NumberType.NON_GEOGRAPHIC: "non-geographic numbers (global +8xx and +979 ranges) are not accepted",
    NumberType.PERSONAL_NUMBER: "personal (follow-me) numbers are not accepted",
    NumberType.UAN: "universal access numbers are not accepted",
    NumberType.VOIP: "VoIP numbers are not accepted",
    NumberType.UNKNOWN: "numbers of an unknown type are not accepted",
}


def number_type(phone: Phone) -> NumberType:
    """The number's type; every number of a non-geographic range is ``non_geographic``, whatever else."""
    if phone.region == _NON_GEOGRAPHIC:
        return NumberType.NON_GEOGRAPHIC
    return _TYPES.get(phonenumbers.number_type(phone.number), NumberType.UNKNOWN)


def check_number(phone: Phone, allowed: list[NumberType], blocked_prefixes: list[str]) -> NumberType:
    """The number's type when it may receive a code; else :class:`NumberNotAllowed` saying why."""
    for prefix in blocked_prefixes:
        if phone.e164.startswith(prefix):
            raise NumberNotAllowed(f"Numbers starting with {prefix} are not accepted.", reason="prefix")
    kind = number_type(phone)
    if kind not in allowed:
        words = _WORDS.get(kind, f"{kind.value.replace('_', '-')} numbers are not accepted")
        raise NumberNotAllowed(f"This number cannot receive a code: {words}.", reason="type")
    return kind
