"""Which adapters exist, how their settings are read, and how the configured ones are built.

Each adapter module declares a module-level ``SPEC``; this module finds them, so adding a provider
is one new file in ``providers/`` (plus its tests) and nothing else.

Third-party adapters are installed packages that name a :class:`ProviderSpec` in the entry-point group
``otp_service.providers`` (``name = "package.module:SPEC"``, the entry point's name being the spec's).
A package that cannot be imported, names something else, or reuses a built-in name is reported as a
:class:`ProviderLoadError` naming the provider and its entry point, so start-up fails with one line
saying which package to fix rather than a traceback; so is an adapter whose ``build`` returns an object
that implements neither protocol.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import httpx
import msgspec

from ._http import scrub
from .base import ReceiptParser, SmsSender, VendorSettings, VerificationProvider

__all__ = (
    "ENTRY_POINT_GROUP",
    "ProviderLoadError",
    "ProviderSpec",
    "Providers",
    "build_providers",
    "check_adapter",
    "discover",
    "load_vendor_settings",
    "trial_build",
)

ENTRY_POINT_GROUP = "otp_service.providers"

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
    origin: str = "built-in"  # or the entry point that brought it, for error messages


class ProviderLoadError(ValueError):
    """A provider that cannot be used as installed; the message names it and where it came from."""


@dataclass
class Providers:
    """The built adapters, by name; a name maps to exactly one of the two kinds."""

    senders: dict[str, SmsSender] = field(default_factory=dict)
    verifiers: dict[str, VerificationProvider] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [*self.verifiers, *self.senders]


def discover(problems: list[str] | None = None) -> dict[str, ProviderSpec]:
    """Every ``SPEC`` declared by a module of this package, then every third-party one.

    A third-party provider that cannot be used raises :class:`ProviderLoadError`, or, when ``problems``
    is given, is left out and its message appended there (start-up reports them all at once).
    """
    specs = _built_in()
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        try:
            spec = _third_party(entry_point, specs)
        except ProviderLoadError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            continue
        specs[spec.name] = spec
    return specs


def _third_party(entry_point: EntryPoint, known: Mapping[str, ProviderSpec]) -> ProviderSpec:
    where = f"third-party provider {entry_point.name!r} (entry point {entry_point.value!r} in {ENTRY_POINT_GROUP})"
    try:
        loaded = entry_point.load()
    except Exception as exc:  # anything the package raises on import is its fault, reported as such
        raise ProviderLoadError(f"{where}: cannot be imported: {type(exc).__name__}: {exc}") from exc
    if not isinstance(loaded, ProviderSpec):
        raise ProviderLoadError(f"{where}: names a {type(loaded).__name__}, not a providers.ProviderSpec")
    if loaded.name != entry_point.name:
        raise ProviderLoadError(f"{where}: its ProviderSpec is named {loaded.name!r}; the names must match")
    if loaded.name in known:
        raise ProviderLoadError(f"{where}: the name is taken by the {known[loaded.name].origin} provider")
    if not (isinstance(loaded.settings_type, type) and issubclass(loaded.settings_type, VendorSettings)):
        raise ProviderLoadError(f"{where}: settings_type must be a subclass of providers.VendorSettings")
    if not callable(loaded.build) or not callable(loaded.is_configured):
        raise ProviderLoadError(f"{where}: build and is_configured must be callables")
    return ProviderSpec(
        name=loaded.name,
        env_prefix=loaded.env_prefix,
        settings_type=loaded.settings_type,
        build=loaded.build,
        is_configured=loaded.is_configured,
        receipts=loaded.receipts,
        dev_only=False,  # only the built-in console may be development-only
        origin=f"entry point {entry_point.value!r}",
    )


def check_adapter(spec: ProviderSpec, adapter: object) -> Adapter:
    """``adapter`` as one of the two protocols, or :class:`ProviderLoadError` naming what is missing."""
    if isinstance(adapter, SmsSender) and _coroutines(adapter, "send"):
        return adapter
    if isinstance(adapter, VerificationProvider) and _coroutines(adapter, "start", "check"):
        return adapter
    raise ProviderLoadError(
        f"provider {spec.name!r} ({spec.origin}): build() returned a {type(adapter).__name__}, which implements "
        "neither SmsSender (name, max_length, async send) nor VerificationProvider "
        "(name, code_length_range, async start and check)"
    )


def trial_build(spec: ProviderSpec, settings: VendorSettings) -> None:
    """Build a third-party adapter once at start-up, so a broken one fails there, named, not on first use.

    Building does no I/O (the protocol's rule), so an unused client is enough.
    """
    try:
        adapter = spec.build(settings, httpx.AsyncClient())
    except Exception as exc:  # the package's own error, reported as its failure (without its secrets)
        reason = scrub(f"{type(exc).__name__}: {exc}", secrets=settings.secrets())
        raise ProviderLoadError(f"provider {spec.name!r} ({spec.origin}): build() failed: {reason}") from exc
    check_adapter(spec, adapter)


def _coroutines(adapter: object, *methods: str) -> bool:
    return all(inspect.iscoroutinefunction(getattr(adapter, method, None)) for method in methods)


def _built_in() -> dict[str, ProviderSpec]:
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
        adapter = check_adapter(specs[name], specs[name].build(vendor_settings, client))
        if isinstance(adapter, SmsSender):
            built.senders[name] = adapter
        else:
            built.verifiers[name] = adapter
    return built
