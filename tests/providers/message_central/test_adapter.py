"""Message Central adapters against the fake vendor (tests/fakes/message_central.py) and canned replies."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import msgspec
import pytest

from providers import (
    Channel,
    CheckOutcome,
    Msisdn,
    ProviderRejected,
    ProviderUnavailable,
    SendOptions,
    StartedVerification,
    VerificationPending,
)
from providers.message_central import (
    OTP_LENGTH_RANGE,
    MessageCentralSettings,
    MessageCentralSms,
    MessageCentralVerify,
    clamp_code_length,
)
from tests.fakes.message_central import (
    BASE_URL,
    CUSTOMER_ID,
    PASSWORD,
    SEND_PATH,
    SETTINGS,
    SMS_SETTINGS,
    TOKEN_PATH,
    VALIDATE_PATH,
    FakeMessageCentral,
)
from tests.providers.conftest import Clock

TO = Msisdn("91", "9876543210")
KEY = base64.b64encode(PASSWORD.encode()).decode()
TEXT = "Your Acme code is 482913. It expires in 10 minutes."


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


# --- happy paths with exact requests ----------------------------------------------------------------


async def test_start_logs_in_then_sends_the_verification_with_every_field_in_the_query(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    started = await verify().start(TO, code_length=6)

    token_call, send = fake.requests
    assert token_call.method == "GET"
    assert token_call.url.path == TOKEN_PATH
    assert params(token_call) == {"customerId": CUSTOMER_ID, "key": KEY, "scope": "NEW"}
    assert token_call.headers["accept"] == "*/*"
    assert send.method == "POST"
    assert send.url.path == SEND_PATH
    assert send.url.host == "messagecentral.test"
    assert send.headers["authToken"] in fake.tokens
    assert params(send) == {
        "countryCode": "91",
        "mobileNumber": "9876543210",
        "flowType": "SMS",
        "type": "OTP",
        "otpLength": "6",
        "customerId": CUSTOMER_ID,
    }
    assert send.content == b""
    message = fake.messages[-1]
    assert started == StartedVerification(
        provider="message_central",
        reference=fake.last_verification_id,
        code_length=6,
        expires_in_s=60,
        message_id=message["message_id"],
    )
    assert message["to"] == "919876543210"
    assert len(message["code"]) == 6


async def test_token_call_carries_email_and_country_when_configured(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    settings = msgspec.structs.replace(SETTINGS, email="ops@example.com", country="91")
    await verify(settings).start(TO, code_length=6)
    assert params(fake.calls(TOKEN_PATH)[0]) == {
        "customerId": CUSTOMER_ID,
        "key": KEY,
        "scope": "NEW",
        "email": "ops@example.com",
        "country": "91",
    }


async def test_right_code_is_approved_and_the_check_query_names_the_verification(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    adapter = verify()
    started = await adapter.start(TO, code_length=6)
    outcome = await adapter.check(TO, fake.last_code, reference=started.reference)

    assert outcome is CheckOutcome.APPROVED
    check = fake.calls(VALIDATE_PATH)[0]
    assert check.method == "GET"
    assert check.headers["authToken"] in fake.tokens
    assert params(check) == {
        "verificationId": started.reference,
        "code": fake.last_code,
        "flowType": "SMS",
        "countryCode": "91",
        "mobileNumber": "9876543210",
        "customerId": CUSTOMER_ID,
    }


@pytest.mark.parametrize(("asked", "sent"), [(1, 4), (4, 4), (6, 6), (8, 8), (10, 8)])
async def test_code_length_is_clamped_into_the_vendor_range(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], asked: int, sent: int
) -> None:
    started = await verify().start(TO, code_length=asked)
    assert clamp_code_length(asked) == sent
    assert OTP_LENGTH_RANGE == (4, 8)
    assert started.code_length == sent
    assert params(fake.calls(SEND_PATH)[0])["otpLength"] == str(sent)
    assert len(fake.last_code) == sent


async def test_sms_mode_sends_our_text_as_a_message_now_request(
    fake: FakeMessageCentral, sms: Callable[..., MessageCentralSms]
) -> None:
    receipt = await sms().send(TO, TEXT, reference="vf_123")

    send = fake.calls(SEND_PATH)[0]
    assert send.method == "POST"
    assert send.headers["authToken"] in fake.tokens
    assert params(send) == {
        "countryCode": "91",
        "mobileNumber": "9876543210",
        "flowType": "SMS",
        "type": "SMS",
        "messageType": "OTP",
        "senderId": "ACME",
        "message": TEXT,
        "customerId": CUSTOMER_ID,
    }
    assert fake.messages[-1]["to"] == "919876543210"
    assert fake.messages[-1]["text"] == TEXT
    assert receipt.provider == "message_central"
    assert receipt.message_id == fake.messages[-1]["message_id"]


def test_sms_mode_without_a_sender_id_fails_at_start_up() -> None:
    """Message Now's senderId is "Yes (in case of SMS)" in the vendor's table: no silent default."""
    with pytest.raises(ValueError, match="MESSAGE_CENTRAL_SENDER_ID"):
        msgspec.convert({"customer_id": CUSTOMER_ID, "password": PASSWORD, "mode": "sms"}, MessageCentralSettings)


async def test_the_fake_refuses_a_message_now_send_without_sender_id(fake: FakeMessageCentral) -> None:
    """The fake follows the vendor's table, so an adapter that left senderId out would fail here."""
    token = fake.issue_token()
    query = {"countryCode": "91", "mobileNumber": "9876543210", "flowType": "SMS", "type": "SMS"}
    query |= {"message": "hi", "messageType": "OTP", "customerId": CUSTOMER_ID}
    response = fake.handler(httpx.Request("POST", f"{BASE_URL}{SEND_PATH}", params=query, headers={"authToken": token}))
    assert response.json()["responseCode"] == 400


async def test_sms_mode_sends_the_message_type_and_a_routes_sender_id(
    fake: FakeMessageCentral, sms: Callable[..., MessageCentralSms]
) -> None:
    await sms(msgspec.structs.replace(SMS_SETTINGS, message_type="TRANSACTION")).send(
        TO, TEXT, reference="vf_1", options=SendOptions(sender_id="ROUTED")
    )
    sent = params(fake.calls(SEND_PATH)[0])
    assert sent["senderId"] == "ROUTED"
    assert sent["messageType"] == "TRANSACTION"


async def test_india_dlt_template_and_entity_ids_are_sent_together(
    fake: FakeMessageCentral, sms: Callable[..., MessageCentralSms]
) -> None:
    settings = msgspec.structs.replace(SMS_SETTINGS, template_id="1107161234567890123", entity_id="1101159876543210")
    await sms(settings).send(TO, TEXT, reference="vf_1")
    sent = params(fake.calls(SEND_PATH)[0])
    assert (sent["templateId"], sent["entityId"]) == ("1107161234567890123", "1101159876543210")
    assert fake.messages[-1]["template_id"] == "1107161234567890123"


def test_a_dlt_template_id_without_an_entity_id_fails_at_start_up() -> None:
    raw = {"customer_id": CUSTOMER_ID, "password": PASSWORD, "mode": "sms", "sender_id": "ACME", "template_id": "1"}
    with pytest.raises(ValueError, match="ENTITY_ID"):
        msgspec.convert(raw, MessageCentralSettings)


async def test_verify_now_send_carries_type_otp_and_validate_carries_the_flow_type(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    adapter = verify()
    started = await adapter.start(TO, code_length=6)
    assert params(fake.calls(SEND_PATH)[0])["type"] == "OTP"
    assert await adapter.check(TO, fake.last_code, reference=started.reference) is CheckOutcome.APPROVED
    assert params(fake.calls(VALIDATE_PATH)[0])["flowType"] == "SMS"


async def test_a_whatsapp_send_is_flow_type_whatsapp_and_is_validated_as_one(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    adapter = verify()
    started = await adapter.start(TO, code_length=6, options=SendOptions(channel=Channel.WHATSAPP))
    assert params(fake.calls(SEND_PATH)[0])["flowType"] == "WHATSAPP"
    assert started.reference == f"whatsapp:{fake.last_verification_id}"
    assert await adapter.check(TO, fake.last_code, reference=started.reference) is CheckOutcome.APPROVED
    validate = params(fake.calls(VALIDATE_PATH)[0])
    assert (validate["flowType"], validate["verificationId"]) == ("WHATSAPP", fake.last_verification_id)


async def test_a_number_without_whatsapp_is_a_refusal_the_chain_can_fall_over(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    fake.no_whatsapp.add(TO.digits)
    with pytest.raises(ProviderRejected):
        await verify().start(TO, code_length=6, options=SendOptions(channel=Channel.WHATSAPP))


async def test_a_null_transaction_id_falls_back_to_the_verification_id(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    fake.null_transaction_id = True
    started = await verify().start(TO, code_length=6)
    assert started.message_id == fake.last_verification_id


async def test_trailing_slash_in_base_url_is_tolerated(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    await verify(msgspec.structs.replace(SETTINGS, base_url="https://messagecentral.test/")).start(TO, code_length=6)
    assert [r.url.path for r in fake.requests] == [TOKEN_PATH, SEND_PATH]


# --- the verification life cycle at the vendor, in both error styles ---------------------------------


@pytest.fixture(params=[False, True], ids=["errors-as-http-200", "errors-as-http-4xx"])
def error_style(request: pytest.FixtureRequest, fake: FakeMessageCentral) -> bool:
    fake.errors_as_http_status = request.param
    return bool(request.param)


@pytest.mark.usefixtures("error_style")
async def test_wrong_code_then_right_code_then_reuse(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    adapter = verify()
    started = await adapter.start(TO, code_length=6)
    wrong = "000000" if fake.last_code != "000000" else "111111"
    assert await adapter.check(TO, wrong, reference=started.reference) is CheckOutcome.WRONG_CODE
    assert await adapter.check(TO, fake.last_code, reference=started.reference) is CheckOutcome.APPROVED
    assert await adapter.check(TO, fake.last_code, reference=started.reference) is CheckOutcome.EXPIRED  # 703


@pytest.mark.usefixtures("error_style")
async def test_code_past_the_vendor_timeout_is_expired(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], clock: Clock
) -> None:
    adapter = verify()
    started = await adapter.start(TO, code_length=6)
    clock.advance(61)
    assert await adapter.check(TO, fake.last_code, reference=started.reference) is CheckOutcome.EXPIRED  # 705


@pytest.mark.usefixtures("error_style")
async def test_unknown_verification_id_is_expired(verify: Callable[..., MessageCentralVerify]) -> None:
    assert await verify().check(TO, "123456", reference="999") is CheckOutcome.EXPIRED  # 505


@pytest.mark.usefixtures("error_style")
async def test_too_many_wrong_codes_lock_the_verification(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    adapter = verify()
    started = await adapter.start(TO, code_length=4)
    wrong = "0000" if fake.last_code != "0000" else "1111"
    for _ in range(fake.max_wrong_attempts):
        assert await adapter.check(TO, wrong, reference=started.reference) is CheckOutcome.WRONG_CODE
    assert await adapter.check(TO, fake.last_code, reference=started.reference) is CheckOutcome.LOCKED  # 800


@pytest.mark.usefixtures("error_style")
async def test_second_start_within_the_vendor_timeout_is_verification_pending(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], clock: Clock
) -> None:
    adapter = verify()
    await adapter.start(TO, code_length=6)
    with pytest.raises(VerificationPending) as info:
        await adapter.start(TO, code_length=6)
    assert info.value.vendor_code == "506"
    clock.advance(61)
    await adapter.start(TO, code_length=6)
    assert len(fake.verifications) == 2


@pytest.mark.usefixtures("error_style")
async def test_vendor_send_limit_is_a_plain_rejection_so_the_chain_falls_over(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], clock: Clock
) -> None:
    fake.max_sends = 1
    adapter = verify()
    await adapter.start(TO, code_length=6)
    clock.advance(61)
    with pytest.raises(ProviderRejected) as info:
        await adapter.start(TO, code_length=6)
    assert type(info.value) is ProviderRejected
    assert info.value.vendor_code == "800"


@pytest.mark.usefixtures("error_style")
async def test_invalid_country_code_is_rejected(verify: Callable[..., MessageCentralVerify]) -> None:
    with pytest.raises(ProviderRejected) as info:
        await verify().start(Msisdn("0999", "9876543210"), code_length=6)
    assert type(info.value) is ProviderRejected
    assert info.value.vendor_code == "511"


@pytest.mark.usefixtures("error_style")
async def test_sms_mode_pending_request_is_a_plain_rejection(
    fake: FakeMessageCentral, sms: Callable[..., MessageCentralSms]
) -> None:
    fake.max_sends = 0
    with pytest.raises(ProviderRejected) as info:
        await sms().send(TO, TEXT, reference="vf_1")
    assert info.value.vendor_code == "800"


# --- transport failures ------------------------------------------------------------------------------


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout, httpx.ConnectError])
async def test_connect_failures_on_a_check_are_unavailable(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], exc: type[Exception]
) -> None:
    fake.raise_exc = exc  # sends are in the shared battery; a check is Message Central's alone
    with pytest.raises(ProviderUnavailable):
        await verify().check(TO, "123456", reference="42")
