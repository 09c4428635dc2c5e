"""Process settings from the environment: production refuses to start half-configured, dev fills the gaps."""

from __future__ import annotations

import pytest

from otp_service.settings import ConfigErrors, Settings, SettingsError, load_settings

API_KEY = "web-key-0123456789abcdef"
MOBILE_KEY = "mobile-key-0123456789abcdef"
PEPPER = "pepper-0123456789abcdef-0123456789"
ADMIN_TOKEN = "admin-token-0123456789abcdef"
WEBHOOK_SECRET = "webhook-secret-0123456789"
GATUM_PASSWORD = "gatum-password-0123456789"

PRODUCTION = {
    "OTP_ENV": "production",
    "OTP_REDIS_URL": "redis://127.0.0.1:6379/0",
    "OTP_PEPPER": PEPPER,
    "OTP_API_KEYS": f"web:{API_KEY},mobile:{MOBILE_KEY}",
    "OTP_ADMIN_TOKEN": ADMIN_TOKEN,
    "OTP_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "GATUM_USERNAME": "otp-user",
    "GATUM_PASSWORD": GATUM_PASSWORD,
    "GATUM_SENDER": "Verify",
}


def env(**changes: str | None) -> dict[str, str]:
    """The production environment with some variables changed (a value) or removed (None)."""
    result = dict(PRODUCTION)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def error_for(environ: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    return str(caught.value)


# -- production ------------------------------------------------------------------------------------


def test_a_complete_production_environment_loads() -> None:
    settings = load_settings(PRODUCTION)
    assert settings.env == "production"
    assert not settings.is_dev
    assert settings.api_keys == {"web": API_KEY, "mobile": MOBILE_KEY}
    assert settings.pepper == PEPPER.encode()
    assert settings.providers == ["gatum"]
    assert set(settings.vendors) == {"gatum"}
    assert settings.generated == {}
    assert settings.log_format == "json"


def test_production_is_the_default_environment() -> None:
    settings = load_settings(env(OTP_ENV=None))
    assert settings.env == "production"


@pytest.mark.parametrize("variable", ["OTP_REDIS_URL", "OTP_PEPPER", "OTP_API_KEYS"])
@pytest.mark.parametrize("value", [None, ""])
def test_production_refuses_to_start_without_a_required_variable(variable: str, value: str | None) -> None:
    message = error_for(env(**{variable: value}))
    assert message.startswith(f"{variable}:")
    assert "required" in message


def test_production_refuses_to_start_without_a_configured_provider() -> None:
    message = error_for(env(GATUM_USERNAME=None, GATUM_PASSWORD=None, GATUM_SENDER=None))
    assert message.startswith("OTP_PROVIDERS:")


@pytest.mark.parametrize("order", ["console", "gatum,console", "console,gatum"])
def test_production_refuses_the_console_provider(order: str) -> None:
    message = error_for(env(OTP_PROVIDERS=order))
    assert message.startswith("OTP_PROVIDERS:")
    assert "console" in message


def test_a_listed_provider_must_be_configured() -> None:
    message = error_for(env(OTP_PROVIDERS="gatum,wavy"))
    assert message.startswith("OTP_PROVIDERS:")
    assert "wavy" in message
    assert "WAVY_" in message


def test_an_unknown_provider_name_is_refused() -> None:
    message = error_for(env(OTP_PROVIDERS="gatum,twilio"))
    assert message.startswith("OTP_PROVIDERS:")
    assert "twilio" in message


def test_the_provider_order_follows_otp_providers() -> None:
    settings = load_settings(env(OTP_PROVIDERS=" gatum "))
    assert settings.providers == ["gatum"]


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"OTP_ENV": "staging"}, "OTP_ENV"),
        ({"OTP_REDIS_URL": "http://127.0.0.1:6379"}, "OTP_REDIS_URL"),
        ({"OTP_TEST_NUMBERS": "yes"}, "OTP_TEST_NUMBERS"),
        ({"OTP_LOG_FORMAT": "xml"}, "OTP_LOG_FORMAT"),
        ({"OTP_WEBOTP_HOST": "https://example.com/otp"}, "OTP_WEBOTP_HOST"),
        ({"OTP_ARGON2_TIME_COST": "fast"}, "OTP_ARGON2_TIME_COST"),
        ({"OTP_ARGON2_TIME_COST": "0"}, "OTP_ARGON2_TIME_COST"),
        ({"OTP_ARGON2_MEMORY_KIB": "64"}, "OTP_ARGON2_MEMORY_KIB"),
        ({"OTP_HASH_THREADS": "65"}, "OTP_HASH_THREADS"),
        ({"OTP_REDIS_TIMEOUT_S": "soon"}, "OTP_REDIS_TIMEOUT_S"),
        ({"OTP_SETTINGS_CACHE_S": "5"}, "OTP_SETTINGS_CACHE_S"),
        ({"OTP_TRUSTED_PROXY_HOPS": "-1"}, "OTP_TRUSTED_PROXY_HOPS"),
        ({"OTP_MAX_BODY_BYTES": "10"}, "OTP_MAX_BODY_BYTES"),
        ({"GATUM_USERNAM": "otp-user"}, "GATUM_USERNAM"),
        ({"WAVY_TOKN": "x"}, "WAVY_TOKN"),
    ],
    ids=lambda v: v if isinstance(v, str) else next(iter(v)),
)
def test_every_error_starts_with_the_offending_variable(changes: dict[str, str], variable: str) -> None:
    assert error_for(env(**changes)).startswith(f"{variable}:")


def test_a_misspelt_vendor_variable_is_an_error_naming_it() -> None:
    message = error_for(env(GATUM_USERNAM="otp-user"))
    assert message.startswith("GATUM_USERNAM:")
    assert "GATUM_USERNAM" in message


def test_a_vendor_rule_error_starts_with_the_variable_it_is_about() -> None:
    # Gatum configured without its sender: the error is about GATUM_SENDER.
    message = error_for(env(GATUM_SENDER=None))
    assert "GATUM_SENDER" in message
    assert message.startswith("GATUM_SENDER")


def test_production_refuses_every_short_secret_at_once_naming_each_never_its_value() -> None:
    # A few characters of token can be guessed online; a short pepper, offline from a leaked Redis.
    short = {
        "OTP_PEPPER": "p" * 31,  # 31 bytes: the pepper needs 32
        "OTP_API_KEYS": "web:abc,mobile:" + "m" * 23,
        "OTP_ADMIN_TOKEN": "a",
        "OTP_WEBHOOK_SECRET": "w" * 23,
    }
    with pytest.raises(ConfigErrors) as caught:
        load_settings(env(**short))
    errors = caught.value.errors
    assert [e.split(":")[0] for e in errors] == [
        "OTP_API_KEYS",
        "OTP_API_KEYS",
        "OTP_ADMIN_TOKEN",
        "OTP_WEBHOOK_SECRET",
        "OTP_PEPPER",
    ]
    assert "'web'" in errors[0] and "'mobile'" in errors[1]
    assert all("otp-service secret" in e for e in errors)
    for value in ("abc", "m" * 23, "w" * 23, "p" * 31):
        assert not any(value in e for e in errors)


def test_secrets_of_the_minimum_length_are_accepted() -> None:
    settings = load_settings(
        env(
            OTP_PEPPER="p" * 32,
            OTP_API_KEYS="web:" + "k" * 24,
            OTP_ADMIN_TOKEN="a" * 24,
            OTP_WEBHOOK_SECRET="w" * 24,
        )
    )
    assert settings.warnings == []


def test_the_pepper_length_is_counted_in_bytes() -> None:
    assert load_settings(env(OTP_PEPPER="ñ" * 16)).pepper == "ñ".encode() * 16  # 32 bytes, 16 characters
    with pytest.raises(ConfigErrors, match="OTP_PEPPER: shorter than 32 bytes"):
        load_settings(env(OTP_PEPPER="ñ" * 15 + "x"))


def test_development_only_warns_about_short_secrets() -> None:
    settings = load_settings({"OTP_ENV": "dev", "OTP_ADMIN_TOKEN": "a", "OTP_PEPPER": "short-pepper"})
    assert [w.split(":")[0] for w in settings.warnings] == ["OTP_ADMIN_TOKEN", "OTP_PEPPER"]


def test_a_bad_console_variable_in_dev_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match=r"^CONSOLE_COLOR:"):
        load_settings({"OTP_ENV": "dev", "CONSOLE_COLOR": "1"})


# -- OTP_API_KEYS ----------------------------------------------------------------------------------


def test_api_keys_are_name_secret_pairs_with_spaces_ignored() -> None:
    settings = load_settings(env(OTP_API_KEYS=f" web:{API_KEY} , mobile:{MOBILE_KEY},"))
    assert settings.api_keys == {"web": API_KEY, "mobile": MOBILE_KEY}


def test_a_secret_may_contain_a_colon() -> None:
    settings = load_settings(env(OTP_API_KEYS="web:abc:def-0123456789abcdef"))
    assert settings.api_keys == {"web": "abc:def-0123456789abcdef"}


def test_an_app_may_have_several_keys_and_public_ones_are_marked() -> None:
    settings = load_settings(env(OTP_API_KEYS=f"web:{API_KEY},web:{MOBILE_KEY}:public,ops:abc:def-0123456789abcdef"))
    assert settings.api_keys == {"web": API_KEY, "web#2": MOBILE_KEY, "ops": "abc:def-0123456789abcdef"}
    assert settings.key_apps == {"web": "web", "web#2": "web", "ops": "ops"}
    assert settings.public_keys == frozenset({"web#2"})


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("web", "entry 1 is not app:secret"),
        (f"web:{API_KEY},mobile", "entry 2 is not app:secret"),
        (f"web:{API_KEY},mobile:", "entry 2 is not app:secret"),
        (f"web:{API_KEY},mobile::public", "entry 2 is not app:secret"),
        (":secret-without-name", "entry 1"),
        ("bad name:secret-0123456789", "invalid app name"),
        (f"web:{API_KEY},mobile:{API_KEY}", "entry 2 reuses another key's secret"),
    ],
)
def test_bad_api_keys_are_refused(raw: str, fragment: str) -> None:
    message = error_for(env(OTP_API_KEYS=raw))
    assert message.startswith("OTP_API_KEYS:")
    assert fragment in message


@pytest.mark.parametrize(
    "raw", [f"web:{API_KEY},web:{API_KEY}", f"web:{API_KEY},mobile:{API_KEY}", f"web:{API_KEY},mobile"]
)
def test_an_api_key_error_never_echoes_a_secret(raw: str) -> None:
    message = error_for(env(OTP_API_KEYS=raw))
    assert API_KEY not in message
    assert MOBILE_KEY not in message


# -- development -----------------------------------------------------------------------------------


def test_dev_fills_what_is_missing_and_marks_it_generated() -> None:
    settings = load_settings({"OTP_ENV": "dev"})
    assert settings.is_dev
    assert settings.redis_url is None  # an embedded Redis is started instead
    assert list(settings.api_keys) == ["dev"]
    assert len(settings.api_keys["dev"]) >= 24
    assert len(settings.pepper) >= 32
    assert settings.providers == ["console"]
    assert "console" in settings.vendors
    assert set(settings.generated) == {"OTP_API_KEYS", "OTP_PEPPER"}
    assert settings.generated["OTP_API_KEYS"] == f"dev:{settings.api_keys['dev']}"
    assert settings.log_format == "console"


def test_dev_generates_different_secrets_each_run() -> None:
    first, second = load_settings({"OTP_ENV": "dev"}), load_settings({"OTP_ENV": "dev"})
    assert first.api_keys["dev"] != second.api_keys["dev"]
    assert first.pepper != second.pepper


def test_dev_keeps_what_is_given_and_does_not_mark_it_generated() -> None:
    settings = load_settings({"OTP_ENV": "dev", "OTP_API_KEYS": f"web:{API_KEY}", "OTP_PEPPER": PEPPER})
    assert settings.api_keys == {"web": API_KEY}
    assert settings.pepper == PEPPER.encode()
    assert settings.generated == {}


def test_force_dev_overrides_otp_env() -> None:
    settings = load_settings({"OTP_ENV": "production"}, force_dev=True)
    assert settings.is_dev


@pytest.mark.parametrize("value", ["development", "DEV", " dev "])
def test_dev_spellings(value: str) -> None:
    assert load_settings({"OTP_ENV": value}).is_dev


def test_dev_prefers_configured_vendors_over_console() -> None:
    settings = load_settings({**PRODUCTION, "OTP_ENV": "dev"})
    assert settings.providers == ["gatum"]


def test_dev_allows_the_console_provider() -> None:
    settings = load_settings({**PRODUCTION, "OTP_ENV": "dev", "OTP_PROVIDERS": "console,gatum"})
    assert settings.providers == ["console", "gatum"]


# -- secrets never printed -------------------------------------------------------------------------


def _all_secrets(settings: Settings) -> list[str]:
    return [API_KEY, MOBILE_KEY, PEPPER, ADMIN_TOKEN, WEBHOOK_SECRET, GATUM_PASSWORD, *settings.secret_values()]


def test_repr_and_str_of_settings_contain_no_secret() -> None:
    settings = load_settings(PRODUCTION)
    for text in (repr(settings), str(settings), f"{settings}", repr([settings])):
        for secret in _all_secrets(settings):
            assert secret not in text


def test_repr_of_dev_settings_hides_the_generated_secrets() -> None:
    settings = load_settings({"OTP_ENV": "dev"})
    for secret in (settings.api_keys["dev"], settings.pepper.decode()):
        assert secret not in repr(settings)


def test_repr_of_vendor_settings_hides_their_secrets() -> None:
    settings = load_settings(PRODUCTION)
    assert GATUM_PASSWORD not in repr(settings.vendors)
    assert "otp-user" in repr(settings.vendors["gatum"])  # non-secret fields stay readable


def test_secret_values_lists_every_configured_secret() -> None:
    values = load_settings(PRODUCTION).secret_values()
    for secret in (API_KEY, MOBILE_KEY, PEPPER, ADMIN_TOKEN, WEBHOOK_SECRET, GATUM_PASSWORD):
        assert secret in values
    assert "otp-user" not in values  # a user name is not a secret


def test_the_redactor_is_given_secrets_of_every_length() -> None:
    settings = load_settings({"OTP_ENV": "dev", "OTP_ADMIN_TOKEN": "a", "OTP_WEBHOOK_SECRET": "wh"})
    assert {"a", "wh"} <= set(settings.secret_values())


def test_an_app_name_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ConfigErrors, match="entry 1 has an invalid app name"):
        load_settings(env(OTP_API_KEYS=f"web\n:{API_KEY}"))
