"""``OTP_SETTINGS_FILE``: the operator's baseline of the live settings, a TOML or JSON file.

It takes the fields of ``PATCH /v1/admin/settings``, as strictly (a typo or ``"8"`` for a number is
an error, not a default), and is checked like the environment: at start-up and by ``check-config``,
each problem naming the file and the field. What admins PATCH lives in Redis on top of it; a field
nobody PATCHed follows the file, and a lost document falls back to the file, never to the built-in
defaults.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

import msgspec

from ..domain.errors import SettingsInvalid
from ..domain.policy import LiveSettings, PolicyContext, SettingsPatch, apply_patch, default_settings
from .problems import SettingsError

__all__ = ("VARIABLE", "live_baseline")

VARIABLE = "OTP_SETTINGS_FILE"
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def _load(path: str) -> Any:
    suffix = Path(path).suffix.lower()
    if suffix not in (".toml", ".json"):
        raise SettingsError(f"{VARIABLE}: {path} must end in .toml or .json")
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"{VARIABLE}: {path} is not UTF-8 text") from None
    except OSError as exc:
        raise SettingsError(f"{VARIABLE}: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
    try:
        return tomllib.loads(text) if suffix == ".toml" else msgspec.json.decode(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{VARIABLE}: {path} is not valid TOML ({exc})") from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise SettingsError(f"{VARIABLE}: {path} is not valid JSON ({exc})") from None


def _field_error(path: str, exc: msgspec.ValidationError) -> SettingsError:
    """msgspec's ``Expected `int`, got `str` - at `$.code_length``` as ``<file>: code_length: ...``."""
    match = _AT.match(str(exc))
    message, where = (match.group("message"), match.group("path") or "") if match else (str(exc), "")
    unknown = re.match(r"Object contains unknown field `([^`]*)`", message)
    if unknown:
        where, message = f"{where}.{unknown.group(1)}", "unknown field (see PATCH /v1/admin/settings for the fields)"
    field = where.lstrip(".") or "(document)"
    return SettingsError(f"{VARIABLE}: {path}: {field}: {message}")


def live_baseline(path: str | None, providers: list[str], available: Collection[str]) -> LiveSettings:
    """The built-in defaults with ``OTP_PROVIDERS`` as the fallback order, and the file on top."""
    defaults = default_settings(providers)
    if path is None:
        return defaults
    data = _load(path)
    if not isinstance(data, dict):
        raise SettingsError(f"{VARIABLE}: {path}: expected a table of settings (the fields of a PATCH)")
    try:
        values = msgspec.convert(data, SettingsPatch)
    except msgspec.ValidationError as exc:
        raise _field_error(path, exc) from None
    # OTP_PROVIDERS' own problems are reported under its name; here the file is checked against them.
    ctx = PolicyContext(available_providers=frozenset(available) | frozenset(providers))
    try:
        baseline, _ = apply_patch(defaults, values, ctx)
    except SettingsInvalid as exc:
        raise SettingsError(f"{VARIABLE}: {path}: {exc.detail}") from None
    return baseline
