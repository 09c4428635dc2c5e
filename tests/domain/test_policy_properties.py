"""Live settings, as a property: any in-range PATCH applies (and stays valid) or is refused whole."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otp_service.domain.errors import SettingsInvalid
from otp_service.domain.policy import LiveSettings, SettingsPatch, Window, apply_patch, default_settings
from tests.domain.test_policy import ALL_PROVIDERS, CTX, snapshot

# -- property: in-range patches never blow up -------------------------------------------------------


def _text_with_placeholders() -> st.SearchStrategy[str]:
    piece = st.one_of(
        st.sampled_from(["{code}", "{brand}", "{minutes}", "{", "}", "{{", "}}", "{x}", " ", "ó", "€", "\n"]),
        st.text(max_size=8),
    )
    return st.lists(piece, min_size=1, max_size=12).map("".join).filter(lambda s: 1 <= len(s) <= 480)


windows = st.builds(Window, st.integers(1, 1_000_000), st.integers(1, 7 * 86400))
locales = st.from_regex(r"\A[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}\Z", fullmatch=True)
providers = st.lists(
    st.one_of(st.sampled_from([*ALL_PROVIDERS, "console"]), st.from_regex(r"\A[a-z][a-z0-9_]{1,31}\Z")),
    min_size=1,
    max_size=16,
)
phone_keys = st.one_of(
    st.from_regex(r"\A\+?[0-9 ()-]{4,31}\Z", fullmatch=True),
    st.text(min_size=4, max_size=32),
    st.sampled_from(["+34600100200", "+1 500 555 0006", "+5511987654321"]),
)
patches = st.fixed_dictionaries(
    {},
    optional={
        "code_length": st.integers(4, 10),
        "ttl_seconds": st.integers(30, 86400),
        "max_attempts": st.integers(1, 20),
        "resend_cooldown_seconds": st.integers(0, 3600),
        "send_limit": windows,
        "check_limit": windows,
        "client_limit": windows,
        "ip_limit": windows,
        "allowed_countries": st.none() | st.lists(st.from_regex(r"\A[A-Z]{2}\Z", fullmatch=True), max_size=5),
        "providers": providers,
        "templates": st.dictionaries(st.one_of(st.just("en"), locales), _text_with_placeholders(), max_size=4),
        "brand": st.text(min_size=1, max_size=40),
        "test_numbers": st.dictionaries(phone_keys, st.from_regex(r"\A[0-9]{4,10}\Z", fullmatch=True), max_size=3),
    },
).filter(lambda d: "templates" not in d or len(d["templates"]) >= 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(fields=patches)
def test_any_in_range_patch_applies_or_raises_settings_invalid(fields: dict[str, Any]) -> None:
    patch = SettingsPatch(**fields)
    # The same values pass msgspec's own range checks, as a PATCH body would.
    assert msgspec.json.decode(msgspec.json.encode(patch), type=SettingsPatch) == patch
    current = default_settings(["gatum"])
    before = snapshot(current)
    refused: SettingsInvalid | None = None
    try:
        merged, changed = apply_patch(current, patch, CTX)
    except SettingsInvalid as exc:
        refused = exc
    assert snapshot(current) == before
    if refused is not None:
        assert refused.errors
        return
    # Applied: the result is itself valid settings and only patched fields changed.
    assert msgspec.json.decode(msgspec.json.encode(merged), type=LiveSettings) == merged
    assert set(changed) <= set(fields)
