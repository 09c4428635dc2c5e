"""Gatum's spec: settings read from GATUM_* variables, and the delivery-receipt parser."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from providers.base import (
    DeliveryStatus,
    ReceiptError,
)
from providers.gatum import SPEC, GatumSettings, parse_receipts
from providers.registry import load_vendor_settings
from tests.fakes.gatum import SETTINGS, env

CODE = "482913"
TEXT = f"Your verification code is {CODE}"


# --- settings and spec ------------------------------------------------------------------------------


def test_settings_load_from_the_documented_env_vars() -> None:
    settings = load_vendor_settings(SPEC, env())
    assert settings == SETTINGS
    assert SPEC.is_configured(settings)
    assert SPEC.name == "gatum"
    assert SPEC.env_prefix == "GATUM"
    assert SPEC.receipts is parse_receipts


def test_access_token_env_var_configures_without_username() -> None:
    settings = load_vendor_settings(SPEC, {"GATUM_ACCESS_TOKEN": "t0k3n", "GATUM_SENDER": "Verify"})
    assert SPEC.is_configured(settings)


def test_unconfigured_defaults_point_at_the_public_api() -> None:
    settings = GatumSettings()
    assert settings.base_url == "https://restapi.gatum.io"
    assert not SPEC.is_configured(settings)


def test_repr_hides_password_and_access_token() -> None:
    settings = GatumSettings(username="u", password="hunter2-secret", access_token="tok-secret", sender="Verify")
    assert "hunter2-secret" not in repr(settings)
    assert "tok-secret" not in repr(settings)
    assert set(settings.secrets()) == {"hunter2-secret", "tok-secret"}


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "u", "sender": "Verify"},
        {"password": "p", "sender": "Verify"},
        {"username": "u", "password": "p"},
        {"access_token": "t"},
        {"base_url": "restapi.gatum.io"},
    ],
    ids=["username-only", "password-only", "no-sender", "token-no-sender", "no-scheme"],
)
def test_incomplete_settings_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="GATUM_"):
        GatumSettings(**fields)


@pytest.mark.parametrize(
    "sender_id", ["Verify", "MyShop-1", "A", "ABCDEFGHIJK", "123", "380957225759", "123456789012345"]
)
def test_valid_sender_ids_are_accepted(sender_id: str) -> None:
    assert GatumSettings(username="u", password="p", sender=sender_id).sender == sender_id


@pytest.mark.parametrize(
    "sender_id", ["12", "1234567890123456", "ABCDEFGHIJKL", "Véri", " Verify", "Ver!fy", "+380957"]
)
def test_invalid_sender_ids_are_refused(sender_id: str) -> None:
    with pytest.raises(ValueError, match="GATUM_SENDER"):
        GatumSettings(username="u", password="p", sender=sender_id)


def test_invalid_sender_in_env_names_the_variable() -> None:
    with pytest.raises(ValueError, match="GATUM"):
        load_vendor_settings(SPEC, {**env(), "GATUM_SENDER": "WayTooLongSender"})


# --- delivery receipts ------------------------------------------------------------------------------


def dlr(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "id_state": 598933232,
        "originator": "SMS",
        "phone": "380957225759",
        "type_sms": "sms",
        "text_sms": TEXT,
        "num_parts": 1,
        "part_no": 1,
        "state": "DELIVRD",
        "time": "2023-07-24 12:03:48",
    }
    item.update(overrides)
    return item


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("DELIVRD", DeliveryStatus.DELIVERED),
        ("UNDELIV", DeliveryStatus.UNDELIVERED),
        ("EXPIRED", DeliveryStatus.UNDELIVERED),
        ("REJECTD", DeliveryStatus.FAILED),
        ("ACCEPTD", DeliveryStatus.SENT),
        ("ENROUTE", DeliveryStatus.SENT),
        ("UNKNOWN", DeliveryStatus.UNKNOWN),
        ("DELETED", DeliveryStatus.UNKNOWN),
        ("delivrd", DeliveryStatus.DELIVERED),
    ],
)
def test_dlr_states_map_to_delivery_statuses(state: str, status: DeliveryStatus) -> None:
    batch = parse_receipts(json.dumps([dlr(state=state)]).encode(), {})
    [update] = batch.updates
    assert update.status is status
    assert update.message_id == "598933232"
    assert update.reference is None
    assert update.vendor_status == state.upper()


def test_dlr_batch_is_acknowledged_with_the_id_state_values_as_strings() -> None:
    body = json.dumps([dlr(id_state=1), dlr(id_state="2", state="UNDELIV"), dlr(id_state=3, part_no=2)]).encode()
    batch = parse_receipts(body, {"content-type": "application/json"})
    assert batch.response == ["1", "2", "3"]
    assert [u.message_id for u in batch.updates] == ["1", "2", "3"]
    assert [u.status for u in batch.updates] == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.DELIVERED,
    ]


def test_empty_dlr_array_is_acknowledged_with_an_empty_list() -> None:
    batch = parse_receipts(b"[]", {})
    assert batch.updates == []
    assert batch.response == []


def test_dlr_text_with_the_code_is_never_copied() -> None:
    batch = parse_receipts(json.dumps([dlr()]).encode(), {})
    assert CODE not in msgspec.json.encode(batch).decode()
    assert CODE not in repr(batch)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        json.dumps(dlr()).encode(),  # an object, not the documented array
        json.dumps([{"state": "DELIVRD"}]).encode(),
        json.dumps([dlr(id_state=None)]).encode(),
        json.dumps([dlr(id_state=True)]).encode(),
        json.dumps([dlr(state=3)]).encode(),
        json.dumps(["598933232"]).encode(),
    ],
    ids=["garbage", "empty", "object", "no-id", "null-id", "bool-id", "state-not-str", "bare-ids"],
)
def test_bad_dlr_bodies_raise_receipt_error(body: bytes) -> None:
    with pytest.raises(ReceiptError) as caught:
        parse_receipts(body, {})
    assert CODE not in str(caught.value)
