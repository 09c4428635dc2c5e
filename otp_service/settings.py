"""Process settings: read from the environment once, validated at start-up.

Every problem is reported as :class:`SettingsError` naming the variable, so a bad deployment stops
with ``OTP_API_KEYS: entry 2 is not name:secret`` instead of failing on the first request. Development
mode (``OTP_ENV=dev``) fills what is missing; production refuses to start without it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Literal, TypeVar

import msgspec

from providers import ProviderSpec, VendorSettings, discover, load_vendor_settings

__all__ = ("Settings", "SettingsError", "load_settings")

T = TypeVar("T", int, float)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SettingsError(ValueError):
    pass


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Literal["production", "dev"] = "production"
    redis_url: str | None = None
    api_keys: dict[str, str] = msgspec.field(default_factory=dict)  # client name -> secret
    admin_token: str | None = None
    webhook_secret: str | None = None
    pepper: bytes = b""
    webotp_host: str | None = None
    test_numbers_enabled: bool = False
    providers: list[str] = msgspec.field(default_factory=list)  # OTP_PROVIDERS: default fallback order
    vendors: dict[str, VendorSettings] = msgspec.field(default_factory=dict)  # configured adapters
    argon2_time_cost: int = 1
    argon2_memory_kib: int = 8192
    hash_threads: int = 4
    redis_timeout_s: float = 2.0
    max_body_bytes: int = 8192
    settings_cache_s: float = 0.5
    trusted_proxy_hops: int = 0  # how many X-Forwarded-For hops to trust for the per-IP limit
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"
    otel_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT: tracing on when set
    otel_service_name: str = "otp-service"
    generated: dict[str, str] = msgspec.field(default_factory=dict)  # dev: what was generated, to print once
    warnings: list[str] = msgspec.field(default_factory=list)  # weak but accepted values, logged at start-up

    def __repr__(self) -> str:  # never print secrets, whatever prints the settings
        return f"Settings(env={self.env!r}, providers={self.providers!r}, vendors={sorted(self.vendors)!r})"

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    def secret_values(self) -> list[str]:
        """Everything that must never appear in a log line (used by the log redactor)."""
        values = [*self.api_keys.values(), self.pepper.decode(errors="ignore")]
        values += [v for v in (self.admin_token, self.webhook_secret) if v]
        for vendor in self.vendors.values():
            values += vendor.secrets()
        return [v for v in values if len(v) >= 4]


def _number(environ: Mapping[str, str], name: str, default: T, low: T, high: T) -> T:
    """A bounded int or float variable (the type of ``default`` decides), or a SettingsError naming it."""
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    kind = type(default)
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected {'an integer' if kind is int else 'a number'}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _api_keys(raw: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for index, entry in enumerate(filter(None, (e.strip() for e in raw.split(","))), start=1):
        name, sep, secret = entry.partition(":")
        if not sep or not secret:
            raise SettingsError(f"OTP_API_KEYS: entry {index} is not name:secret")
        if not _NAME.match(name):
            raise SettingsError(f"OTP_API_KEYS: entry {index} has an invalid client name (letters, digits, _.-)")
        if name in keys:
            raise SettingsError(f"OTP_API_KEYS: client name {name!r} appears twice")
        if secret in keys.values():
            raise SettingsError(f"OTP_API_KEYS: entry {index} reuses another client's secret")
        keys[name] = secret
    return keys


def _vendors(environ: Mapping[str, str], specs: Mapping[str, ProviderSpec]) -> dict[str, VendorSettings]:
    vendors: dict[str, VendorSettings] = {}
    for name, spec in specs.items():
        if spec.dev_only:
            continue
        try:
            settings = load_vendor_settings(spec, environ)
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
        if spec.is_configured(settings):
            vendors[name] = settings
    return vendors


def load_settings(environ: Mapping[str, str], *, force_dev: bool = False) -> Settings:
    specs = discover()
    env = "dev" if force_dev else environ.get("OTP_ENV", "production").strip().lower() or "production"
    if env in ("development", "develop"):
        env = "dev"
    if env not in ("production", "dev"):
        raise SettingsError(f"OTP_ENV: must be 'production' or 'dev', got {env!r}")
    dev = env == "dev"
    generated: dict[str, str] = {}

    api_keys = _api_keys(environ.get("OTP_API_KEYS", ""))
    if not api_keys:
        if not dev:
            raise SettingsError("OTP_API_KEYS: required in production (comma-separated name:secret pairs)")
        api_keys = {"dev": secrets.token_urlsafe(24)}
        generated["OTP_API_KEYS"] = f"dev:{api_keys['dev']}"

    pepper = environ.get("OTP_PEPPER", "")
    if not pepper:
        if not dev:
            raise SettingsError("OTP_PEPPER: required in production (a long random secret kept outside Redis)")
        pepper = secrets.token_urlsafe(32)
        generated["OTP_PEPPER"] = "(generated for this run: codes sent before a restart stop working)"

    redis_url = environ.get("OTP_REDIS_URL") or None
    if redis_url is None and not dev:
        raise SettingsError("OTP_REDIS_URL: required in production (redis://, rediss:// or redis+cluster://)")
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://", "redis+cluster://")):
        raise SettingsError("OTP_REDIS_URL: must start with redis://, rediss://, unix:// or redis+cluster://")

    vendors = _vendors(environ, specs)
    raw_order = [p.strip() for p in environ.get("OTP_PROVIDERS", "").split(",") if p.strip()]
    for name in raw_order:
        if name not in specs:
            raise SettingsError(f"OTP_PROVIDERS: unknown provider {name!r} (known: {', '.join(sorted(specs))})")
    if "console" in raw_order and not dev:
        raise SettingsError("OTP_PROVIDERS: 'console' prints codes to the terminal and is refused outside development")
    missing = [n for n in raw_order if n != "console" and n not in vendors]
    if missing:
        first = specs[missing[0]].env_prefix
        raise SettingsError(f"OTP_PROVIDERS: {', '.join(missing)} listed but not configured (set {first}_* variables)")
    order = raw_order or [n for n in ("message_central", "gatum", "wavy", "instasent", "conectaline") if n in vendors]
    if dev:
        if not order:
            order = ["console"]
        try:
            vendors.setdefault("console", load_vendor_settings(specs["console"], environ))
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
    elif not order:
        raise SettingsError("OTP_PROVIDERS: production needs at least one configured provider (none is configured)")

    test_numbers = environ.get("OTP_TEST_NUMBERS", "").strip().lower()
    if test_numbers not in ("", "enabled", "disabled"):
        raise SettingsError("OTP_TEST_NUMBERS: must be 'enabled' or unset")
    log_format = environ.get("OTP_LOG_FORMAT", "console" if dev else "json")
    if log_format not in ("json", "console"):
        raise SettingsError("OTP_LOG_FORMAT: must be 'json' or 'console'")
    webotp = environ.get("OTP_WEBOTP_HOST", "").strip() or None
    if webotp is not None and not re.match(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$", webotp):
        raise SettingsError("OTP_WEBOTP_HOST: must be a bare host name such as example.com")

    warnings = []
    if len(pepper) < 16:
        warnings.append("OTP_PEPPER: shorter than 16 characters; use a long random secret (e.g. 32+ characters)")
    short = [name for name, secret in api_keys.items() if len(secret) < 16]
    if short:
        warnings.append(f"OTP_API_KEYS: secrets of {', '.join(short)} are shorter than 16 characters")

    return Settings(
        warnings=warnings,
        env="dev" if dev else "production",
        redis_url=redis_url,
        api_keys=api_keys,
        admin_token=environ.get("OTP_ADMIN_TOKEN") or None,
        webhook_secret=environ.get("OTP_WEBHOOK_SECRET") or None,
        pepper=pepper.encode(),
        webotp_host=webotp,
        test_numbers_enabled=test_numbers == "enabled",
        providers=order,
        vendors=vendors,
        argon2_time_cost=_number(environ, "OTP_ARGON2_TIME_COST", 1, 1, 10),
        argon2_memory_kib=_number(environ, "OTP_ARGON2_MEMORY_KIB", 8192, 1024, 1024 * 1024),
        hash_threads=_number(environ, "OTP_HASH_THREADS", 4, 1, 64),
        redis_timeout_s=_number(environ, "OTP_REDIS_TIMEOUT_S", 2.0, 0.05, 60.0),
        max_body_bytes=_number(environ, "OTP_MAX_BODY_BYTES", 8192, 1024, 1024 * 1024),
        settings_cache_s=_number(environ, "OTP_SETTINGS_CACHE_S", 0.5, 0.0, 1.0),
        trusted_proxy_hops=_number(environ, "OTP_TRUSTED_PROXY_HOPS", 0, 0, 10),
        log_format=log_format,  # type: ignore[arg-type]
        log_level=environ.get("OTP_LOG_LEVEL", "INFO").upper(),
        otel_endpoint=environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
        otel_service_name=environ.get("OTEL_SERVICE_NAME") or "otp-service",
        generated=generated,
    )
