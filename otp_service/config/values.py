"""Parsers for single variables; each raises :class:`SettingsError` naming the variable it read."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import NamedTuple, TypeVar

from redis.connection import parse_url

from .problems import SettingsError

__all__ = (
    "LOG_LEVELS",
    "OTEL_MISSING",
    "ApiKey",
    "admin_tokens",
    "api_keys",
    "log_level",
    "number",
    "otel_installed",
    "redis_url",
    "webotp_host",
)

T = TypeVar("T", int, float)
# fullmatch, never ``$``: Python's ``$`` also matches before a final newline.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")
_SCHEMES = ("redis://", "rediss://", "unix://", "redis+cluster://")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
OTEL_MISSING = (
    "OTEL_EXPORTER_OTLP_ENDPOINT: set, but tracing needs the `otel` extra, which is not installed: "
    "install otp-service[otel] or unset the variable"
)
# What otp_service.tracing imports when tracing is on.
_OTEL_MODULES = (
    "litestar.plugins.opentelemetry",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.sdk.trace",
)


def number(environ: Mapping[str, str], name: str, default: T, low: T, high: T) -> T:
    """A bounded int or float variable (the type of ``default`` decides)."""
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


class ApiKey(NamedTuple):
    """One entry of ``OTP_API_KEYS``: ``app:secret`` or ``app:secret:public``.

    An app may have several keys (so they can rotate): the first is named after the app, the next
    ``app#2``, ``app#3``... (names only ever appear in logs and the admin API, never secrets).
    ``public`` marks a key shipped inside a client (a mobile app calling us directly): only such
    keys are limited by the caller's own address.
    """

    name: str
    app: str
    secret: str
    public: bool


def api_keys(raw: str) -> list[ApiKey]:
    """``app:secret,app2:secret2:public``; errors say which entry, never which secret."""
    keys: list[ApiKey] = []
    for index, entry in enumerate(filter(None, (e.strip() for e in raw.split(","))), start=1):
        app, sep, secret = entry.partition(":")
        public = secret.endswith(":public")
        secret = secret.removesuffix(":public") if public else secret
        if not sep or not secret:
            raise SettingsError(f"OTP_API_KEYS: entry {index} is not app:secret (or app:secret:public)")
        if not _NAME.fullmatch(app):
            raise SettingsError(f"OTP_API_KEYS: entry {index} has an invalid app name (letters, digits, _.-)")
        if any(secret == key.secret for key in keys):
            raise SettingsError(f"OTP_API_KEYS: entry {index} reuses another key's secret")
        count = sum(key.app == app for key in keys)
        keys.append(ApiKey(f"{app}#{count + 1}" if count else app, app, secret, public))
    return keys


_ADMIN = re.compile(r"[a-z][a-z0-9_.-]{0,31}")


def admin_tokens(raw: str, legacy: str | None) -> dict[str, str]:
    """``OTP_ADMIN_TOKENS=name:secret,...`` plus the single ``OTP_ADMIN_TOKEN`` as ``admin``.

    Each admin has a name of their own, so the audit log says who changed what; errors say which
    entry, never which secret.
    """
    admins: dict[str, str] = {}
    for index, entry in enumerate(filter(None, (e.strip() for e in raw.split(","))), start=1):
        name, sep, secret = entry.partition(":")
        if not sep or not secret:
            raise SettingsError(f"OTP_ADMIN_TOKENS: entry {index} is not name:secret")
        if not _ADMIN.fullmatch(name):
            raise SettingsError(
                f"OTP_ADMIN_TOKENS: entry {index} has an invalid name (lower-case letters, digits, _.-; 32 at most)"
            )
        if name in admins:
            raise SettingsError(f"OTP_ADMIN_TOKENS: entry {index} repeats the name {name!r}")
        if secret in admins.values():
            raise SettingsError(f"OTP_ADMIN_TOKENS: entry {index} reuses another admin's secret")
        admins[name] = secret
    if legacy:
        if "admin" in admins:
            raise SettingsError("OTP_ADMIN_TOKENS: names 'admin', which OTP_ADMIN_TOKEN already is; drop one of them")
        if legacy in admins.values():
            raise SettingsError("OTP_ADMIN_TOKENS: an entry reuses the secret of OTP_ADMIN_TOKEN")
        admins["admin"] = legacy
    return admins


def redis_url(url: str) -> str:
    """The URL when redis-py can read it (it may hold a password: never echoed)."""
    if not url.startswith(_SCHEMES):
        raise SettingsError("OTP_REDIS_URL: must start with redis://, rediss://, unix:// or redis+cluster://")
    single = "redis://" + url.removeprefix("redis+cluster://") if url.startswith("redis+cluster://") else url
    try:
        parsed = parse_url(single)  # type: ignore[no-untyped-call]  # redis-py's own parser (urllib)
    except ValueError as exc:
        raise SettingsError(f"OTP_REDIS_URL: not a valid URL ({exc})") from None
    if url.startswith("unix://") and not parsed.get("path"):
        raise SettingsError("OTP_REDIS_URL: unix:// needs the socket's path, e.g. unix:///run/redis.sock")
    return url


def log_level(raw: str) -> str:
    level = raw.strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise SettingsError(f"OTP_LOG_LEVEL: must be one of {', '.join(LOG_LEVELS)} (any case), got {raw!r}")
    return level


def webotp_host(raw: str) -> str | None:
    host = raw.strip() or None
    if host is not None and not _HOST.fullmatch(host):
        raise SettingsError("OTP_WEBOTP_HOST: must be a bare host name such as example.com")
    return host


def otel_installed() -> bool:
    """Whether the ``otel`` extra is importable (imported only when tracing is asked for)."""
    try:
        for module in _OTEL_MODULES:
            importlib.import_module(module)
    except ImportError:
        return False
    return True
