"""Routing per country: which providers carry a number's code, in which order, with which sender id.

The live setting ``routes`` maps a country (ISO 3166-1 alpha-2, ``"BR"``) or a number prefix in
international form (``"+5511"``) to a :class:`Route`. A number takes the route of the longest prefix
that starts it; failing that, its country's route; failing that, the default route: the global
``providers`` order with each adapter's own sender id. Routes do not inherit from one another: a prefix
route names its whole order and its own sender ids.

A route's ``sender_ids`` give, per provider, the sender id that provider uses for numbers on the route
(``SendOptions.sender_id``); a provider without one there uses its configured sender.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Annotated

import msgspec
import phonenumbers

from .errors import SettingsInvalid
from .patterns import whole

__all__ = ("Route", "RouteKey", "resolve", "validate_routes")

ProviderName = Annotated[str, msgspec.Meta(pattern=whole("[a-z][a-z0-9_]{1,31}"))]
SenderId = Annotated[
    str,
    msgspec.Meta(
        pattern=whole("[A-Za-z0-9+][A-Za-z0-9 +._-]{0,19}"),
        description="An alphanumeric sender (up to 11 characters on most networks) or a number.",
        examples=["ACME"],
    ),
]
RouteKey = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(r"[A-Z]{2}|\+[1-9][0-9]{0,14}"),
        description="A country (ISO 3166-1 alpha-2) or a number prefix in international form.",
        examples=["BR", "+5511"],
    ),
]


class Route(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    providers: Annotated[list[ProviderName], msgspec.Meta(min_length=1, max_length=16)]
    sender_ids: Annotated[dict[ProviderName, SenderId], msgspec.Meta(max_length=16)] = msgspec.field(
        default_factory=dict
    )


class Resolved(msgspec.Struct, frozen=True):
    """The order to try and the sender id per provider for one number."""

    providers: list[str]
    sender_ids: Mapping[str, str]
    key: str = ""  # the route taken ("" for the default route)


def resolve(routes: Mapping[str, Route], default: list[str], e164: str, region: str) -> Resolved:
    """The route of the longest matching prefix, else the number's country, else ``default``."""
    prefixes = [key for key in routes if key.startswith("+") and e164.startswith(key)]
    if prefixes:
        key = max(prefixes, key=len)
    elif region in routes:
        key = region
    else:
        return Resolved(list(default), {})
    route = routes[key]
    return Resolved(list(route.providers), dict(route.sender_ids), key)


def _error(field: str, message: str) -> SettingsInvalid:
    return SettingsInvalid(f"{field}: {message}", [{"field": field, "message": message}])


def validate_routes(routes: Mapping[str, Route], available: Collection[str]) -> None:
    """Refuse a route naming an unknown country, an unconfigured provider or a stray sender id."""
    for key, route in routes.items():
        field = f"routes.{key}"
        if not key.startswith("+") and key not in phonenumbers.SUPPORTED_REGIONS:
            raise _error(field, f"unknown region code: {key}")
        if len(set(route.providers)) != len(route.providers):
            raise _error(f"{field}.providers", "a provider is listed twice")
        unknown = [p for p in route.providers if p not in available]
        if unknown:
            raise _error(
                f"{field}.providers",
                f"not configured in this deployment: {', '.join(unknown)} "
                f"(available: {', '.join(sorted(available)) or 'none'})",
            )
        stray = sorted(set(route.sender_ids) - set(route.providers))
        if stray:
            raise _error(f"{field}.sender_ids", f"not in this route's providers: {', '.join(stray)}")
