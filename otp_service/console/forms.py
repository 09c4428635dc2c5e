"""The settings forms: what the pages show in each input, and what an admin typed, read back.

Each input is checked on its own against the same types and ranges as the API
(``policy.SettingsPatch``), so every wrong input is pointed out at once next to itself; the rules that
span fields (a provider not configured, a template without ``{code}``) come from the save itself,
which names its field the same way. Windows are two inputs (``send_limit.count``,
``send_limit.window_seconds``); lists are comma-separated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from ..domain.policy import LiveSettings, SettingsPatch

__all__ = ("INTEGERS", "WINDOWS", "FormValues", "form_values", "read_settings_form")

INTEGERS = ("code_length", "ttl_seconds", "max_attempts", "resend_cooldown_seconds")
WINDOWS = ("send_limit", "check_limit", "source_check_limit", "client_limit", "ip_limit")
_LISTS = ("allowed_countries", "providers")

FormValues = dict[str, str]  # input name -> its text


def form_values(settings: LiveSettings | Mapping[str, Any]) -> FormValues:
    """The inputs' texts for settings (or for an app's overrides: a partial mapping)."""
    data = msgspec.to_builtins(settings) if isinstance(settings, LiveSettings) else dict(settings)
    values: FormValues = {}
    for name in INTEGERS:
        if name in data:
            values[name] = str(data[name])
    for name in WINDOWS:
        if name in data:
            values[f"{name}.count"] = str(data[name]["count"])
            values[f"{name}.window_seconds"] = str(data[name]["window_seconds"])
    if "brand" in data:
        values["brand"] = data["brand"]
    if "allowed_countries" in data:
        values["allowed_countries"] = ", ".join(data["allowed_countries"] or [])
    if "providers" in data:
        values["providers"] = ", ".join(data["providers"])
    return values


def _integer(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text  # left as text: the type check below says "expected int"


def _check(name: str, value: Any) -> str | None:
    try:
        msgspec.convert({name: value}, SettingsPatch, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc).split(" - at `", 1)[0]
        message = message.replace("Expected `int`, got `str`", "a whole number is required")
        message = re.sub(r"Expected `int` >= (\d+)", r"must be at least \1", message)
        return re.sub(r"Expected `int` <= (\d+)", r"must be at most \1", message)
    return None


def read_settings_form(form: Mapping[str, str], *, partial: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields the form sets and the errors by input name.

    ``partial`` (an app's overrides): an empty input means "no override" and reads as ``None``;
    otherwise every input is required, except the allowed countries (empty: any country).
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def empty(name: str) -> bool:
        return not form.get(name, "").strip()

    for name in INTEGERS:
        if empty(name):
            if partial:
                values[name] = None
            else:
                errors[name] = "required"
            continue
        values[name] = _integer(form[name].strip())
        if (error := _check(name, values[name])) is not None:
            errors[name] = error
    for name in WINDOWS:
        parts = (f"{name}.count", f"{name}.window_seconds")
        if partial and all(empty(p) for p in parts):
            values[name] = None
            continue
        missing = [p for p in parts if empty(p)]
        for part in missing:
            errors[part] = "required"
        if missing:
            continue
        window = {"count": _integer(form[parts[0]].strip()), "window_seconds": _integer(form[parts[1]].strip())}
        values[name] = window
        if (error := _check(name, window)) is not None:
            where = _path(name, window)
            errors[where if where in parts else parts[0]] = error
    if empty("brand"):
        if partial:
            values["brand"] = None
        else:
            errors["brand"] = "required"
    else:
        values["brand"] = form["brand"].strip()
        if (error := _check("brand", values["brand"])) is not None:
            errors["brand"] = error
    for name in _LISTS:
        items = [item.strip() for item in form.get(name, "").replace(" ", ",").split(",") if item.strip()]
        if not items:
            if partial:
                values[name] = None
            elif name == "allowed_countries":
                values[name] = None  # any country
            else:
                errors[name] = "at least one provider is required"
            continue
        values[name] = [item.upper() for item in items] if name == "allowed_countries" else items
        if (error := _check(name, values[name])) is not None:
            errors[name] = error
    return values, errors


def _path(name: str, value: Any) -> str:
    """Where msgspec found the problem in one field's value (``send_limit.count``), or ``""``."""
    try:
        msgspec.convert({name: value}, SettingsPatch, strict=True)
    except msgspec.ValidationError as exc:
        _, _, at = str(exc).partition(" - at `$.")
        return at.rstrip("`")
    return ""
