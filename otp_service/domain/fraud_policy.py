"""The live settings against SMS pumping and toll fraud: number types, blocked prefixes, budgets and the
conversion guard's thresholds (appended to ``LiveSettings`` in ``policy.py``).

Defaults are safe on their own: only mobile numbers (and the plans that cannot tell mobile from fixed),
every country bounded per hour and per day, and the conversion guard on.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import msgspec
import phonenumbers

from .patterns import whole

__all__ = (
    "DEFAULT_COUNTRY_LIMITS",
    "DEFAULT_NUMBER_TYPES",
    "DEFAULT_SMS_BUDGET",
    "Budget",
    "BudgetKey",
    "ConversionGuard",
    "NumberType",
    "Prefix",
    "Price",
    "check_fraud_rules",
)


class NumberType(enum.StrEnum):
    """``phonenumbers.PhoneNumberType`` in lower case, plus ``non_geographic`` (the +8xx/+979 ranges)."""

    MOBILE = "mobile"
    FIXED_LINE_OR_MOBILE = "fixed_line_or_mobile"
    FIXED_LINE = "fixed_line"
    TOLL_FREE = "toll_free"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    VOIP = "voip"
    PERSONAL_NUMBER = "personal_number"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    NON_GEOGRAPHIC = "non_geographic"
    UNKNOWN = "unknown"


DEFAULT_NUMBER_TYPES = (NumberType.MOBILE, NumberType.FIXED_LINE_OR_MOBILE)

Prefix = Annotated[str, msgspec.Meta(pattern=whole(r"\+[1-9][0-9]{0,14}"), description="An E.164 prefix.")]
BudgetKey = Annotated[
    str, msgspec.Meta(pattern=whole("([A-Z]{2}|default)"), description="ISO 3166-1 alpha-2, or `default`.")
]
Count = Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]
Money = Annotated[float, msgspec.Meta(gt=0, le=1e9)]
Price = Annotated[float, msgspec.Meta(ge=0, le=1000)]


class Budget(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True, omit_defaults=True):
    """SMS per UTC hour / day, and money per hour / day (``prices``); ``null`` is no bound."""

    per_hour: Count | None = None
    per_day: Count | None = None
    spend_per_hour: Money | None = None
    spend_per_day: Money | None = None


DEFAULT_SMS_BUDGET = Budget(per_hour=10_000, per_day=100_000)
DEFAULT_COUNTRY_LIMITS = {"default": Budget(per_hour=1_000, per_day=10_000)}


class ConversionGuard(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Hold a number prefix whose sends surge while almost none of its codes are checked (README)."""

    enabled: bool = True
    prefix_digits: Annotated[int, msgspec.Meta(ge=5, le=7)] = 6
    window_seconds: Annotated[int, msgspec.Meta(ge=10, le=86400)] = 600
    baseline_seconds: Annotated[int, msgspec.Meta(ge=60, le=7 * 86400)] = 86400
    min_sends: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 20
    surge_factor: Annotated[float, msgspec.Meta(ge=1, le=1000)] = 5.0
    min_conversion: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.2
    hold_seconds: Annotated[int, msgspec.Meta(ge=10, le=7 * 86400)] = 3600


def check_fraud_rules(settings: Any, text_only: bool = True) -> tuple[str, str] | None:
    """``(field, message)`` for the first rule of these fields of ``settings`` (a ``LiveSettings``)
    that msgspec's ranges cannot express, else ``None``."""
    number_types: list[NumberType] = settings.allowed_number_types
    baseline_s: int = settings.conversion_guard.baseline_seconds
    window_s: int = settings.conversion_guard.window_seconds
    for field in ("country_limits", "app_country_limits", "prices"):
        bad = sorted(k for k in getattr(settings, field) if k != "default" and k not in phonenumbers.SUPPORTED_REGIONS)
        if bad:
            return field, f"unknown region codes: {', '.join(bad)}"
    if text_only and NumberType.FIXED_LINE in number_types:
        return (
            "allowed_number_types",
            "fixed_line numbers cannot receive text messages, and every channel of this service is a text one",
        )
    if baseline_s < 2 * window_s:
        return "conversion_guard", "baseline_seconds must be at least twice window_seconds"
    return None
