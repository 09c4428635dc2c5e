"""Gatum as its SDKs show it: where sentID sits, how receipts join it, the error envelopes (see the fake's sources)."""

from __future__ import annotations

import json

import httpx
import pytest

from providers import DeliveryStatus, ProviderAuthError, ProviderProtocolError, ProviderRejected
from providers.gatum import GatumSender, parse_receipts
from tests.fakes.gatum import FakeGatum, build
from tests.providers.conftest import BY_ID, REF, TEXT, TO, Adapter


@pytest.fixture
def case() -> Adapter:
    return BY_ID["gatum"]


@pytest.fixture
def sender(client: httpx.AsyncClient) -> GatumSender:
    return build(client)


async def test_the_sent_id_is_read_where_the_wrapper_documents_it(fake: FakeGatum, sender: GatumSender) -> None:
    receipt = await sender.send(TO, TEXT, reference=REF)
    assert receipt.message_id == str(fake.messages[-1]["sent_id"])
    reply = json.loads(fake.send_requests()[-1].content)
    assert reply[0]["number"] == [TO.digits]  # one message object, one number: one sentID


async def test_a_success_without_any_sent_id_is_acceptance_without_an_id(fake: FakeGatum, sender: GatumSender) -> None:
    fake.success_shape = "no_sent_id"
    receipt = await sender.send(TO, TEXT, reference=REF)
    assert receipt.message_id is None  # accepted: no failover, the verification waits without receipts
    assert len(fake.messages) == 1


@pytest.mark.parametrize(
    "body",
    [{"data": [{"sentID": 77}]}, [{"sending": {"details": {"sentID": 77}}}]],
    ids=["no-status", "bare-array"],
)
async def test_a_2xx_outside_the_status_envelope_may_have_delivered(
    fake: FakeGatum, sender: GatumSender, body: object
) -> None:
    fake.next_response = httpx.Response(200, json=body)
    with pytest.raises(ProviderProtocolError) as info:
        await sender.send(TO, TEXT, reference=REF)
    assert info.value.status_code == 200  # the dispatcher reads a 2xx bad reply as "may have delivered"


async def test_the_dlr_for_a_send_names_the_send_by_its_sent_id(fake: FakeGatum, sender: GatumSender) -> None:
    receipt = await sender.send(TO, TEXT, reference=REF)
    assert receipt.message_id is not None
    batch = parse_receipts(fake.dlr_body(receipt.message_id, "DELIVRD"), {})
    assert [u.message_id for u in batch.updates] == [receipt.message_id]
    assert batch.response == [receipt.message_id]  # the id_state echo Gatum waits for


def test_a_delivered_part_of_a_longer_message_is_not_yet_a_delivered_message() -> None:
    fake = FakeGatum()
    first = parse_receipts(fake.dlr_body(598933232, "DELIVRD", part=(1, 2)), {}).updates[0]
    last = parse_receipts(fake.dlr_body(598933232, "DELIVRD", part=(2, 2)), {}).updates[0]
    assert (first.status, last.status) == (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)


def test_a_failed_part_fails_the_message_whichever_part_it_is() -> None:
    update = parse_receipts(FakeGatum().dlr_body(1, "UNDELIV", part=(1, 3)), {}).updates[0]
    assert update.status is DeliveryStatus.UNDELIVERED


def test_an_unknown_state_is_kept_as_unknown_and_still_acknowledged() -> None:
    batch = parse_receipts(FakeGatum().dlr_body(5, "SOMETHING_NEW"), {})
    assert batch.updates[0].status is DeliveryStatus.UNKNOWN
    assert batch.response == ["5"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"status": False, "error_code": 400, "errors": {"number": ["Number is invalid."]}},
            "number: Number is invalid.",
        ),
        ({"status": False, "error_code": 422, "error": "not_registr_originator"}, "not_registr_originator"),
        ({"status": False, "error_code": 400, "errors": ["too many numbers"]}, "too many numbers"),
    ],
    ids=["errors-by-field", "error-string", "errors-list"],
)
async def test_each_error_envelope_is_a_rejection_with_its_reason(
    fake: FakeGatum, sender: GatumSender, body: dict[str, object], expected: str
) -> None:
    fake.next_response = httpx.Response(400, json=body)
    with pytest.raises(ProviderRejected) as info:
        await sender.send(TO, TEXT, reference=REF)
    assert expected in info.value.detail
    assert not isinstance(info.value, ProviderAuthError)


async def test_an_error_envelope_with_http_200_is_still_a_rejection(fake: FakeGatum, sender: GatumSender) -> None:
    fake.next_response = httpx.Response(200, json={"status": False, "error_code": 402, "error": "low_balance"})
    with pytest.raises(ProviderRejected) as info:
        await sender.send(TO, TEXT, reference=REF)
    assert info.value.vendor_code == "low_balance"
