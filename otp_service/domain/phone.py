"""Phone numbers: parsed and validated by ``phonenumbers`` only, stored and returned as E.164."""

from __future__ import annotations

import functools
from collections.abc import Collection

import phonenumbers

from providers import Msisdn

from .errors import CountryNotAllowed, InvalidPhone

__all__ = ("Phone", "mask", "parse_phone")

_SEPARATORS = frozenset(" +-.()")


class Phone:
    """A valid number: its E.164 form (the Redis hash tag), region and the adapters' view of it."""

    __slots__ = ("e164", "msisdn", "number", "region")

    def __init__(self, e164: str, region: str, msisdn: Msisdn, number: phonenumbers.PhoneNumber) -> None:
        self.e164 = e164
        self.region = region
        self.msisdn = msisdn
        self.number = number  # phonenumbers' own parse, for what else is asked of it (the number's type)

    def masked(self) -> str:
        return self.msisdn.masked()


def parse_phone(raw: str, allowed_countries: Collection[str] | None = None) -> Phone:
    """Parse a number written with a leading ``+``; reject what ``is_valid_number`` rejects.

    Only international form is accepted (no default region): a service shared by clients in several
    countries cannot guess which national plan a bare number belongs to.
    """
    text = raw.strip()
    if not text.startswith("+"):
        raise InvalidPhone("The number must be in international form, starting with '+'.")
    # phonenumbers reads letters as keypad digits (vanity numbers) and drops what it does not know,
    # so "+34 6OO 1OO 24O" became +34666166246, somebody else's number. Only what people write
    # between digits is let through; full-width digits are digits too (str.isdecimal).
    if not all(c.isdecimal() or c in _SEPARATORS for c in text):
        raise InvalidPhone("The number may contain only digits, spaces and + - . ( ).")
    phone = _parsed(text)
    if allowed_countries is not None and phone.region not in allowed_countries:
        raise CountryNotAllowed(f"Numbers from {phone.region or 'this region'} are not accepted.")
    return phone


@functools.lru_cache(maxsize=2048)
def _parsed(text: str) -> Phone:
    """phonenumbers' parse and validation of one written number, kept for the next time the same text
    comes by: a send parses its number, and the fraud guard and the events read the stored E.164 form
    again (about 17 us each, issue 14). Only valid numbers are kept (a refusal raises, and lru_cache
    keeps no exception); a ``Phone`` is never changed after it is made, so sharing it is safe."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("The number could not be parsed.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("The number is not a valid phone number.")
    region = phonenumbers.region_code_for_number(number) or ""
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164, region, Msisdn.from_e164(e164, number.country_code or 0), number)


def mask(e164: str) -> str:
    """Mask a stored E.164 number for logs (``+34******200``) without re-parsing it."""
    if len(e164) <= 6:
        return "+" + "*" * (len(e164) - 1)
    return f"{e164[:3]}{'*' * (len(e164) - 6)}{e164[-3:]}"
