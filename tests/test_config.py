"""Configuration checks: every problem in one run, named and fixable, with secrets that may come from files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from otp_service.config.known import KNOWN_VARIABLES
from otp_service.settings import ConfigErrors, load_settings
from tests.test_settings import ADMIN_TOKEN, API_KEY, GATUM_PASSWORD, PEPPER, WEBHOOK_SECRET, env

OTEL_MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


def errors_for(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_settings(environ)
    return caught.value.errors


def variables(errors: list[str]) -> list[str]:
    return [error.split(":", 1)[0] for error in errors]


# -- one run, every problem ------------------------------------------------------------------------


def test_four_missing_variables_are_reported_in_one_run() -> None:
    errors = errors_for({"OTP_ENV": "production"})
    assert variables(errors) == ["OTP_API_KEYS", "OTP_PEPPER", "OTP_REDIS_URL", "OTP_PROVIDERS"]
    assert all("required" in e or "at least one configured provider" in e for e in errors)


def test_problems_of_different_kinds_are_all_reported_together() -> None:
    errors = errors_for(
        env(
            OTP_API_KEYS="web",
            OTP_REDIS_URL="rediss://[bad",
            OTP_LOG_LEVEL="verbose",
            OTP_HASH_THREADS="0",
            OTP_TEST_NUMBERS="yes",
            GATUM_USERNAM="otp-user",
            OTP_PEPER="x",
        )
    )
    assert sorted(variables(errors)) == sorted(
        [
            "OTP_API_KEYS",
            "OTP_REDIS_URL",
            "OTP_LOG_LEVEL",
            "OTP_HASH_THREADS",
            "OTP_TEST_NUMBERS",
            "GATUM_USERNAM",
            "OTP_PEPER",
        ]
    )


def test_a_provider_with_a_bad_variable_is_not_also_reported_as_unconfigured() -> None:
    # The one fix is the misspelt variable; "no configured provider" on top would send the operator astray.
    assert variables(errors_for(env(GATUM_USERNAM="otp-user"))) == ["GATUM_USERNAM"]
    assert variables(errors_for(env(GATUM_USERNAM="otp-user", OTP_PROVIDERS="gatum"))) == ["GATUM_USERNAM"]


def test_a_single_problem_is_still_a_config_error_whose_text_names_the_variable() -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_settings(env(OTP_PEPPER=None))
    assert str(caught.value).startswith("OTP_PEPPER: required")


# -- values that used to pass ----------------------------------------------------------------------


def test_a_provider_listed_twice_is_refused_by_the_settings_not_at_first_request() -> None:
    # The live settings start from OTP_PROVIDERS and refuse duplicates: caught here, check-config sees it.
    assert errors_for(env(OTP_PROVIDERS="gatum,gatum")) == ["OTP_PROVIDERS: 'gatum' is listed twice"]


@pytest.mark.parametrize("level", ["verbose", "trace", "warn", "10", "info,debug"])
def test_an_unknown_log_level_is_refused(level: str) -> None:
    [error] = errors_for(env(OTP_LOG_LEVEL=level))
    assert error.startswith("OTP_LOG_LEVEL:")
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in error


@pytest.mark.parametrize("level", ["debug", "Info", "WARNING", "error", "critical"])
def test_the_log_level_is_any_standard_level_in_any_case(level: str) -> None:
    assert load_settings(env(OTP_LOG_LEVEL=level)).log_level == level.upper()


@pytest.mark.parametrize(
    "url",
    ["rediss://[bad", "redis://host:port/0", "redis+cluster://[::1/0", "unix://", "redis://h/0?socket_timeout=soon"],
)
def test_a_redis_url_redis_py_cannot_read_is_refused(url: str) -> None:
    [error] = errors_for(env(OTP_REDIS_URL=url))
    assert error.startswith("OTP_REDIS_URL:")


def test_a_redis_url_error_never_echoes_the_password() -> None:
    [error] = errors_for(env(OTP_REDIS_URL="redis://:hunter2-secret@host:port/0"))
    assert "hunter2-secret" not in error


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://127.0.0.1:6379/0", "single"),
        ("rediss://:pw@redis.internal:6380/1", "single"),
        ("unix:///run/redis.sock", "unix"),
        ("redis+cluster://10.0.0.1:7000", "cluster"),
        ("redis://[::1]:6379/0", "single"),
    ],
)
def test_good_redis_urls_load_with_their_kind(url: str, kind: str) -> None:
    assert load_settings(env(OTP_REDIS_URL=url)).redis_kind == kind


def test_an_otlp_endpoint_without_the_otel_extra_is_an_error_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, OTEL_MODULE, None)  # what a missing package looks like to `import`
    [error] = errors_for(env(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318"))
    assert error.startswith("OTEL_EXPORTER_OTLP_ENDPOINT:")
    assert "install otp-service[otel] or unset the variable" in error


def test_an_otlp_endpoint_with_the_otel_extra_installed_loads() -> None:
    settings = load_settings(env(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318"))
    assert settings.otel_endpoint == "http://collector:4318"


@pytest.mark.parametrize(("raw", "port"), [("", None), ("9100", 9100)])
def test_the_metrics_port_is_optional(raw: str, port: int | None) -> None:
    assert load_settings(env(OTP_METRICS_PORT=raw)).metrics_port == port


@pytest.mark.parametrize("raw", ["0", "65536", "metrics"])
def test_a_bad_metrics_port_is_refused(raw: str) -> None:
    assert variables(errors_for(env(OTP_METRICS_PORT=raw))) == ["OTP_METRICS_PORT"]


# -- unknown OTP_* variables -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("OTP_PEPER", "OTP_PEPPER"),
        ("OTP_API_KEY", "OTP_API_KEYS"),
        ("OTP_REDIS_URI", "OTP_REDIS_URL"),
        ("OTP_LOGLEVEL", "OTP_LOG_LEVEL"),
        ("OTP_PEPPER_FIEL", "OTP_PEPPER_FILE"),
    ],
)
def test_a_misspelt_otp_variable_is_an_error_with_a_did_you_mean(typo: str, meant: str) -> None:
    [error] = errors_for(env(**{typo: "value"}))
    assert error == f"{typo}: unknown variable; did you mean {meant}?"


def test_an_otp_variable_like_no_other_is_an_error_without_a_guess() -> None:
    [error] = errors_for(env(OTP_COMPLETELY_DIFFERENT="1"))
    assert error.startswith("OTP_COMPLETELY_DIFFERENT: unknown variable;")
    assert "did you mean" not in error


def test_a_misspelt_variable_is_named_but_its_value_is_not_echoed() -> None:
    [error] = errors_for(env(OTP_PEPER=PEPPER))
    assert PEPPER not in error


def test_variables_outside_the_otp_and_provider_prefixes_are_not_ours_to_judge() -> None:
    assert load_settings(env(OTPX_THING="1", HOME="/root", OTEL_SERVICE_NAME="otp")).providers == ["gatum"]


def test_every_otp_variable_named_in_the_service_code_is_a_known_one() -> None:
    # A variable added to the code but not to the known list would be refused as a typo.
    import re

    source = "\n".join(p.read_text() for p in Path("otp_service").rglob("*.py"))
    named = set(re.findall(r"\bOTP_[A-Z0-9_]*[A-Z0-9]\b", source))
    assert named - KNOWN_VARIABLES == set()


# -- secrets from files ----------------------------------------------------------------------------


SECRETS = {
    "OTP_PEPPER": PEPPER,
    "OTP_API_KEYS": f"web:{API_KEY}",
    "OTP_ADMIN_TOKEN": ADMIN_TOKEN,
    "OTP_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "GATUM_PASSWORD": GATUM_PASSWORD,
}


def write(path: Path, content: str) -> str:
    path.write_text(content)
    return str(path)


def test_every_secret_can_come_from_a_file_with_one_trailing_newline_stripped(tmp_path: Path) -> None:
    files = {f"{name}_FILE": write(tmp_path / name, value + "\n") for name, value in SECRETS.items()}
    settings = load_settings(env(**dict.fromkeys(SECRETS), **files))
    assert settings.pepper == PEPPER.encode()
    assert settings.api_keys == {"web": API_KEY}
    assert settings.admin_token == ADMIN_TOKEN
    assert settings.webhook_secret == WEBHOOK_SECRET
    assert settings.vendors["gatum"].secrets() == [GATUM_PASSWORD]
    for secret in SECRETS.values():  # a secret read from a file is redacted from logs like any other
        assert any(secret.endswith(value) for value in settings.secret_values())


@pytest.mark.parametrize(
    ("content", "value"),
    [("a-secret-0123456789", "a-secret-0123456789"), ("a-secret-0123456789\r\n", "a-secret-0123456789")],
)
def test_a_secret_file_is_read_as_is_without_its_line_end(tmp_path: Path, content: str, value: str) -> None:
    token = write(tmp_path / "token", "admin-" + content)
    assert load_settings(env(OTP_ADMIN_TOKEN=None, OTP_ADMIN_TOKEN_FILE=token)).admin_token == "admin-" + value


def test_only_one_trailing_newline_is_stripped(tmp_path: Path) -> None:
    token = write(tmp_path / "token", "admin-token-0123456789abcdef\n\n")
    assert (
        load_settings(env(OTP_ADMIN_TOKEN=None, OTP_ADMIN_TOKEN_FILE=token)).admin_token
        == "admin-token-0123456789abcdef\n"
    )


def test_a_variable_and_its_file_together_are_an_error(tmp_path: Path) -> None:
    errors = errors_for(env(OTP_PEPPER_FILE=write(tmp_path / "pepper", PEPPER)))
    assert errors == ["OTP_PEPPER_FILE: OTP_PEPPER is set too; keep one of the two"]


def test_a_provider_secret_and_its_file_together_are_an_error(tmp_path: Path) -> None:
    errors = errors_for(env(GATUM_PASSWORD_FILE=write(tmp_path / "password", GATUM_PASSWORD)))
    assert variables(errors) == ["GATUM_PASSWORD_FILE"]


PROVIDER_SECRETS = [
    "MESSAGE_CENTRAL_PASSWORD",
    "MESSAGE_CENTRAL_AUTH_TOKEN",
    "GATUM_PASSWORD",
    "GATUM_ACCESS_TOKEN",
    "WAVY_TOKEN",
    "INSTASENT_TOKEN",
    "CONECTALINE_API_TOKEN",
    "CONECTALINE_PASSWORD",
]


@pytest.mark.parametrize("variable", PROVIDER_SECRETS)
def test_every_provider_secret_has_a_file_form(tmp_path: Path, variable: str) -> None:
    path = write(tmp_path / "secret", "from-the-file-0123456789\n")
    errors = errors_for(env(**{variable: "x", f"{variable}_FILE": path}))
    assert errors[0] == f"{variable}_FILE: {variable} is set too; keep one of the two"  # then the vendor's own rules


def test_a_provider_secret_read_from_a_file_configures_the_provider(tmp_path: Path) -> None:
    path = write(tmp_path / "token", "wavy-token-0123456789\n")
    settings = load_settings(env(WAVY_USERNAME="otp", WAVY_TOKEN_FILE=path, OTP_PROVIDERS="wavy,gatum"))
    assert settings.providers == ["wavy", "gatum"]
    assert settings.vendors["wavy"].secrets() == ["wavy-token-0123456789"]


def test_an_unreadable_secret_file_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    errors = errors_for(env(OTP_PEPPER=None, OTP_PEPPER_FILE=str(missing)))
    assert errors == [f"OTP_PEPPER_FILE: cannot read {missing} (No such file or directory)"]


def test_a_directory_or_binary_file_is_an_error_that_never_prints_the_content(tmp_path: Path) -> None:
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" + PEPPER.encode())
    errors = errors_for(env(OTP_PEPPER=None, OTP_PEPPER_FILE=str(binary), OTP_ADMIN_TOKEN_FILE=str(tmp_path)))
    assert variables(errors) == ["OTP_PEPPER_FILE", "OTP_ADMIN_TOKEN_FILE"]
    assert PEPPER not in "\n".join(errors)


def test_an_empty_secret_file_is_an_error(tmp_path: Path) -> None:
    errors = errors_for(env(OTP_PEPPER=None, OTP_PEPPER_FILE=write(tmp_path / "pepper", "\n")))
    assert variables(errors) == ["OTP_PEPPER_FILE"]


def test_a_file_variant_of_a_non_secret_provider_variable_is_an_unknown_variable(tmp_path: Path) -> None:
    errors = errors_for(env(GATUM_SENDER=None, GATUM_SENDER_FILE=write(tmp_path / "sender", "Verify")))
    assert "GATUM_SENDER_FILE" in errors[0]
