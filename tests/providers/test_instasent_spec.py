"""Instasent's spec: settings from INSTASENT_* variables and the receipt parser (clientId suffix stripped)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from providers import (
    DeliveryStatus,
    Msisdn,
    ProviderError,
    ReceiptError,
    load_vendor_settings,
)
from providers.instasent import SPEC, InstasentSettings, InstasentSms, parse_receipts
from tests.fakes.instasent import SETTINGS, TOKEN, FakeInstasent, build, env
from tests.providers.conftest import assert_clean as assert_free_of

TO = Msisdn("34", "600100200")
CODE = "482913"
TEXT = f"Your Acme code is {CODE}. It expires in 10 minutes."
REF = "vf_7Hq2ZkR9mXb4"
FORBIDDEN = (CODE, TEXT, TOKEN, TO.e164, TO.digits, TO.national_number)


@pytest.fixture
def fake() -> FakeInstasent:
    return FakeInstasent()


@pytest.fixture
async def client(fake: FakeInstasent) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as c:
        yield c


@pytest.fixture
def adapter(client: httpx.AsyncClient) -> InstasentSms:
    return build(client)


def assert_clean(exc: ProviderError) -> None:
    assert_free_of(exc, FORBIDDEN)


# --- settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", ["Acme", "ACME Bank", "Acme-OTP", "12345", "+3460010020", "A" * 11])
def test_valid_senders_are_accepted(sender: str) -> None:
    assert InstasentSettings(token="t", sender=sender).sender == sender


@pytest.mark.parametrize("sender", ["A" * 12, "+346001002000", "Acme!", " Acme", "Acmé", "-x"])
def test_invalid_senders_are_refused_at_startup(sender: str) -> None:
    with pytest.raises(ValueError, match="sender"):
        InstasentSettings(token="t", sender=sender)


def test_token_without_sender_is_refused() -> None:
    with pytest.raises(ValueError, match="sender"):
        InstasentSettings(token="t")


def test_settings_load_from_env_and_hide_the_token() -> None:
    settings = load_vendor_settings(SPEC, env())
    assert settings == SETTINGS
    assert SPEC.is_configured(settings)
    assert TOKEN not in repr(settings)
    assert settings.secrets() == [TOKEN]


def test_bad_sender_in_env_names_the_variable() -> None:
    with pytest.raises(ValueError, match="INSTASENT_SENDER"):
        load_vendor_settings(SPEC, {**env(), "INSTASENT_SENDER": "WayTooLongSender"})


def test_without_token_the_adapter_is_not_configured() -> None:
    assert not SPEC.is_configured(load_vendor_settings(SPEC, {}))
    assert SPEC.receipts is parse_receipts


# --- receipts --------------------------------------------------------------------------------------------


def receipt(**fields: object) -> bytes:
    event: dict[str, object] = {
        "id": "sms-1",
        "clientId": f"{REF}-a1b2",
        "status": "delivered",
        "code": 0,
        "eventAt": "2026-04-21T10:15:00Z",
    }
    event.update(fields)
    return msgspec.json.encode({k: v for k, v in event.items() if v is not ...})


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("sent", DeliveryStatus.SENT),
        ("accepted", DeliveryStatus.SENT),
        ("buffered", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("error", DeliveryStatus.FAILED),
        ("failed", DeliveryStatus.FAILED),
        ("rejected", DeliveryStatus.FAILED),
        ("canceled", DeliveryStatus.FAILED),
        ("expired", DeliveryStatus.UNDELIVERED),
        ("unknown", DeliveryStatus.UNKNOWN),
        ("teleported", DeliveryStatus.UNKNOWN),
        ("DELIVERED", DeliveryStatus.DELIVERED),
    ],
)
def test_every_documented_status_maps_to_a_delivery_status(status: str, expected: DeliveryStatus) -> None:
    (update,) = parse_receipts(receipt(status=status), {}).updates
    assert update.status is expected
    assert update.message_id == "sms-1"
    assert update.reference == REF
    assert update.vendor_status == status.lower()


def test_error_code_is_kept_in_the_vendor_status() -> None:
    (update,) = parse_receipts(receipt(status="failed", code=34), {}).updates
    assert update.vendor_status == "failed/34"


def test_numeric_id_and_missing_client_id_are_tolerated() -> None:
    (update,) = parse_receipts(receipt(id=987, clientId=...), {}).updates
    assert update.message_id == "987"
    assert update.reference is None


def test_client_id_that_we_did_not_suffix_is_returned_as_is() -> None:
    (update,) = parse_receipts(receipt(clientId="order-42"), {}).updates
    assert update.reference == "order-42"


def test_stop_opt_out_produces_no_update() -> None:
    body = receipt(status="stop", message="STOP", clientId=...)
    assert parse_receipts(body, {}).updates == []


def test_inbound_message_event_produces_no_update() -> None:
    assert parse_receipts(receipt(status="received", message="hello"), {}).updates == []


def test_delivery_status_with_a_message_field_is_still_an_update() -> None:
    (update,) = parse_receipts(receipt(status="failed", message="Absent subscriber"), {}).updates
    assert update.status is DeliveryStatus.FAILED


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"[]",
        b'[{"id": "sms-1", "status": "delivered"}]',
        b'{"id": "sms-1"}',
        b'{"id": "sms-1", "status": 3}',
        b'{"status": "delivered"}',
        b'{"id": "", "status": "delivered"}',
        b'{"id": {"x": 1}, "status": "delivered"}',
    ],
)
def test_bodies_that_are_not_a_receipt_object_are_refused(body: bytes) -> None:
    with pytest.raises(ReceiptError):
        parse_receipts(body, {})


async def test_fake_pushes_receipts_and_retries_until_answered_2xx(adapter: InstasentSms, fake: FakeInstasent) -> None:
    receipt_ = await adapter.send(TO, TEXT, reference=REF)
    assert receipt_.message_id is not None
    answers = iter([500, 503, 200])
    seen: list[bytes] = []

    def service(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(next(answers))

    async with httpx.AsyncClient(transport=httpx.MockTransport(service)) as hook_client:
        response = await fake.push_receipt(
            hook_client, "https://otp.test/v1/webhooks/instasent/s", receipt_.message_id, "sent"
        )
    assert response.status_code == 200
    assert len(seen) == 3
    (update,) = parse_receipts(seen[-1], {}).updates
    assert update.status is DeliveryStatus.SENT
