"""Conectaline's spec: settings from CONECTALINE_* variables and the provisional receipt parser."""

from __future__ import annotations

import msgspec
import pytest

from providers import (
    DeliveryStatus,
    Msisdn,
    ProviderError,
    ReceiptError,
    load_vendor_settings,
)
from providers.conectaline import SPEC, ConectalineSettings, parse_receipts
from tests.fakes.conectaline import (
    API_TOKEN,
    EMAIL,
    LOGIN_SETTINGS,
    PASSWORD,
    SETTINGS,
    env,
    login_env,
)
from tests.providers.conftest import assert_clean as assert_free_of

TO = Msisdn("34", "600100200")
CODE = "482913"
TEXT = f"Tu código de Acme es {CODE}. Caduca en 10 minutos."
FORBIDDEN = (CODE, TEXT, API_TOKEN, PASSWORD, EMAIL, TO.e164, TO.digits, TO.national_number)


def assert_clean(exc: ProviderError) -> None:
    assert_free_of(exc, FORBIDDEN)


# --- settings ------------------------------------------------------------------------------------------


def test_fixed_token_settings_load_from_env_and_hide_the_token() -> None:
    settings = load_vendor_settings(SPEC, env())
    assert settings == SETTINGS
    assert SPEC.is_configured(settings)
    assert API_TOKEN not in repr(settings)


def test_login_settings_load_from_env_and_hide_the_password() -> None:
    settings = load_vendor_settings(SPEC, login_env())
    assert settings == LOGIN_SETTINGS
    assert SPEC.is_configured(settings)
    assert PASSWORD not in repr(settings)
    assert settings.secrets() == [PASSWORD]


def test_nothing_set_is_valid_but_not_configured() -> None:
    assert not SPEC.is_configured(load_vendor_settings(SPEC, {}))
    assert SPEC.receipts is parse_receipts


@pytest.mark.parametrize(
    ("fields", "variable"),
    [
        ({"api_token": "t", "email": "a@b.c", "password": "p", "configuration_name": "c"}, "not both"),
        ({"api_token": "t", "password": "p", "configuration_name": "c"}, "not both"),
        ({"email": "a@b.c", "configuration_name": "c"}, "together"),
        ({"password": "p", "configuration_name": "c"}, "together"),
        ({"api_token": "t"}, "configuration_name"),
        ({"email": "a@b.c", "password": "p"}, "configuration_name"),
    ],
)
def test_exactly_one_credential_kind_and_a_configuration_are_required(fields: dict[str, str], variable: str) -> None:
    with pytest.raises(ValueError, match=variable):
        ConectalineSettings(**fields)


def test_missing_configuration_in_env_names_the_variable() -> None:
    with pytest.raises(ValueError, match="CONECTALINE_"):
        load_vendor_settings(SPEC, {"CONECTALINE_API_TOKEN": "t"})


# --- receipts (provisional parser) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("delivered", DeliveryStatus.DELIVERED),
        ("DELIVRD", DeliveryStatus.DELIVERED),
        ("Entregado", DeliveryStatus.DELIVERED),
        ("sent", DeliveryStatus.SENT),
        ("accepted", DeliveryStatus.SENT),
        ("ACCEPTD", DeliveryStatus.SENT),
        ("queued", DeliveryStatus.QUEUED),
        ("failed", DeliveryStatus.FAILED),
        ("rejected", DeliveryStatus.FAILED),
        ("REJECTD", DeliveryStatus.FAILED),
        ("error", DeliveryStatus.FAILED),
        ("undelivered", DeliveryStatus.UNDELIVERED),
        ("UNDELIV", DeliveryStatus.UNDELIVERED),
        ("expired", DeliveryStatus.UNDELIVERED),
        ("EXPIRED", DeliveryStatus.UNDELIVERED),
        ("no entregado", DeliveryStatus.UNDELIVERED),
        ("mystery", DeliveryStatus.UNKNOWN),
        (5, DeliveryStatus.UNKNOWN),
    ],
)
def test_common_state_words_map_to_delivery_statuses(state: object, expected: DeliveryStatus) -> None:
    (update,) = parse_receipts(msgspec.json.encode({"id": 42, "status": state}), {}).updates
    assert update.status is expected
    assert update.message_id == "42"
    assert update.vendor_status == str(state)
    assert update.reference is None


@pytest.mark.parametrize(
    "body",
    [
        {"message_id": "m1", "state": "DELIVRD"},
        {"sms_id": "m1", "status": "DELIVRD"},
        {"data": {"id": "m1", "status": "DELIVRD"}},
        {"data": [{"id": "m1", "status": "DELIVRD"}]},
        [{"id": "m1", "status": "DELIVRD"}],
    ],
)
def test_json_receipts_in_any_plausible_shape_are_read(body: object) -> None:
    (update,) = parse_receipts(msgspec.json.encode(body), {"Content-Type": "application/json"}).updates
    assert (update.message_id, update.status) == ("m1", DeliveryStatus.DELIVERED)


def test_a_list_gives_one_update_per_item() -> None:
    body = msgspec.json.encode([{"id": 1, "status": "sent"}, {"id": 2, "status": "delivered"}])
    updates = parse_receipts(body, {}).updates
    assert [(u.message_id, u.status) for u in updates] == [("1", DeliveryStatus.SENT), ("2", DeliveryStatus.DELIVERED)]


def test_empty_list_is_an_empty_batch() -> None:
    assert parse_receipts(b"[]", {}).updates == []


def test_form_encoded_receipt_is_read() -> None:
    body = b"sms_id=m7&state=UNDELIV&number=34600100200"
    (update,) = parse_receipts(body, {"content-type": "application/x-www-form-urlencoded"}).updates
    assert (update.message_id, update.status) == ("m7", DeliveryStatus.UNDELIVERED)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'"delivered"',
        b"42",
        b'{"status": "delivered"}',
        b'{"id": "m1"}',
        b'{"id": "", "status": "delivered"}',
        b'{"id": {"x": 1}, "status": "delivered"}',
        b"[1, 2]",
        b"",
        b"just some text",
        b"\xff\xfe",
    ],
)
def test_bodies_without_an_id_and_a_state_are_refused(body: bytes) -> None:
    with pytest.raises(ReceiptError):
        parse_receipts(body, {})
