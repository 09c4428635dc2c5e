"""Which adapters exist, how their settings are read, and how the configured ones are built.

Each adapter module declares a module-level ``SPEC``; this module finds them, so adding a provider
is one new file in ``providers/`` (plus its tests) and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from .base import ReceiptParser, SmsSender, VendorSettings, VerificationProvider

__all__ = ("ProviderSpec", "Providers", "build_providers", "discover", "load_vendor_settings")

Adapter = SmsSender | VerificationProvider


@dataclass(frozen=True)
class ProviderSpec:
    name: str  # registry key, settings value and metrics label, e.g. "gatum"
    env_prefix: str  # "GATUM" reads GATUM_BASE_URL, GATUM_USERNAME, ...
    settings_type: type[VendorSettings]
    build: Callable[[Any, httpx.AsyncClient], Adapter]
    is_configured: Callable[[Any], bool]  # credentials present: the adapter can be built
    receipts: ReceiptParser | None = None
    dev_only: bool = False  # `console`: refused outside development


@dataclass
class Providers:
    """The built adapters, by name; a name maps to exactly one of the two kinds."""

    senders: dict[str, SmsSender] = field(default_factory=dict)
    verifiers: dict[str, VerificationProvider] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [*self.verifiers, *self.senders]


def discover() -> dict[str, ProviderSpec]:
    """Every ``SPEC`` declared by a module of this package."""
    specs: dict[str, ProviderSpec] = {}
    package = importlib.import_module(__package__ or "providers")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in {"base", "registry", "text"}:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if isinstance(spec, ProviderSpec):
            specs[spec.name] = spec
    return specs


def load_vendor_settings(spec: ProviderSpec, environ: Mapping[str, str]) -> VendorSettings:
    """Read ``<PREFIX>_*`` variables into the adapter's settings struct.

    Raises ``ValueError`` naming the offending variable, so a typo fails start-up instead of
    silently leaving a provider unconfigured.
    """
    prefix = f"{spec.env_prefix}_"
    raw = {key[len(prefix) :].lower(): value for key, value in environ.items() if key.startswith(prefix)}
    try:
        return msgspec.convert(raw, spec.settings_type, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if message.startswith(prefix):  # a rule of the adapter's own that already names the variable
            raise ValueError(message) from exc
        for key in raw:
            if f"`$.{key}`" in message or f"`{key}`" in message:
                raise ValueError(f"{prefix}{key.upper()}: {message}") from exc
        raise ValueError(f"{spec.env_prefix}_*: {message}") from exc


def build_providers(
    specs: Mapping[str, ProviderSpec],
    settings: Mapping[str, VendorSettings],
    client: httpx.AsyncClient,
) -> Providers:
    """Build every configured adapter on the one shared client (no I/O happens here)."""
    built = Providers()
    for name, vendor_settings in settings.items():
        adapter = specs[name].build(vendor_settings, client)
        if isinstance(adapter, SmsSender):
            built.senders[name] = adapter
        else:
            built.verifiers[name] = adapter
    return built
