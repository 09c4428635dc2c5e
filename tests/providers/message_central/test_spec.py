"""Message Central's spec: settings from MESSAGE_CENTRAL_* variables and the delivery-receipt parser."""

from __future__ import annotations

import json

import httpx
import msgspec
import pytest

from providers import (
    DeliveryStatus,
    ReceiptError,
    SmsSender,
    VerificationProvider,
    load_vendor_settings,
)
from providers.message_central import (
    SPEC,
    MessageCentralSettings,
    MessageCentralSms,
    MessageCentralVerify,
    parse_receipts,
)
from tests.fakes.message_central import (
    CUSTOMER_ID,
    PASSWORD,
    SETTINGS,
    SMS_SETTINGS,
    FakeMessageCentral,
    env,
)


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


# --- delivery receipts -------------------------------------------------------------------------------

DLR = {
    "apiKey": None,
    "clientId": None,
    "messageId": "a2e87214-d18c-4a2e-b7f4-802c4465a9b9",
    "status": "DELIVRD",
    "errorCode": 0,
    "countryCode": None,
    "mobile": "919999999999",
    "submitDate": "2023-11-02 13:59:18",
    "doneDate": "2023-11-02 13:59:22",
}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("DELIVRD", DeliveryStatus.DELIVERED),
        ("UNDELIV", DeliveryStatus.UNDELIVERED),
        ("EXPIRED", DeliveryStatus.UNDELIVERED),
        ("REJECTD", DeliveryStatus.FAILED),
        ("DELIVERED", DeliveryStatus.DELIVERED),  # the vendor's status list spells these out
        ("REJECTED", DeliveryStatus.FAILED),
        ("UNKNOWN", DeliveryStatus.UNKNOWN),
        ("delivrd", DeliveryStatus.DELIVERED),
        ("ACCEPTD", DeliveryStatus.UNKNOWN),
        ("", DeliveryStatus.UNKNOWN),
    ],
)
def test_receipt_states_are_mapped(status: str, expected: DeliveryStatus) -> None:
    batch = parse_receipts(json.dumps({**DLR, "status": status}).encode(), {})
    (update,) = batch.updates
    assert update.status is expected
    assert update.vendor_status == status
    assert update.message_id == DLR["messageId"]
    assert update.reference is None
    assert batch.response is None


def test_a_receipt_names_the_number_for_matching_when_its_message_id_was_never_indexed() -> None:
    """A send answered with ``"transactionId": null`` (the vendor's own v1 example) leaves the receipt's
    ``messageId`` nothing to match; its ``mobile`` is passed on so the service can still match it."""
    (update,) = parse_receipts(json.dumps({**DLR, "messageId": None}).encode(), {}).updates
    assert (update.message_id, update.to) == (None, DLR["mobile"])


def test_fake_dlr_body_parses() -> None:
    (update,) = parse_receipts(FakeMessageCentral().dlr_body("m-1", "UNDELIV"), {}).updates
    assert (update.message_id, update.status) == ("m-1", DeliveryStatus.UNDELIVERED)


def test_receipt_array_with_numeric_id_and_client_id() -> None:
    body = json.dumps([DLR, {**DLR, "messageId": 12345, "clientId": "vf_abc", "status": "REJECTD"}]).encode()
    first, second = parse_receipts(body, {"content-type": "application/json"}).updates
    assert first.status is DeliveryStatus.DELIVERED
    assert (second.message_id, second.reference, second.status) == ("12345", "vf_abc", DeliveryStatus.FAILED)


def test_empty_receipt_array_has_no_updates() -> None:
    assert parse_receipts(b"[]", {}).updates == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'"DELIVRD"',
        b"42",
        json.dumps({k: v for k, v in DLR.items() if k != "status"}).encode(),
        json.dumps({**DLR, "status": 3}).encode(),
        json.dumps({**DLR, "messageId": ["x"]}).encode(),
        json.dumps({**DLR, "clientId": {"a": 1}}).encode(),
        json.dumps([DLR, "x"]).encode(),
    ],
    ids=["empty", "garbage", "string", "number", "no-status", "int-status", "list-id", "object-client", "mixed-array"],
)
def test_malformed_receipts_are_rejected(body: bytes) -> None:
    with pytest.raises(ReceiptError):
        parse_receipts(body, {})


# --- SPEC and settings -------------------------------------------------------------------------------


async def test_spec_builds_the_adapter_the_mode_asks_for() -> None:
    async with httpx.AsyncClient() as client:
        verifier = SPEC.build(SETTINGS, client)
        sender = SPEC.build(SMS_SETTINGS, client)
    assert isinstance(verifier, MessageCentralVerify)
    assert isinstance(verifier, VerificationProvider)
    assert isinstance(sender, MessageCentralSms)
    assert isinstance(sender, SmsSender)
    assert sender.max_length == 1000
    assert verifier.name == sender.name == SPEC.name == "message_central"
    assert SPEC.receipts is parse_receipts


@pytest.mark.parametrize(
    ("fields", "configured"),
    [
        ({}, False),
        ({"customer_id": CUSTOMER_ID}, False),
        ({"password": PASSWORD}, False),
        ({"customer_id": CUSTOMER_ID, "password": PASSWORD}, True),
        ({"customer_id": CUSTOMER_ID, "auth_token": "t"}, True),
    ],
)
def test_is_configured_needs_customer_id_and_a_credential(fields: dict[str, str], configured: bool) -> None:
    assert SPEC.is_configured(msgspec.convert(fields, MessageCentralSettings)) is configured


def test_env_of_the_fake_loads_into_its_settings() -> None:
    assert load_vendor_settings(SPEC, env()) == SETTINGS
    loaded = load_vendor_settings(
        SPEC,
        {
            **env(),
            "MESSAGE_CENTRAL_MODE": "sms",
            "MESSAGE_CENTRAL_SENDER_ID": "ACME",
            "MESSAGE_CENTRAL_COUNTRY": "91",
            "MESSAGE_CENTRAL_TIMEOUT_S": "3.5",
        },
    )
    assert isinstance(loaded, MessageCentralSettings)
    assert (loaded.mode, loaded.sender_id, loaded.country, loaded.timeout_s) == ("sms", "ACME", "91", 3.5)
    assert MessageCentralSettings().base_url == "https://cpaas.messagecentral.com"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("MESSAGE_CENTRAL_MODE", "whatsapp"),
        ("MESSAGE_CENTRAL_COUNTRY", "+91"),
        ("MESSAGE_CENTRAL_BASE_URL", "cpaas.messagecentral.com"),
        ("MESSAGE_CENTRAL_PASWORD", "typo"),
    ],
)
def test_bad_settings_fail_at_start_up(key: str, value: str) -> None:
    with pytest.raises(ValueError, match="MESSAGE_CENTRAL"):
        load_vendor_settings(SPEC, {**env(), key: value})
