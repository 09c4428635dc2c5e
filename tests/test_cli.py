"""``otp-service check-config`` and ``serve`` refuse a bad environment with every problem listed, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from otp_service.cli import main
from tests.processes import clean_env
from tests.test_config import OTEL_MODULE
from tests.test_settings import PEPPER, PRODUCTION

PREFIXES = ("OTP_", "GATUM_", "WAVY_", "MESSAGE_CENTRAL_", "INSTASENT_", "CONECTALINE_", "CONSOLE_", "OTEL_")


@pytest.fixture(autouse=True)
def no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands read os.environ: start each test from none of the service's variables."""
    for name in [n for n in os.environ if n.startswith(PREFIXES)]:
        monkeypatch.delenv(name)


def run(*args: str, **environ: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=environ)
    return result.exit_code, result.stdout, result.stderr


def test_check_config_lists_four_missing_variables_in_one_run() -> None:
    code, out, err = run("check-config", OTP_ENV="production")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert [line.split(": ")[2] for line in lines] == ["OTP_API_KEYS", "OTP_PEPPER", "OTP_REDIS_URL", "OTP_PROVIDERS"]
    assert all(line.startswith("otp-service: configuration error: ") for line in lines)


def test_check_config_catches_every_case_of_the_issue_in_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, OTEL_MODULE, None)  # the image without the `otel` extra
    code, _, err = run(
        "check-config",
        **{
            **PRODUCTION,
            "OTP_LOG_LEVEL": "verbose",
            "OTP_REDIS_URL": "rediss://[bad",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
            "OTP_PEPER": "x",
        },
    )
    assert code == 2
    problems = [line.removeprefix("otp-service: configuration error: ") for line in err.splitlines()]
    assert len(problems) == 4
    assert {p.split(":", 1)[0] for p in problems} == {
        "OTP_LOG_LEVEL",
        "OTP_REDIS_URL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTP_PEPER",
    }
    assert "OTP_PEPER: unknown variable; did you mean OTP_PEPPER?" in problems
    assert any("install otp-service[otel] or unset the variable" in p for p in problems)


def test_check_config_says_ok_and_what_would_run() -> None:
    code, out, err = run("check-config", **PRODUCTION)
    assert (code, err) == (0, "")
    assert out.strip() == "ok: env=production providers=gatum redis=single"


def test_check_config_refuses_a_short_secret_naming_the_variable_not_the_value() -> None:
    code, out, err = run("check-config", **{**PRODUCTION, "OTP_PEPPER": "short-pepper", "OTP_ADMIN_TOKEN": "x"})
    assert code == 2
    assert out == ""
    assert [line.split(": ")[2] for line in err.splitlines()] == ["OTP_ADMIN_TOKEN", "OTP_PEPPER"]
    assert "short-pepper" not in err


def test_secret_prints_a_new_secret_every_production_check_accepts() -> None:
    first, second = run("secret"), run("secret")
    assert first[0] == 0
    value = first[1].strip()
    assert len(value) >= 43 and value != second[1].strip()
    assert all(c.isalnum() or c in "-_" for c in value)
    environ = {**PRODUCTION, "OTP_PEPPER": value, "OTP_ADMIN_TOKEN": value, "OTP_WEBHOOK_SECRET": value}
    assert run("check-config", **environ)[0] == 0


def test_serve_refuses_development_mode() -> None:
    code, _, err = run("serve", "--port", "1", **{**PRODUCTION, "OTP_ENV": "dev"})
    assert code == 2
    assert "OTP_ENV" in err and "otp-service dev" in err
    assert "Traceback" not in err


def test_check_config_never_prints_a_secret() -> None:
    _, out, err = run("check-config", **{**PRODUCTION, "OTP_PEPER": PEPPER, "OTP_LOG_LEVEL": "verbose"})
    assert PEPPER not in out + err
    for name, value in PRODUCTION.items():
        if any(word in name for word in ("PEPPER", "KEYS", "TOKEN", "SECRET", "PASSWORD")):
            assert value not in out + err


def test_serve_refuses_every_problem_at_once_before_starting() -> None:
    code, _, err = run("serve", "--port", "1", OTP_ENV="production", OTP_LOG_LEVEL="verbose")
    assert code == 2
    assert len(err.splitlines()) == 5
    assert "OTP_LOG_LEVEL" in err


def test_serve_without_the_otel_extra_refuses_with_the_fix_and_no_traceback() -> None:
    # A cluster that injects the standard OTEL variable into an image without the extra: a real process,
    # whose import of the exporter fails the way a missing package does.
    code = f"import sys; sys.modules[{OTEL_MODULE!r}] = None; from otp_service.cli import main; main()"
    environ = {**clean_env(), **PRODUCTION, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    done = subprocess.run(
        [sys.executable, "-c", code, "serve", "--port", "1"], env=environ, capture_output=True, timeout=60, check=False
    )
    err = done.stderr.decode()
    assert done.returncode == 2
    assert "Traceback" not in err
    assert err.strip() == (
        "otp-service: configuration error: OTEL_EXPORTER_OTLP_ENDPOINT: set, but tracing needs the `otel` extra, "
        "which is not installed: install otp-service[otel] or unset the variable"
    )


def test_serve_refuses_a_metrics_port_equal_to_the_public_port() -> None:
    code, _, err = run("serve", "--port", "8123", **{**PRODUCTION, "OTP_METRICS_PORT": "8123"})
    assert code == 2
    assert err.startswith("otp-service: configuration error: OTP_METRICS_PORT: 8123 is the public port")


def test_serve_refuses_a_metrics_port_it_cannot_listen_on_with_a_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run("serve", "--host", "127.0.0.1", **{**PRODUCTION, "OTP_METRICS_PORT": str(port)})
    assert code == 2
    assert err.startswith(f"otp-service: configuration error: OTP_METRICS_PORT: cannot listen on 127.0.0.1:{port} (")
    assert "Traceback" not in err
