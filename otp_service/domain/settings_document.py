"""The live settings document as Redis holds it: read strictly where this release knows a field,
leniently where it does not, and written back with whatever it did not understand kept.

Shape::

    {"version": 7,
     "settings": {<every field this release knows, the values in force>, <fields of a newer release>},
     "overridden": ["allowed_countries", "brand"],       # set by an admin; the rest follow the baseline
     <keys of a newer release>}

A full copy plus the names an admin set, rather than the overrides alone: a replica of the previous
release (which reads ``settings`` as a complete document) still serves the right values during a
rolling upgrade, the document reads on its own in ``redis-cli``, and a replica of this release takes
only the ``overridden`` fields from it, so a change of the baseline file reaches every field nobody
PATCHed. A document without ``overridden`` was written by the previous release, whose baseline was the
built-in defaults: the fields that differ from them are what its admins changed (a PATCH back to a
default cannot be told apart, and needs none), the others follow the baseline file.

Unknown fields are ignored and kept; a known field with a value this release refuses (type, range,
a rule a PATCH would have refused) makes the document unreadable as a whole: serving part of it, or
the baseline for that field, would be the silent fallback the operator could not see.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import msgspec

from .errors import SettingsInvalid
from .policy import LiveSettings, PolicyContext, SettingsPatch, validate_settings

__all__ = ("KNOWN_FIELDS", "Document", "Unreadable", "absent", "digest", "encode", "parse")

KNOWN_FIELDS = frozenset(LiveSettings.__struct_fields__)


class Unreadable(Exception):
    """The stored document cannot be used; ``reason`` says why (never a value from it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class Document:
    version: int
    overrides: frozenset[str]  # known fields an admin set
    settings: LiveSettings  # in force: the baseline with the overrides on top
    raw: dict[str, Any]  # the decoded document, so a rewrite keeps what a newer release put in it
    digest: str  # of the stored bytes ("" when there is no document): the compare-and-set token

    @property
    def missing(self) -> bool:
        return not self.digest


def digest(raw: bytes | None) -> str:
    """What the compare-and-set script compares (``redis.sha1hex`` of the stored value)."""
    return "" if raw is None else hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def absent(baseline: LiveSettings) -> Document:
    return Document(version=0, overrides=frozenset(), settings=baseline, raw={}, digest="")


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise Unreadable(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise Unreadable("not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise Unreadable("not a JSON object")
    return data


def parse(raw: bytes, baseline: LiveSettings, defaults: LiveSettings) -> Document:
    """The document in ``raw`` on top of ``baseline``, or :class:`Unreadable`.

    ``defaults`` (built in, with ``OTP_PROVIDERS``) tell the admin changes in a previous release's document."""
    data = _decode(raw)
    version = data.get("version")
    if type(version) is not int or version < 0:
        raise Unreadable("version: not a whole number")
    stored = data.get("settings")
    if not isinstance(stored, dict):
        raise Unreadable("settings: missing or not an object")
    names = data.get("overridden")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise Unreadable("overridden: not a list of field names")
    known = {name: value for name, value in stored.items() if name in KNOWN_FIELDS}
    try:
        values = msgspec.convert(known, SettingsPatch)
    except msgspec.ValidationError as exc:
        raise Unreadable(f"settings: {exc}") from None
    if names is None:  # the previous release's full copy: what differs from its baseline was PATCHed
        names = [name for name in known if getattr(values, name) != getattr(defaults, name)]
    overrides = frozenset(name for name in names if name in known)
    settings = msgspec.structs.replace(baseline, **{name: getattr(values, name) for name in overrides})
    # The rules a PATCH passes (a template without {code}, no "en"...), except that each provider is
    # configured here: a replica configured with fewer vendors skips the others when it sends.
    try:
        named = {*settings.providers, *(p for route in settings.routes.values() for p in route.providers)}
        validate_settings(settings, PolicyContext(available_providers=frozenset(named)))
    except SettingsInvalid as exc:
        raise Unreadable(f"settings: {exc.detail}") from None
    return Document(version=version, overrides=overrides, settings=settings, raw=data, digest=digest(raw))


def encode(previous: Document | None, settings: LiveSettings, overrides: frozenset[str], version: int) -> bytes:
    """The document to store, keeping every field and key of ``previous`` this release does not know."""
    raw = previous.raw if previous is not None else {}
    stored = raw.get("settings")
    foreign = {k: v for k, v in stored.items() if k not in KNOWN_FIELDS} if isinstance(stored, dict) else {}
    names = raw.get("overridden")
    foreign_names = [n for n in names if n not in KNOWN_FIELDS] if isinstance(names, list) else []
    document = {
        **raw,
        "version": version,
        "settings": {**msgspec.to_builtins(settings), **foreign},
        "overridden": sorted(overrides) + foreign_names,
    }
    return msgspec.json.encode(document)
