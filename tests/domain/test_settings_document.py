"""The settings document's format: what it keeps for other releases and what makes it unreadable."""

from __future__ import annotations

import json

import pytest

from otp_service.domain.policy import LiveSettings, Window, default_settings
from otp_service.domain.settings_document import Unreadable, absent, encode, parse

DEFAULTS = default_settings(["gatum"])
BASELINE = LiveSettings(providers=["gatum"], max_attempts=4, brand="Baseline", allowed_countries=["ES"])


def stored(settings: dict[str, object], **extra: object) -> bytes:
    return json.dumps({"version": 2, "settings": settings, **extra}).encode()


def test_only_the_overridden_fields_come_from_the_document() -> None:
    doc = parse(stored({"brand": "Globex", "max_attempts": 9}, overridden=["brand"]), BASELINE, DEFAULTS)
    assert (doc.settings.brand, doc.settings.max_attempts) == ("Globex", 4)
    assert doc.overrides == {"brand"}


def test_a_rewrite_keeps_what_a_newer_release_wrote() -> None:
    raw = stored({"brand": "Globex", "voice": True}, overridden=["brand", "voice"], schema=3)
    doc = parse(raw, BASELINE, DEFAULTS)
    again = json.loads(encode(doc, doc.settings, doc.overrides | {"ttl_seconds"}, doc.version + 1))
    assert again["settings"]["voice"] is True and again["schema"] == 3
    assert again["overridden"] == ["brand", "ttl_seconds", "voice"]
    assert again["version"] == 3


def test_the_previous_release_full_copy_counts_what_differs_from_the_defaults() -> None:
    full = json.loads(encode(None, DEFAULTS, frozenset(), 1))["settings"]
    full["send_limit"] = {"count": 3, "window_seconds": 600}
    doc = parse(stored(full), BASELINE, DEFAULTS)
    assert doc.overrides == {"send_limit"}
    assert doc.settings.send_limit == Window(3, 600)
    assert doc.settings.max_attempts == 4  # equal to the defaults: the baseline's


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b'{"version": -1, "settings": {}}',
        b'{"version": 1, "settings": {}, "overridden": "brand"}',
        b'{"version": 1, "settings": {"ttl_seconds": 10}}',
        b'{"version": 1, "settings": {"templates": {"en": "{code:>9}"}}}',
    ],
)
def test_what_makes_a_document_unreadable(raw: bytes) -> None:
    with pytest.raises(Unreadable):
        parse(raw, BASELINE, DEFAULTS)


def test_no_document_is_the_baseline() -> None:
    doc = absent(BASELINE)
    assert doc.missing and doc.settings == BASELINE and doc.overrides == frozenset()
