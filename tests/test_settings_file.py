"""``OTP_SETTINGS_FILE``: the operator's baseline of the live settings, checked at start-up like the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from otp_service.cli import main
from otp_service.settings import ConfigErrors, load_settings
from tests.test_settings import PRODUCTION


def with_file(path: Path, **changes: str) -> dict[str, str]:
    return {**PRODUCTION, "OTP_SETTINGS_FILE": str(path), **changes}


def problems_for(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_settings(environ)
    return caught.value.errors


def test_the_baseline_comes_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        'max_attempts = 3\nallowed_countries = ["ES", "BR"]\nbrand = "Globex"\n'
        '[send_limit]\ncount = 3\nwindow_seconds = 900\n[templates]\nen = "Code {code}"\n'
        '[test_numbers]\n"+1 202 555 0143" = "424242"\n'
    )
    baseline = load_settings(with_file(path)).live_baseline
    assert baseline is not None
    assert (baseline.max_attempts, baseline.allowed_countries, baseline.brand) == (3, ["ES", "BR"], "Globex")
    assert (baseline.send_limit.count, baseline.send_limit.window_seconds) == (3, 900)
    assert baseline.templates == {"en": "Code {code}"}
    assert baseline.test_numbers == {"+12025550143": "424242"}  # normalised like a PATCH
    assert baseline.providers == ["gatum"]  # not in the file: OTP_PROVIDERS
    assert baseline.ttl_seconds == 600  # not in the file: the built-in default


def test_the_baseline_comes_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"code_length": 8, "allowed_countries": null, "providers": ["gatum"]}')
    baseline = load_settings(with_file(path)).live_baseline
    assert baseline is not None
    assert (baseline.code_length, baseline.allowed_countries) == (8, None)


def test_without_a_file_the_baseline_is_the_built_in_defaults_and_otp_providers() -> None:
    baseline = load_settings(PRODUCTION).live_baseline
    assert baseline is not None
    assert (baseline.max_attempts, baseline.providers) == (5, ["gatum"])


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        ('code_length = "8"', "code_length", "Expected `int`, got `str`"),
        ("code_length = 6.0", "code_length", "Expected `int`, got `float`"),
        ("max_attempts = 0", "max_attempts", ">= 1"),
        ("[send_limit]\ncount = 3", "send_limit", "window_seconds"),
        ("max_atempts = 3", "max_atempts", "unknown field"),
        ('allowed_countries = ["XX"]', "allowed_countries", "unknown region codes: XX"),
        ('providers = ["wavy"]', "providers", "not configured in this deployment: wavy"),
        ('[templates]\nen = "no placeholder"', "templates.en", "must contain {code}"),
    ],
)
def test_a_bad_value_names_the_file_and_the_field(tmp_path: Path, content: str, field: str, message: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(content + "\n")
    errors = problems_for(with_file(path))
    assert len(errors) == 1
    assert errors[0].startswith(f"OTP_SETTINGS_FILE: {path}: {field}"), errors[0]
    assert message in errors[0]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("settings.toml", "max_attempts = = 3", "not valid TOML"),
        ("settings.json", '{"max_attempts": 3', "not valid JSON"),
        ("settings.json", "[1, 2]", "expected a table of settings"),
        ("settings.yaml", "max_attempts: 3", "must end in .toml or .json"),
        ("settings.toml", b"brand = '\xff'", "not UTF-8"),
    ],
)
def test_an_unreadable_file_is_one_clear_problem(tmp_path: Path, name: str, content: str | bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    errors = problems_for(with_file(path))
    assert len(errors) == 1
    assert errors[0].startswith(f"OTP_SETTINGS_FILE: {path}"), errors[0]
    assert message in errors[0]


def test_a_missing_file_is_reported_with_the_other_problems_in_one_run(tmp_path: Path) -> None:
    errors = problems_for(with_file(tmp_path / "nowhere.toml", OTP_LOG_LEVEL="loud"))
    assert [e.split(":", 1)[0] for e in errors] == ["OTP_LOG_LEVEL", "OTP_SETTINGS_FILE"] or [
        e.split(":", 1)[0] for e in errors
    ] == ["OTP_SETTINGS_FILE", "OTP_LOG_LEVEL"]
    assert any(f"cannot read {tmp_path / 'nowhere.toml'}" in e for e in errors)


def test_check_config_reports_the_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(("OTP_", "GATUM_", "WAVY_", "MESSAGE_CENTRAL_"))]:
        monkeypatch.delenv(name)
    path = tmp_path / "settings.toml"
    path.write_text("ttl_seconds = 5\n")
    result = CliRunner().invoke(main, ["check-config"], env=with_file(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"otp-service: configuration error: OTP_SETTINGS_FILE: {path}: ttl_seconds")
    path.write_text("ttl_seconds = 300\n")
    result = CliRunner().invoke(main, ["check-config"], env=with_file(path))
    assert result.exit_code == 0, result.stderr
    assert f"settings={path}" in result.stdout


def test_settings_reset_without_redis_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(("OTP_", "GATUM_", "WAVY_", "MESSAGE_CENTRAL_"))]:
        monkeypatch.delenv(name)
    environ = {**PRODUCTION, "OTP_REDIS_URL": "redis://127.0.0.1:1/0", "OTP_REDIS_TIMEOUT_S": "0.2"}
    result = CliRunner().invoke(main, ["settings", "reset"], env=environ)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "otp-service: configuration error: OTP_REDIS_URL: Redis (single) did not answer"
    )
    assert "Traceback" not in result.stderr
