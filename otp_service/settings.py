"""Process settings: read from the environment once, validated at start-up.

Every problem names the variable it is about (``OTP_API_KEYS: entry 2 is not app:secret``), and
one pass reports them all (:class:`ConfigErrors`), so a bad deployment is fixed in one round instead
of one variable per restart. ``otp-service check-config`` runs exactly this. Development mode
(``OTP_ENV=dev``) fills what is missing; production refuses to start without it. The pieces live in
:mod:`otp_service.config`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Literal

import msgspec

from providers import ProviderSpec, VendorSettings, discover, load_vendor_settings
from providers.registry import ProviderLoadError, trial_build

from .config.known import SECRET_VARIABLES, unknown_variables
from .config.problems import ConfigErrors, Problems, SettingsError
from .config.secret_files import read_secret_files
from .config.settings_file import live_baseline
from .config.strength import weak_secrets
from .config.values import (
    OTEL_MISSING,
    admin_tokens,
    api_keys,
    log_level,
    number,
    otel_installed,
    redis_url,
    webotp_host,
)
from .domain.policy import LiveSettings

__all__ = ("ConfigErrors", "Settings", "SettingsError", "load_settings")

_DEFAULT_ORDER = ("message_central", "gatum", "wavy", "instasent", "conectaline")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Literal["production", "dev"] = "production"
    redis_url: str | None = None
    api_keys: dict[str, str] = msgspec.field(default_factory=dict)  # key name -> secret
    key_apps: dict[str, str] = msgspec.field(default_factory=dict)  # key name -> the app it belongs to
    public_keys: frozenset[str] = frozenset()  # key names marked :public (limited by the caller's address)
    admin_token: str | None = None
    webhook_secret: str | None = None
    pepper: bytes = b""
    webotp_host: str | None = None
    test_numbers_enabled: bool = False
    providers: list[str] = msgspec.field(default_factory=list)  # OTP_PROVIDERS: default fallback order
    vendors: dict[str, VendorSettings] = msgspec.field(default_factory=dict)  # configured adapters
    settings_file: str | None = None  # OTP_SETTINGS_FILE: the operator's baseline of the live settings
    live_baseline: LiveSettings | None = None  # that file on the built-in defaults (None: the defaults)
    argon2_time_cost: int = 1
    argon2_memory_kib: int = 8192
    hash_threads: int = 4
    redis_timeout_s: float = 2.0
    max_body_bytes: int = 8192
    settings_cache_s: float = 0.5
    receipt_refresh_after_s: float = 60.0  # ask the vendor's status endpoint when a receipt is this late; 0: never
    trusted_proxy_hops: int = 0  # how many X-Forwarded-For hops to trust for the per-IP limit
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"
    otel_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT: tracing on when set
    otel_service_name: str = "otp-service"
    metrics_port: int | None = None  # OTP_METRICS_PORT: /metrics there, not on the public port
    workers: int = 1  # OTP_WORKERS, set by `serve --workers`: reported in the start-up line
    generated: dict[str, str] = msgspec.field(default_factory=dict)  # dev: what was generated, to print once
    warnings: list[str] = msgspec.field(default_factory=list)  # weak but accepted values, logged at start-up
    # OTP_ADMIN_TOKENS (name -> secret) with OTP_ADMIN_TOKEN as "admin": who may use /v1/admin and /admin.
    admins: dict[str, str] = msgspec.field(default_factory=dict)
    # Outbound events (otp_service/domain/event_worker.py): this replica's delivery worker and its schedule.
    events_worker: bool = True  # OTP_EVENTS_WORKER=off: this replica publishes but does not deliver
    events_timeout_s: float = 10.0
    events_first_retry_s: float = 5.0
    events_max_retry_s: float = 3600.0
    events_retry_for_s: float = 86400.0
    events_claim_after_s: float = 30.0
    events_poll_s: float = 0.5

    def __repr__(self) -> str:  # never print secrets, whatever prints the settings
        return f"Settings(env={self.env!r}, providers={self.providers!r}, vendors={sorted(self.vendors)!r})"

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def redis_kind(self) -> Literal["embedded", "cluster", "unix", "single"]:
        """What kind of Redis the URL points at, for the start-up line (the URL may hold a password)."""
        if self.redis_url is None:
            return "embedded"
        if self.redis_url.startswith("redis+cluster://"):
            return "cluster"
        return "unix" if self.redis_url.startswith("unix://") else "single"

    def secret_values(self) -> list[str]:
        """Everything that must never appear in a log line (used by the log redactor)."""
        values = [*self.api_keys.values(), self.pepper.decode(errors="ignore")]
        values += [v for v in (self.admin_token, self.webhook_secret) if v]
        values += list(self.admins.values())
        for vendor in self.vendors.values():
            values += vendor.secrets()
        return [v for v in values if v]  # every length: the redactor decides how to match short ones


def _secret_variables(specs: Mapping[str, ProviderSpec]) -> list[str]:
    """Every variable that may come from a file instead: ours and each adapter's secret fields."""
    names = list(SECRET_VARIABLES)
    for spec in specs.values():
        names += [f"{spec.env_prefix}_{field.upper()}" for field in sorted(spec.settings_type.secret_fields)]
    return names


def _vendors(
    environ: Mapping[str, str], specs: Mapping[str, ProviderSpec], problems: Problems
) -> tuple[dict[str, VendorSettings], set[str]]:
    """The configured adapters' settings, and the names of those whose variables are wrong."""
    vendors: dict[str, VendorSettings] = {}
    broken: set[str] = set()
    for name, spec in specs.items():
        if spec.dev_only:
            continue
        try:
            settings = load_vendor_settings(spec, environ)
        except ValueError as exc:
            problems.add(str(exc))
            broken.add(name)
            continue
        if spec.is_configured(settings):
            if spec.origin != "built-in":
                try:
                    trial_build(spec, settings)
                except ProviderLoadError as exc:
                    problems.add(str(exc))
                    broken.add(name)
                    continue
            vendors[name] = settings
    return vendors, broken


def _provider_order(
    environ: Mapping[str, str],
    specs: Mapping[str, ProviderSpec],
    vendors: dict[str, VendorSettings],
    broken: set[str],
    dev: bool,
    problems: Problems,
) -> list[str]:
    raw_order = [p.strip() for p in environ.get("OTP_PROVIDERS", "").split(",") if p.strip()]
    for name in raw_order:
        if name not in specs:
            problems.add(f"OTP_PROVIDERS: unknown provider {name!r} (known: {', '.join(sorted(specs))})")
    for name in sorted({n for n in raw_order if raw_order.count(n) > 1}):
        problems.add(f"OTP_PROVIDERS: {name!r} is listed twice")  # the live settings would refuse it at start
    if "console" in raw_order and not dev:
        problems.add("OTP_PROVIDERS: 'console' prints codes to the terminal and is refused outside development")
    # A provider whose own variables are wrong was reported already: not "not configured" on top.
    missing = [n for n in raw_order if n in specs and n != "console" and n not in vendors and n not in broken]
    if missing:
        first = specs[missing[0]].env_prefix
        problems.add(f"OTP_PROVIDERS: {', '.join(missing)} listed but not configured (set {first}_* variables)")
    order = [n for n in raw_order if n in specs] or [n for n in _DEFAULT_ORDER if n in vendors]
    if dev:
        order = order or ["console"]
        with problems.collecting():
            try:
                vendors.setdefault("console", load_vendor_settings(specs["console"], environ))
            except ValueError as exc:
                raise SettingsError(str(exc)) from exc
    elif not order and not broken:
        problems.add("OTP_PROVIDERS: production needs at least one configured provider (none is configured)")
    return order


def _required(problems: Problems, name: str, why: str) -> None:
    if not problems.mentions(name):  # an unreadable OTP_PEPPER_FILE is the problem, not a missing pepper
        problems.add(f"{name}: required in production ({why})")


def load_settings(environ: Mapping[str, str], *, force_dev: bool = False) -> Settings:
    """The settings, or :class:`ConfigErrors` listing every problem in ``environ`` at once."""
    problems = Problems()
    specs = discover(problems.errors)  # a broken third-party provider is one line here, not a traceback
    environ = read_secret_files(environ, _secret_variables(specs), problems)
    env = "dev" if force_dev else environ.get("OTP_ENV", "production").strip().lower() or "production"
    if env in ("development", "develop"):
        env = "dev"
    if env not in ("production", "dev"):
        problems.add(f"OTP_ENV: must be 'production' or 'dev', got {env!r}")
    dev = env == "dev"
    generated: dict[str, str] = {}

    entries = problems.value(None, lambda: api_keys(environ.get("OTP_API_KEYS", "")))
    keys = None if entries is None else {key.name: key.secret for key in entries}
    if keys == {}:
        if not dev:
            _required(problems, "OTP_API_KEYS", "comma-separated app:secret pairs")
        keys = {"dev": secrets.token_urlsafe(24)}
        generated["OTP_API_KEYS"] = f"dev:{keys['dev']}"

    pepper = environ.get("OTP_PEPPER", "")
    if not pepper:
        if not dev:
            _required(problems, "OTP_PEPPER", "a long random secret kept outside Redis")
        pepper = secrets.token_urlsafe(32)
        generated["OTP_PEPPER"] = "(generated for this run: codes sent before a restart stop working)"

    raw_url = environ.get("OTP_REDIS_URL", "")
    if not raw_url and not dev:
        _required(problems, "OTP_REDIS_URL", "redis://, rediss://, unix:// or redis+cluster://")
    url = problems.value(None, lambda: redis_url(raw_url)) if raw_url else None

    vendors, broken = _vendors(environ, specs, problems)
    order = _provider_order(environ, specs, vendors, broken, dev, problems)

    settings_file = environ.get("OTP_SETTINGS_FILE", "").strip() or None
    baseline = problems.value(None, lambda: live_baseline(settings_file, order, available=vendors))

    test_numbers = environ.get("OTP_TEST_NUMBERS", "").strip().lower()
    if test_numbers not in ("", "enabled", "disabled"):
        problems.add("OTP_TEST_NUMBERS: must be 'enabled' or unset")
    log_format = environ.get("OTP_LOG_FORMAT", "console" if dev else "json")
    if log_format not in ("json", "console"):
        problems.add("OTP_LOG_FORMAT: must be 'json' or 'console'")
    level = problems.value("INFO", lambda: log_level(environ.get("OTP_LOG_LEVEL", "")))
    webotp = problems.value(None, lambda: webotp_host(environ.get("OTP_WEBOTP_HOST", "")))
    otel_endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    if otel_endpoint is not None and not otel_installed():
        problems.add(OTEL_MISSING)

    def bounded(name: str, default: float, low: float, high: float) -> float:
        return problems.value(default, lambda: number(environ, name, default, low, high))

    def whole(name: str, default: int, low: int, high: int) -> int:
        return problems.value(default, lambda: number(environ, name, default, low, high))

    argon2_time_cost = whole("OTP_ARGON2_TIME_COST", 1, 1, 10)
    argon2_memory_kib = whole("OTP_ARGON2_MEMORY_KIB", 8192, 1024, 1024 * 1024)
    hash_threads = whole("OTP_HASH_THREADS", 4, 1, 64)
    redis_timeout_s = bounded("OTP_REDIS_TIMEOUT_S", 2.0, 0.05, 60.0)
    max_body_bytes = whole("OTP_MAX_BODY_BYTES", 8192, 1024, 1024 * 1024)
    settings_cache_s = bounded("OTP_SETTINGS_CACHE_S", 0.5, 0.0, 1.0)
    receipt_refresh_after_s = bounded("OTP_RECEIPT_REFRESH_AFTER_S", 60.0, 0.0, 3600.0)
    trusted_proxy_hops = whole("OTP_TRUSTED_PROXY_HOPS", 0, 0, 10)
    workers = whole("OTP_WORKERS", 1, 1, 64)
    metrics_port = whole("OTP_METRICS_PORT", 0, 1, 65535) or None
    events_worker = environ.get("OTP_EVENTS_WORKER", "on").strip().lower()
    if events_worker not in ("on", "off"):
        problems.add("OTP_EVENTS_WORKER: must be 'on' or 'off'")
    events = {
        "events_timeout_s": bounded("OTP_EVENTS_TIMEOUT_S", 10.0, 0.05, 120.0),
        "events_first_retry_s": bounded("OTP_EVENTS_FIRST_RETRY_S", 5.0, 0.01, 3600.0),
        "events_max_retry_s": bounded("OTP_EVENTS_MAX_RETRY_S", 3600.0, 0.01, 86400.0),
        "events_retry_for_s": bounded("OTP_EVENTS_RETRY_FOR_S", 86400.0, 0.01, 7 * 86400.0),
        "events_claim_after_s": bounded("OTP_EVENTS_CLAIM_AFTER_S", 30.0, 0.1, 3600.0),
        "events_poll_s": bounded("OTP_EVENTS_POLL_S", 0.5, 0.01, 10.0),
    }
    admin_token = environ.get("OTP_ADMIN_TOKEN") or None
    webhook_secret = environ.get("OTP_WEBHOOK_SECRET") or None
    no_admins: dict[str, str] = {}
    admins = problems.value(no_admins, lambda: admin_tokens(environ.get("OTP_ADMIN_TOKENS", ""), admin_token))
    named = {name: secret for name, secret in admins.items() if secret != admin_token}
    weak = weak_secrets(
        api_keys=keys or {},
        admin_token=admin_token,
        webhook_secret=webhook_secret,
        pepper=pepper,
        admin_tokens=named,
    )
    warnings: list[str] = []
    for message in weak:  # refused in production, only pointed out in development
        if dev:
            warnings.append(message)
        else:
            problems.add(message)
    for error in unknown_variables(environ):
        problems.add(error)
    problems.raise_if_any()

    return Settings(
        warnings=warnings,
        env="dev" if dev else "production",
        redis_url=url,
        api_keys=keys or {},
        key_apps={key.name: key.app for key in entries or ()} or {name: name for name in keys or {}},
        public_keys=frozenset(key.name for key in entries or () if key.public),
        admin_token=admin_token,
        webhook_secret=webhook_secret,
        pepper=pepper.encode(),
        webotp_host=webotp,
        test_numbers_enabled=test_numbers == "enabled",
        providers=order,
        vendors=vendors,
        settings_file=settings_file,
        live_baseline=baseline,
        argon2_time_cost=argon2_time_cost,
        argon2_memory_kib=argon2_memory_kib,
        hash_threads=hash_threads,
        redis_timeout_s=redis_timeout_s,
        max_body_bytes=max_body_bytes,
        settings_cache_s=settings_cache_s,
        receipt_refresh_after_s=receipt_refresh_after_s,
        trusted_proxy_hops=trusted_proxy_hops,
        workers=workers,
        log_format="console" if log_format == "console" else "json",
        log_level=level,
        otel_endpoint=otel_endpoint,
        otel_service_name=environ.get("OTEL_SERVICE_NAME") or "otp-service",
        metrics_port=metrics_port,
        generated=generated,
        admins=admins,
        events_worker=events_worker != "off",
        **events,
    )
