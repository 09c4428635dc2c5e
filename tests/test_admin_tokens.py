"""Named admins: ``OTP_ADMIN_TOKENS=name:secret,...``, the old single token as ``admin``, from files
and held to the same length rule as every other secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from otp_service.api.auth import Authenticator
from otp_service.settings import ConfigErrors, load_settings
from tests.test_settings import ADMIN_TOKEN, env

ALICE = "alice-admin-token-0123456789"
BOB = "bob-admin-token-0123456789ab"


def errors_for(**overrides: str | None) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_settings(env(**overrides))
    return caught.value.errors


def test_named_admins_sit_next_to_the_old_token_which_is_called_admin() -> None:
    settings = load_settings(env(OTP_ADMIN_TOKENS=f"alice:{ALICE}, bob:{BOB}"))
    assert settings.admins == {"alice": ALICE, "bob": BOB, "admin": ADMIN_TOKEN}


def test_named_admins_alone_need_no_old_token() -> None:
    settings = load_settings(env(OTP_ADMIN_TOKEN=None, OTP_ADMIN_TOKENS=f"alice:{ALICE}"))
    assert settings.admins == {"alice": ALICE}


def test_the_admin_tokens_can_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "admins"
    path.write_text(f"alice:{ALICE},bob:{BOB}\n")
    settings = load_settings(env(OTP_ADMIN_TOKEN=None, OTP_ADMIN_TOKENS_FILE=str(path)))
    assert settings.admins == {"alice": ALICE, "bob": BOB}
    assert {ALICE, BOB} <= set(settings.secret_values())  # redacted from logs like any secret


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("alice", "OTP_ADMIN_TOKENS: entry 1 is not name:secret"),
        (f"Alice:{ALICE}", "OTP_ADMIN_TOKENS: entry 1 has an invalid name"),
        (f"alice:{ALICE},alice:{BOB}", "OTP_ADMIN_TOKENS: entry 2 repeats the name 'alice'"),
        (f"alice:{ALICE},bob:{ALICE}", "OTP_ADMIN_TOKENS: entry 2 reuses another admin's secret"),
        (f"admin:{ALICE}", "OTP_ADMIN_TOKENS: names 'admin', which OTP_ADMIN_TOKEN already is"),
        (f"alice:{ADMIN_TOKEN}", "OTP_ADMIN_TOKENS: an entry reuses the secret of OTP_ADMIN_TOKEN"),
    ],
)
def test_a_bad_entry_is_named_without_its_secret(raw: str, message: str) -> None:
    errors = errors_for(OTP_ADMIN_TOKENS=raw)
    assert len(errors) == 1
    assert errors[0].startswith(message)
    assert ALICE not in errors[0] and ADMIN_TOKEN not in errors[0]


def test_a_short_admin_token_is_refused_in_production_naming_the_admin() -> None:
    errors = errors_for(OTP_ADMIN_TOKENS="alice:short")
    assert errors == [
        "OTP_ADMIN_TOKENS: the secret of admin 'alice' is shorter than 24 characters; "
        "generate one with `otp-service secret`"
    ]


def test_a_token_names_its_admin_and_nothing_else_does() -> None:
    auth = Authenticator({"web": "k" * 30}, None, None, admins={"alice": ALICE, "bob": BOB})
    assert auth.admin_for(ALICE) == "alice"
    assert auth.admin_for(BOB) == "bob"
    assert auth.admin_for("k" * 30) is None
    assert auth.admin_for(None) is None
    assert auth.admin_names() == {"alice", "bob"}
