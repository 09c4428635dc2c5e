"""The live settings admins tune at run time, their ranges, and how a PATCH is validated.

The structs carry their ranges as ``msgspec.Meta`` so the same rules validate a PATCH body, describe
it in the OpenAPI document and check what is read back from Redis. A PATCH replaces whole top-level
fields (``templates`` included): partial merges of nested maps make "remove this locale" impossible
to express, and ``allowed_countries: null`` is a meaningful value rather than a deletion.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
import phonenumbers

from .errors import SettingsInvalid
from .fraud_policy import (
    DEFAULT_COUNTRY_LIMITS,
    DEFAULT_NUMBER_TYPES,
    DEFAULT_SMS_BUDGET,
    Budget,
    BudgetKey,
    ConversionGuard,
    NumberType,
    Prefix,
    Price,
    check_fraud_rules,
)
from .patterns import whole
from .routes import Route, RouteKey, validate_routes

__all__ = (
    "PLACEHOLDERS",
    "LiveSettings",
    "PolicyContext",
    "SettingsPatch",
    "Window",
    "apply_patch",
    "default_settings",
    "nist_warnings",
)

PLACEHOLDERS = frozenset({"code", "brand", "minutes"})

CodeLength = Annotated[int, msgspec.Meta(ge=4, le=10, description="Digits per code.")]
TtlSeconds = Annotated[int, msgspec.Meta(ge=30, le=86400, description="How long a code stays valid.")]
MaxAttempts = Annotated[int, msgspec.Meta(ge=1, le=20, description="Wrong guesses allowed per code.")]
Cooldown = Annotated[int, msgspec.Meta(ge=0, le=3600, description="Seconds before a resend is allowed.")]
Country = Annotated[str, msgspec.Meta(pattern=whole("[A-Z]{2}"), description="ISO 3166-1 alpha-2.")]
ProviderName = Annotated[str, msgspec.Meta(pattern=whole("[a-z][a-z0-9_]{1,31}"))]
Locale = Annotated[str, msgspec.Meta(pattern=whole("[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}"))]
Template = Annotated[str, msgspec.Meta(min_length=1, max_length=480)]
Brand = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Digits = Annotated[str, msgspec.Meta(pattern=whole("[0-9]{4,10}"))]
PhoneKey = Annotated[str, msgspec.Meta(min_length=4, max_length=32)]
FallbackWait = Annotated[
    int,
    msgspec.Meta(ge=1, le=600, description="Seconds a WhatsApp code may go without a delivery receipt before SMS."),
]
Routes = Annotated[dict[RouteKey, Route], msgspec.Meta(max_length=500)]
WhatsappTemplates = Annotated[dict[Locale, Template], msgspec.Meta(max_length=200)]


class Window(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    count: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    window_seconds: Annotated[int, msgspec.Meta(ge=1, le=7 * 86400)]


DEFAULT_TEMPLATES = {
    "en": "Your {brand} code is {code}. It expires in {minutes} minutes.",
    "es": "Tu código de {brand} es {code}. Caduca en {minutes} minutos.",
}


class LiveSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    code_length: CodeLength = 6
    ttl_seconds: TtlSeconds = 600
    max_attempts: MaxAttempts = 5
    resend_cooldown_seconds: Cooldown = 30
    send_limit: Window = msgspec.field(default_factory=lambda: Window(5, 600))
    check_limit: Window = msgspec.field(default_factory=lambda: Window(10, 3600))
    source_check_limit: Window = msgspec.field(default_factory=lambda: Window(5, 86400))
    client_limit: Window = msgspec.field(default_factory=lambda: Window(1000, 60))
    ip_limit: Window = msgspec.field(default_factory=lambda: Window(30, 600))
    allowed_countries: list[Country] | None = None
    providers: Annotated[list[ProviderName], msgspec.Meta(min_length=1, max_length=16)] = msgspec.field(
        default_factory=list  # always set from OTP_PROVIDERS
    )
    templates: Annotated[dict[Locale, Template], msgspec.Meta(min_length=1, max_length=200)] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_TEMPLATES)
    )
    brand: Brand = "Acme"
    test_numbers: Annotated[dict[PhoneKey, Digits], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=dict)
    allowed_number_types: Annotated[list[NumberType], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: list(DEFAULT_NUMBER_TYPES)
    )
    blocked_prefixes: Annotated[list[Prefix], msgspec.Meta(max_length=1000)] = msgspec.field(default_factory=list)
    country_limits: Annotated[dict[BudgetKey, Budget], msgspec.Meta(max_length=300)] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_COUNTRY_LIMITS)
    )
    sms_budget: Budget = DEFAULT_SMS_BUDGET
    app_country_limits: Annotated[dict[BudgetKey, Budget], msgspec.Meta(max_length=300)] = msgspec.field(
        default_factory=dict
    )
    app_sms_budget: Budget = msgspec.field(default_factory=Budget)
    prices: Annotated[dict[BudgetKey, Price], msgspec.Meta(max_length=300)] = msgspec.field(default_factory=dict)
    conversion_guard: ConversionGuard = msgspec.field(default_factory=ConversionGuard)
    routes: Routes = msgspec.field(default_factory=dict)  # per country / prefix (domain/routes.py)
    whatsapp_fallback_seconds: FallbackWait = 30  # domain/fallback.py
    whatsapp_templates: WhatsappTemplates = msgspec.field(default_factory=dict)  # empty: `templates`


class SettingsPatch(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Any subset of :class:`LiveSettings`; each given field replaces the current value whole."""

    code_length: CodeLength | msgspec.UnsetType = msgspec.UNSET
    ttl_seconds: TtlSeconds | msgspec.UnsetType = msgspec.UNSET
    max_attempts: MaxAttempts | msgspec.UnsetType = msgspec.UNSET
    resend_cooldown_seconds: Cooldown | msgspec.UnsetType = msgspec.UNSET
    send_limit: Window | msgspec.UnsetType = msgspec.UNSET
    check_limit: Window | msgspec.UnsetType = msgspec.UNSET
    source_check_limit: Window | msgspec.UnsetType = msgspec.UNSET
    client_limit: Window | msgspec.UnsetType = msgspec.UNSET
    ip_limit: Window | msgspec.UnsetType = msgspec.UNSET
    allowed_countries: list[Country] | msgspec.UnsetType | None = msgspec.UNSET
    providers: Annotated[list[ProviderName], msgspec.Meta(min_length=1, max_length=16)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    templates: Annotated[dict[Locale, Template], msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    brand: Brand | msgspec.UnsetType = msgspec.UNSET
    test_numbers: Annotated[dict[PhoneKey, Digits], msgspec.Meta(max_length=100)] | msgspec.UnsetType = msgspec.UNSET
    allowed_number_types: Annotated[list[NumberType], msgspec.Meta(min_length=1)] | msgspec.UnsetType = msgspec.UNSET
    blocked_prefixes: Annotated[list[Prefix], msgspec.Meta(max_length=1000)] | msgspec.UnsetType = msgspec.UNSET
    country_limits: Annotated[dict[BudgetKey, Budget], msgspec.Meta(max_length=300)] | msgspec.UnsetType = msgspec.UNSET
    sms_budget: Budget | msgspec.UnsetType = msgspec.UNSET
    app_country_limits: Annotated[dict[BudgetKey, Budget], msgspec.Meta(max_length=300)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    app_sms_budget: Budget | msgspec.UnsetType = msgspec.UNSET
    prices: Annotated[dict[BudgetKey, Price], msgspec.Meta(max_length=300)] | msgspec.UnsetType = msgspec.UNSET
    conversion_guard: ConversionGuard | msgspec.UnsetType = msgspec.UNSET
    routes: Routes | msgspec.UnsetType = msgspec.UNSET
    whatsapp_fallback_seconds: FallbackWait | msgspec.UnsetType = msgspec.UNSET
    whatsapp_templates: WhatsappTemplates | msgspec.UnsetType = msgspec.UNSET


class PolicyContext(msgspec.Struct, frozen=True, kw_only=True):
    """What this deployment can do, for the checks msgspec's ranges cannot express."""

    available_providers: frozenset[str]  # configured adapters ("console" only in development)
    code_length_ranges: Mapping[str, tuple[int, int]] = msgspec.field(default_factory=dict)  # vendor-made codes


def default_settings(providers: list[str]) -> LiveSettings:
    return LiveSettings(providers=list(providers))


def _error(field: str, message: str) -> SettingsInvalid:
    return SettingsInvalid(f"{field}: {message}", [{"field": field, "message": message}])


def _check_rules(settings: LiveSettings, ctx: PolicyContext) -> LiveSettings:
    """Cross-field rules; returns the settings with phone keys normalised to E.164."""
    if len(set(settings.providers)) != len(settings.providers):
        raise _error("providers", "a provider is listed twice")
    unknown = [p for p in settings.providers if p not in ctx.available_providers]
    if unknown:
        raise _error(
            "providers",
            f"not configured in this deployment: {', '.join(unknown)} "
            f"(available: {', '.join(sorted(ctx.available_providers)) or 'none'})",
        )
    if settings.allowed_countries is not None:
        supported = phonenumbers.SUPPORTED_REGIONS
        bad = [c for c in settings.allowed_countries if c not in supported]
        if bad:
            raise _error("allowed_countries", f"unknown region codes: {', '.join(bad)}")
    if "en" not in settings.templates:
        raise _error("templates", "an 'en' template is required (the fallback for every locale)")
    if settings.whatsapp_templates and "en" not in settings.whatsapp_templates:
        raise _error("whatsapp_templates", "an 'en' template is required (the fallback for every locale)")
    validate_routes(settings.routes, ctx.available_providers)
    all_templates = [("templates", settings.templates), ("whatsapp_templates", settings.whatsapp_templates)]
    for group, locale, template in ((g, loc, t) for g, ts in all_templates for loc, t in ts.items()):
        try:
            # The parser str.format itself uses, so whatever passes here renders at send time.
            fields = [
                (name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template) if name is not None
            ]
        except ValueError as exc:
            raise _error(f"{group}.{locale}", f"not a valid template: {exc}") from None
        names = [name for name, _, _ in fields]
        if any(spec or conv for _, spec, conv in fields):
            raise _error(f"{group}.{locale}", "placeholders take no format spec or conversion")
        if "code" not in names:
            raise _error(f"{group}.{locale}", "must contain {code}")
        extra = sorted(set(names) - PLACEHOLDERS)
        if extra:
            raise _error(
                f"{group}.{locale}", f"unknown placeholders: {', '.join(extra)}; allowed: code, brand, minutes"
            )
    numbers: dict[str, str] = {}
    for raw, code in settings.test_numbers.items():
        try:
            parsed = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException:
            raise _error("test_numbers", "keys must be phone numbers in international form") from None
        if not phonenumbers.is_possible_number(parsed):
            raise _error("test_numbers", "keys must be phone numbers in international form")
        numbers[phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)] = code
    broken = check_fraud_rules(settings)
    if broken is not None:
        raise _error(*broken)
    return msgspec.structs.replace(settings, test_numbers=numbers)


def nist_warnings(settings: LiveSettings, ctx: PolicyContext) -> list[str]:
    warnings = []
    if settings.ttl_seconds > 600:
        warnings.append(
            "ttl_seconds above 600 breaks NIST SP 800-63B 5.1.3.2: "
            "an out-of-band code should be valid for at most 10 minutes"
        )
    if settings.code_length < 6:
        warnings.append(
            "code_length below 6 breaks NIST SP 800-63B 5.1.3.2: "
            "an out-of-band code should have at least 6 decimal digits"
        )
    for name in settings.providers:
        low, high = ctx.code_length_ranges.get(name, (0, 99))
        if not low <= settings.code_length <= high:
            warnings.append(
                f"{name} makes codes of {low}..{high} digits: it is skipped for {settings.code_length}-digit codes"
            )
    return warnings


def validate_settings(settings: LiveSettings, ctx: PolicyContext) -> LiveSettings:
    return _check_rules(settings, ctx)


def apply_patch(current: LiveSettings, patch: SettingsPatch, ctx: PolicyContext) -> tuple[LiveSettings, list[str]]:
    """All-or-nothing: the merged settings are checked as a whole before anything is stored."""
    changes: dict[str, Any] = {
        name: getattr(patch, name) for name in patch.__struct_fields__ if getattr(patch, name) is not msgspec.UNSET
    }
    if not changes:
        return current, []
    merged = msgspec.structs.replace(current, **changes)
    merged = _check_rules(merged, ctx)
    return merged, [name for name in changes if getattr(merged, name) != getattr(current, name)]
