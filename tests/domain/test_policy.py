"""Live settings: the contract's defaults, PATCH validation (all or nothing) and NIST warnings."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from otp_service.domain.errors import SettingsInvalid
from otp_service.domain.policy import (
    LiveSettings,
    PolicyContext,
    SettingsPatch,
    Window,
    apply_patch,
    default_settings,
    nist_warnings,
)

ALL_PROVIDERS = ["message_central", "gatum", "wavy", "instasent", "conectaline"]
CTX = PolicyContext(available_providers=frozenset(ALL_PROVIDERS), code_length_ranges={"message_central": (4, 8)})

# The defaults exactly as API.md lists them ("The values below are the defaults a fresh deployment
# starts with, except providers, which starts as OTP_PROVIDERS").
CONTRACT_DEFAULTS: dict[str, Any] = {
    "code_length": 6,
    "ttl_seconds": 600,
    "max_attempts": 5,
    "resend_cooldown_seconds": 30,
    "send_limit": {"count": 5, "window_seconds": 600},
    "check_limit": {"count": 10, "window_seconds": 3600},
    "source_check_limit": {"count": 5, "window_seconds": 86400},
    "client_limit": {"count": 1000, "window_seconds": 60},
    "ip_limit": {"count": 30, "window_seconds": 600},
    "allowed_countries": None,
    "providers": ALL_PROVIDERS,
    "templates": {
        "en": "Your {brand} code is {code}. It expires in {minutes} minutes.",
        "es": "Tu código de {brand} es {code}. Caduca en {minutes} minutos.",
    },
    "brand": "Acme",
    "test_numbers": {},
    "allowed_number_types": ["mobile", "fixed_line_or_mobile"],
    "blocked_prefixes": [],
    "country_limits": {"default": {"per_hour": 1000, "per_day": 10000}},
    "sms_budget": {"per_hour": 10000, "per_day": 100000},
    "app_country_limits": {},
    "app_sms_budget": {},
    "prices": {},
    "conversion_guard": {
        "enabled": True,
        "prefix_digits": 6,
        "window_seconds": 600,
        "baseline_seconds": 86400,
        "min_sends": 20,
        "surge_factor": 5.0,
        "min_conversion": 0.2,
        "hold_seconds": 3600,
    },
    "routes": {},
    "whatsapp_fallback_seconds": 30,
    "whatsapp_templates": {},
}


def snapshot(settings: LiveSettings) -> bytes:
    return msgspec.json.encode(settings)


@pytest.fixture
def current() -> LiveSettings:
    return default_settings(["gatum", "wavy"])


# -- defaults -------------------------------------------------------------------------------------


def test_defaults_equal_the_contract() -> None:
    assert msgspec.to_builtins(default_settings(ALL_PROVIDERS)) == CONTRACT_DEFAULTS


def test_default_settings_take_the_provider_order_as_given() -> None:
    assert default_settings(["wavy", "gatum"]).providers == ["wavy", "gatum"]


def test_defaults_pass_their_own_validation() -> None:
    defaults = default_settings(ALL_PROVIDERS)
    assert msgspec.json.decode(msgspec.json.encode(defaults), type=LiveSettings) == defaults
    merged, changed = apply_patch(defaults, SettingsPatch(brand="Acme"), CTX)
    assert merged == defaults
    assert changed == []


def test_defaults_give_no_nist_warning() -> None:
    assert nist_warnings(default_settings(["gatum"]), CTX) == []


# -- apply_patch: valid -----------------------------------------------------------------------------


def test_a_valid_subset_changes_only_those_fields(current: LiveSettings) -> None:
    patch = SettingsPatch(code_length=8, ttl_seconds=300, send_limit=Window(3, 60), allowed_countries=["ES", "BR"])
    merged, changed = apply_patch(current, patch, CTX)
    assert sorted(changed) == ["allowed_countries", "code_length", "send_limit", "ttl_seconds"]
    assert merged.code_length == 8
    assert merged.ttl_seconds == 300
    assert merged.send_limit == Window(3, 60)
    assert merged.allowed_countries == ["ES", "BR"]
    untouched = set(LiveSettings.__struct_fields__) - set(changed)
    for name in untouched:
        assert getattr(merged, name) == getattr(current, name), name


def test_a_patch_repeating_current_values_reports_no_change(current: LiveSettings) -> None:
    merged, changed = apply_patch(current, SettingsPatch(code_length=6, providers=["gatum", "wavy"]), CTX)
    assert changed == []
    assert merged == current


def test_an_empty_patch_returns_the_current_settings(current: LiveSettings) -> None:
    merged, changed = apply_patch(current, SettingsPatch(), CTX)
    assert merged is current
    assert changed == []


def test_templates_are_replaced_whole(current: LiveSettings) -> None:
    merged, changed = apply_patch(current, SettingsPatch(templates={"en": "Code {code}"}), CTX)
    assert merged.templates == {"en": "Code {code}"}
    assert changed == ["templates"]


def test_allowed_countries_null_is_a_value_not_a_deletion(current: LiveSettings) -> None:
    limited, _ = apply_patch(current, SettingsPatch(allowed_countries=["ES"]), CTX)
    merged, changed = apply_patch(limited, SettingsPatch(allowed_countries=None), CTX)
    assert merged.allowed_countries is None
    assert changed == ["allowed_countries"]


def test_provider_order_can_be_changed(current: LiveSettings) -> None:
    merged, changed = apply_patch(current, SettingsPatch(providers=["wavy", "gatum", "instasent"]), CTX)
    assert merged.providers == ["wavy", "gatum", "instasent"]
    assert changed == ["providers"]


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+34 600 100 200", "+34600100200"),
        ("+34-600-100-200", "+34600100200"),
        ("+1 (500) 555-0006", "+15005550006"),
        ("+15005550006", "+15005550006"),
    ],
)
def test_test_number_keys_are_normalised_to_e164(current: LiveSettings, raw: str, e164: str) -> None:
    merged, changed = apply_patch(current, SettingsPatch(test_numbers={raw: "123456"}), CTX)
    assert merged.test_numbers == {e164: "123456"}
    assert changed == ["test_numbers"]


def test_the_same_test_number_written_differently_is_no_change(current: LiveSettings) -> None:
    stored, _ = apply_patch(current, SettingsPatch(test_numbers={"+34600100200": "123456"}), CTX)
    merged, changed = apply_patch(stored, SettingsPatch(test_numbers={"+34 600 100 200": "123456"}), CTX)
    assert changed == []
    assert merged.test_numbers == {"+34600100200": "123456"}


# -- apply_patch: invalid, all or nothing --------------------------------------------------------------


INVALID_PATCHES = {
    "unknown provider": (SettingsPatch(providers=["gatum", "twilio"]), "providers"),
    "provider not configured here": (SettingsPatch(providers=["console"]), "providers"),
    "duplicate provider": (SettingsPatch(providers=["gatum", "wavy", "gatum"]), "providers"),
    "unknown region": (SettingsPatch(allowed_countries=["ES", "XX"]), "allowed_countries"),
    "template without {code}": (SettingsPatch(templates={"en": "Your {brand} code"}), "templates.en"),
    "localised template without {code}": (
        SettingsPatch(templates={"en": "Code {code}", "es": "Código {brand}"}),
        "templates.es",
    ),
    "attribute access placeholder": (SettingsPatch(templates={"en": "{code.__class__}"}), "templates.en"),
    "attribute access next to {code}": (
        SettingsPatch(templates={"en": "{code} {code.__class__.__init__.__globals__}"}),
        "templates.en",
    ),
    "index placeholder": (SettingsPatch(templates={"en": "{code} {brand[0]}"}), "templates.en"),
    "unknown placeholder": (SettingsPatch(templates={"en": "{code} for {user}"}), "templates.en"),
    "positional placeholder": (SettingsPatch(templates={"en": "{code} {}"}), "templates.en"),
    "format spec on a placeholder": (SettingsPatch(templates={"en": "{code} in {minutes:x}"}), "templates.en"),
    "missing en template": (SettingsPatch(templates={"es": "Código {code}"}), "templates"),
    "test number without +": (SettingsPatch(test_numbers={"34600100200": "123456"}), "test_numbers"),
    "test number that is not a number": (SettingsPatch(test_numbers={"abcdef": "123456"}), "test_numbers"),
    "test number too short": (SettingsPatch(test_numbers={"+3412": "123456"}), "test_numbers"),
}


@pytest.mark.parametrize(("patch", "field"), INVALID_PATCHES.values(), ids=INVALID_PATCHES.keys())
def test_an_invalid_patch_raises_and_changes_nothing(current: LiveSettings, patch: SettingsPatch, field: str) -> None:
    before = snapshot(current)
    with pytest.raises(SettingsInvalid) as caught:
        apply_patch(current, patch, CTX)
    assert caught.value.errors
    assert caught.value.errors[0]["field"] == field
    assert caught.value.detail.startswith(field)
    assert snapshot(current) == before


def test_one_bad_field_rejects_the_whole_patch(current: LiveSettings) -> None:
    before = snapshot(current)
    patch = SettingsPatch(code_length=8, ttl_seconds=120, brand="Other", providers=["gatum", "gatum"])
    with pytest.raises(SettingsInvalid):
        apply_patch(current, patch, CTX)
    assert snapshot(current) == before
    assert current.code_length == 6
    assert current.brand == "Acme"


def test_template_with_escaped_code_braces_is_rejected(current: LiveSettings) -> None:
    # "{{code}}" is str.format's escape for a literal "{code}": the SMS would carry no code at all.
    with pytest.raises(SettingsInvalid):
        apply_patch(current, SettingsPatch(templates={"en": "Your code is {{code}}"}), CTX)


@pytest.mark.parametrize("template", ["Your code is {code} {", "Your code is {code} }", "{code} :-}"])
def test_template_with_an_unbalanced_brace_is_rejected(current: LiveSettings, template: str) -> None:
    # str.format raises ValueError on a lone brace: accepting it would make every send fail.
    with pytest.raises(SettingsInvalid):
        apply_patch(current, SettingsPatch(templates={"en": template}), CTX)


# -- NIST warnings --------------------------------------------------------------------------------------


def test_ttl_above_ten_minutes_warns(current: LiveSettings) -> None:
    merged, _ = apply_patch(current, SettingsPatch(ttl_seconds=601), CTX)
    warnings = nist_warnings(merged, CTX)
    assert len(warnings) == 1
    assert "ttl_seconds" in warnings[0]
    assert "NIST SP 800-63B" in warnings[0]


def test_ttl_of_exactly_ten_minutes_does_not_warn(current: LiveSettings) -> None:
    merged, _ = apply_patch(current, SettingsPatch(ttl_seconds=600), CTX)
    assert nist_warnings(merged, CTX) == []


def test_code_shorter_than_six_digits_warns(current: LiveSettings) -> None:
    merged, _ = apply_patch(current, SettingsPatch(code_length=5), CTX)
    warnings = nist_warnings(merged, CTX)
    assert len(warnings) == 1
    assert "code_length" in warnings[0]
    assert "NIST SP 800-63B" in warnings[0]


def test_both_nist_rules_broken_gives_two_warnings(current: LiveSettings) -> None:
    merged, _ = apply_patch(current, SettingsPatch(code_length=4, ttl_seconds=86400), CTX)
    warnings = nist_warnings(merged, CTX)
    assert len(warnings) == 2
    assert any("ttl_seconds" in w for w in warnings)
    assert any("code_length" in w for w in warnings)


def test_a_provider_that_cannot_make_the_configured_length_warns(current: LiveSettings) -> None:
    merged, _ = apply_patch(current, SettingsPatch(providers=["message_central", "gatum"], code_length=10), CTX)
    warnings = nist_warnings(merged, CTX)
    assert len(warnings) == 1
    assert warnings[0].startswith("message_central")
    assert "4..8" in warnings[0]
    assert "skipped for 10-digit codes" in warnings[0]  # never a different length


def test_a_provider_range_covering_the_length_does_not_warn(current: LiveSettings) -> None:
    merged, _ = apply_patch(current, SettingsPatch(providers=["message_central"], code_length=8), CTX)
    assert nist_warnings(merged, CTX) == []


def test_a_provider_range_warning_is_only_for_providers_in_the_chain(current: LiveSettings) -> None:
    merged, _ = apply_patch(current, SettingsPatch(providers=["gatum"], code_length=10), CTX)
    assert nist_warnings(merged, CTX) == []


# -- msgspec ranges on the PATCH body -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"code_length": 3},
        {"code_length": 11},
        {"ttl_seconds": 29},
        {"ttl_seconds": 86401},
        {"max_attempts": 0},
        {"max_attempts": 21},
        {"resend_cooldown_seconds": -1},
        {"resend_cooldown_seconds": 3601},
        {"code_length": "6"},
        {"code_length": 6.5},
        {"send_limit": {"count": 0, "window_seconds": 60}},
        {"send_limit": {"count": 5}},
        {"send_limit": {"count": 5, "window_seconds": 60, "burst": 2}},
        {"allowed_countries": ["es"]},
        {"allowed_countries": ["ESP"]},
        {"providers": []},
        {"providers": ["Gatum"]},
        {"templates": {}},
        {"templates": {"en": ""}},
        {"templates": {"en": "x" * 481}},
        {"brand": ""},
        {"brand": "b" * 41},
        {"test_numbers": {"+34600100200": "12a456"}},
        {"test_numbers": {"+34600100200": "123"}},
        {"unknown_field": 1},
        {"codeLength": 6},
    ],
    ids=repr,
)
def test_out_of_range_patch_bodies_are_rejected_by_msgspec(body: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(body), type=SettingsPatch)


@pytest.mark.parametrize(
    "body",
    [
        {"code_length": 4},
        {"code_length": 10},
        {"ttl_seconds": 30},
        {"ttl_seconds": 86400},
        {"max_attempts": 1},
        {"max_attempts": 20},
        {"resend_cooldown_seconds": 0},
        {"resend_cooldown_seconds": 3600},
        {"allowed_countries": None},
        {},
    ],
    ids=repr,
)
def test_boundary_values_are_accepted(body: dict[str, Any]) -> None:
    patch = msgspec.json.decode(msgspec.json.encode(body), type=SettingsPatch)
    for name, value in body.items():
        assert getattr(patch, name) == value


def test_an_absent_field_is_unset_and_null_is_kept() -> None:
    patch = msgspec.json.decode(b'{"allowed_countries": null}', type=SettingsPatch)
    assert patch.allowed_countries is None
    assert patch.code_length is msgspec.UNSET
