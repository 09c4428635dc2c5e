"""Message Central adapters against the fake vendor (tests/fakes/message_central.py) and canned replies."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import msgspec
import pytest

from providers import (
    CheckOutcome,
    DeliveryStatus,
    Msisdn,
    ProviderAuthError,
    ProviderDeliveryUnknown,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ReceiptError,
    SmsSender,
    StartedVerification,
    VerificationPending,
    VerificationProvider,
    load_vendor_settings,
)
from providers.message_central import (
    OTP_LENGTH_RANGE,
    SPEC,
    MessageCentralSettings,
    MessageCentralSms,
    MessageCentralVerify,
    clamp_code_length,
    parse_receipts,
)
from tests.fakes.message_central import (
    CUSTOMER_ID,
    HTTP_STATUS,
    PASSWORD,
    SEND_PATH,
    SETTINGS,
    SMS_SETTINGS,
    TOKEN_PATH,
    VALIDATE_PATH,
    FakeMessageCentral,
    env,
    make_jwt,
)

TO = Msisdn("91", "9876543210")
OTHER = Msisdn("91", "9123456780")
KEY = base64.b64encode(PASSWORD.encode()).decode()
TEXT = "Your Acme code is 482913. It expires in 10 minutes."


class Clock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeMessageCentral:
    return FakeMessageCentral(clock=clock, seed=7)


@pytest.fixture
async def http(fake: FakeMessageCentral) -> AsyncIterator[httpx.AsyncClient]:
    async def network(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001)  # let concurrent callers interleave, as a real round trip does
        return fake.handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(network)) as client:
        yield client


@pytest.fixture
def verify(http: httpx.AsyncClient, clock: Clock) -> Callable[..., MessageCentralVerify]:
    def make(settings: MessageCentralSettings = SETTINGS) -> MessageCentralVerify:
        return MessageCentralVerify(settings, http, clock=clock)

    return make


@pytest.fixture
def sms(http: httpx.AsyncClient, clock: Clock) -> Callable[..., MessageCentralSms]:
    def make(settings: MessageCentralSettings = SMS_SETTINGS) -> MessageCentralSms:
        return MessageCentralSms(settings, http, clock=clock)

    return make


def envelope(code: int, message: str = "X", data: Any = None) -> dict[str, Any]:
    return {"responseCode": code, "message": message, "data": data}


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


async def test_sms_mode_leaves_out_an_unset_sender_id(
    fake: FakeMessageCentral, sms: Callable[..., MessageCentralSms]
) -> None:
    await sms(msgspec.structs.replace(SMS_SETTINGS, sender_id="", message_type="TRANSACTION")).send(
        TO, TEXT, reference="vf_1"
    )
    sent = params(fake.calls(SEND_PATH)[0])
    assert "senderId" not in sent
    assert sent["messageType"] == "TRANSACTION"


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


# --- every documented response code, with HTTP 200 and with an HTTP error status ---------------------

Expected = type[ProviderError] | CheckOutcome

START_CODES: list[tuple[int, Expected]] = [
    (400, ProviderRejected),
    (409, ProviderRejected),
    (500, ProviderUnavailable),
    (501, ProviderAuthError),
    (505, ProviderProtocolError),
    (506, VerificationPending),
    (511, ProviderRejected),
    (700, ProviderProtocolError),
    (702, ProviderProtocolError),
    (703, ProviderProtocolError),
    (704, ProviderProtocolError),
    (705, ProviderProtocolError),
    (800, ProviderRejected),
    (999, ProviderRejected),
]
CHECK_CODES: list[tuple[int, Expected]] = [
    (400, ProviderRejected),
    (409, ProviderProtocolError),
    (500, ProviderUnavailable),
    (501, ProviderAuthError),
    (505, CheckOutcome.EXPIRED),
    (506, ProviderProtocolError),
    (511, ProviderRejected),
    (700, CheckOutcome.EXPIRED),
    (702, CheckOutcome.WRONG_CODE),
    (703, CheckOutcome.EXPIRED),
    (704, CheckOutcome.EXPIRED),
    (705, CheckOutcome.EXPIRED),
    (800, CheckOutcome.LOCKED),
    (999, ProviderProtocolError),
]
SMS_CODES: list[tuple[int, Expected]] = [
    *[(code, expected) for code, expected in START_CODES if code != 506],
    (506, ProviderRejected),
]
HTTP_STYLES = pytest.mark.parametrize("as_http_status", [False, True], ids=["http-200", "http-error-status"])


def canned(code: int, as_http_status: bool, *, data: Any = None) -> httpx.Response:
    status = HTTP_STATUS.get(code, 400) if as_http_status else 200
    return httpx.Response(status, json=envelope(code, "SOME_MESSAGE", data))


async def outcome_of(action: Callable[[], Any]) -> Expected:
    try:
        result = await action()
    except ProviderError as exc:
        return type(exc)
    assert isinstance(result, CheckOutcome)
    return result


@HTTP_STYLES
@pytest.mark.parametrize(("code", "expected"), START_CODES)
async def test_start_maps_every_vendor_code(
    fake: FakeMessageCentral,
    verify: Callable[..., MessageCentralVerify],
    code: int,
    expected: Expected,
    as_http_status: bool,
) -> None:
    fake.next_response = canned(code, as_http_status)
    assert await outcome_of(lambda: verify().start(TO, code_length=6)) is expected


@HTTP_STYLES
@pytest.mark.parametrize(("code", "expected"), CHECK_CODES)
async def test_check_maps_every_vendor_code(
    fake: FakeMessageCentral,
    verify: Callable[..., MessageCentralVerify],
    code: int,
    expected: Expected,
    as_http_status: bool,
) -> None:
    fake.next_response = canned(code, as_http_status)
    assert await outcome_of(lambda: verify().check(TO, "123456", reference="42")) is expected


@HTTP_STYLES
@pytest.mark.parametrize(("code", "expected"), SMS_CODES)
async def test_sms_send_maps_every_vendor_code(
    fake: FakeMessageCentral,
    sms: Callable[..., MessageCentralSms],
    code: int,
    expected: Expected,
    as_http_status: bool,
) -> None:
    fake.next_response = canned(code, as_http_status)
    assert await outcome_of(lambda: sms().send(TO, TEXT, reference="vf_1")) is expected


async def test_vendor_code_and_status_are_kept_on_the_error(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    fake.next_response = canned(511, as_http_status=True)
    with pytest.raises(ProviderRejected) as info:
        await verify().start(TO, code_length=6)
    assert (info.value.vendor_code, info.value.status_code) == ("511", 400)
    assert "SOME_MESSAGE" in info.value.detail


@pytest.mark.parametrize(
    "body",
    [
        {"responseCode": 702, "message": "WRONG_OTP_PROVIDED"},
        {"responseCode": 702, "message": "WRONG_OTP_PROVIDED", "data": None},
        {"responseCode": "702", "message": None, "data": {"responseCode": "702"}},
    ],
    ids=["data-absent", "data-null", "string-code"],
)
async def test_error_envelope_without_data_is_understood(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], body: dict[str, Any]
) -> None:
    fake.next_response = httpx.Response(200, json=body)
    assert await verify().check(TO, "123456", reference="42") is CheckOutcome.WRONG_CODE


async def test_unknown_code_with_a_server_error_status_is_unavailable(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    fake.next_response = httpx.Response(503, json=envelope(999))
    with pytest.raises(ProviderUnavailable):
        await verify().start(TO, code_length=6)


# --- HTTP status when there is no readable body ------------------------------------------------------

NO_BODY = [b"", b"<html>Bad Gateway</html>", b'{"timestamp":"2025-01-01","status":500,"error":"x"}']


@pytest.mark.parametrize("body", NO_BODY, ids=["empty", "html", "spring-error"])
@pytest.mark.parametrize(
    ("status", "on_start", "on_check"),
    [
        (500, ProviderUnavailable, ProviderUnavailable),
        (502, ProviderUnavailable, ProviderUnavailable),
        (503, ProviderUnavailable, ProviderUnavailable),
        (429, ProviderUnavailable, ProviderUnavailable),
        (400, ProviderRejected, ProviderRejected),
        (404, ProviderRejected, ProviderProtocolError),
    ],
)
async def test_without_a_response_code_the_http_status_decides(
    fake: FakeMessageCentral,
    verify: Callable[..., MessageCentralVerify],
    sms: Callable[..., MessageCentralSms],
    body: bytes,
    status: int,
    on_start: type[ProviderError],
    on_check: type[ProviderError],
) -> None:
    fake.next_response = httpx.Response(status, content=body)
    assert await outcome_of(lambda: verify().start(TO, code_length=6)) is on_start
    fake.next_response = httpx.Response(status, content=body)
    assert await outcome_of(lambda: sms().send(TO, TEXT, reference="vf_1")) is on_start
    fake.next_response = httpx.Response(status, content=body)
    assert await outcome_of(lambda: verify().check(TO, "123456", reference="42")) is on_check


@pytest.mark.parametrize(
    "content",
    [b"<html>ok</html>", b"", b"[1, 2]", b'"SUCCESS"', b'{"message": "SUCCESS", "data": "x"}', b'{"status": 200}'],
)
async def test_unreadable_2xx_is_a_protocol_error_with_the_status(
    fake: FakeMessageCentral,
    verify: Callable[..., MessageCentralVerify],
    sms: Callable[..., MessageCentralSms],
    content: bytes,
) -> None:
    for action in (
        lambda: verify().start(TO, code_length=6),
        lambda: verify().check(TO, "123456", reference="42"),
        lambda: sms().send(TO, TEXT, reference="vf_1"),
    ):
        fake.next_response = httpx.Response(200, content=content)
        with pytest.raises(ProviderProtocolError) as info:
            await action()
        assert info.value.status_code == 200


async def test_success_without_verification_id_is_a_protocol_error(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    fake.next_response = httpx.Response(200, json=envelope(200, "SUCCESS", {"timeout": "60"}))
    with pytest.raises(ProviderProtocolError):
        await verify().start(TO, code_length=6)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"verificationId": 20, "timeout": "60"}, ("20", 60, "20")),
        ({"verificationId": "20", "timeout": "30.0", "transactionId": "t-1"}, ("20", 30, "t-1")),
        ({"verificationId": "20", "timeout": 45, "transactionId": None}, ("20", 45, "20")),
        ({"verificationId": "20", "referenceId": "r-9"}, ("20", None, "r-9")),
        ({"verificationId": "20", "timeout": "soon"}, ("20", None, "20")),
        ({"verificationId": "20", "timeout": None, "smsCLI": None, "errorMessage": None}, ("20", None, "20")),
    ],
)
async def test_start_reads_ids_and_timeout_tolerantly(
    fake: FakeMessageCentral,
    verify: Callable[..., MessageCentralVerify],
    data: dict[str, Any],
    expected: tuple[str, int | None, str],
) -> None:
    fake.next_response = httpx.Response(200, json=envelope(200, "SUCCESS", data))
    started = await verify().start(TO, code_length=6)
    assert (started.reference, started.expires_in_s, started.message_id) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"verificationStatus": "VERIFICATION_COMPLETED"}, CheckOutcome.APPROVED),
        ({"verificationStatus": "VERIFICATION_FAILED"}, CheckOutcome.WRONG_CODE),
    ],
)
async def test_check_approves_only_a_completed_verification(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], data: dict[str, Any], expected: CheckOutcome
) -> None:
    fake.next_response = httpx.Response(200, json=envelope(200, "SUCCESS", data))
    assert await verify().check(TO, "123456", reference="42") is expected


@pytest.mark.parametrize("data", [None, {}, {"verificationStatus": None}])
async def test_check_success_without_a_status_is_a_protocol_error(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], data: Any
) -> None:
    fake.next_response = httpx.Response(200, json=envelope(200, "SUCCESS", data))
    with pytest.raises(ProviderProtocolError):
        await verify().check(TO, "123456", reference="42")


async def test_sms_success_without_ids_has_no_message_id(
    fake: FakeMessageCentral, sms: Callable[..., MessageCentralSms]
) -> None:
    fake.next_response = httpx.Response(200, json={"responseCode": 200, "message": "SUCCESS"})
    assert (await sms().send(TO, TEXT, reference="vf_1")).message_id is None


# --- transport failures ------------------------------------------------------------------------------


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout, httpx.ConnectError])
async def test_connect_failures_are_unavailable_everywhere(
    fake: FakeMessageCentral,
    verify: Callable[..., MessageCentralVerify],
    sms: Callable[..., MessageCentralSms],
    exc: type[Exception],
) -> None:
    fake.raise_exc = exc
    with pytest.raises(ProviderUnavailable):
        await verify().start(TO, code_length=6)
    with pytest.raises(ProviderUnavailable):
        await verify().check(TO, "123456", reference="42")
    with pytest.raises(ProviderUnavailable):
        await sms().send(TO, TEXT, reference="vf_1")


async def test_read_timeout_on_a_send_means_delivery_unknown(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], sms: Callable[..., MessageCentralSms]
) -> None:
    fake.raise_exc = httpx.ReadTimeout
    with pytest.raises(ProviderDeliveryUnknown):
        await verify().start(TO, code_length=6)
    with pytest.raises(ProviderDeliveryUnknown):
        await sms().send(TO, TEXT, reference="vf_1")


async def test_read_timeout_on_a_check_is_unavailable_so_the_attempt_is_refunded(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    fake.raise_exc = httpx.ReadTimeout
    with pytest.raises(ProviderUnavailable):
        await verify().check(TO, "123456", reference="42")


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout, httpx.ReadTimeout])
async def test_token_call_failures_are_unavailable_even_on_a_send(
    clock: Clock, exc: type[httpx.TimeoutException]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("down", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderUnavailable):
            await MessageCentralVerify(SETTINGS, client, clock=clock).start(TO, code_length=6)


# --- token: wrong credentials, caching, expiry, renewal ----------------------------------------------


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        (msgspec.structs.replace(SETTINGS, password="wrong-password"), "password is wrong"),
        (msgspec.structs.replace(SETTINGS, customer_id="C-NOPE"), "customerId is invalid"),
    ],
)
async def test_wrong_credentials_are_an_auth_error_without_retry(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], settings: MessageCentralSettings, reason: str
) -> None:
    with pytest.raises(ProviderAuthError) as info:
        await verify(settings).start(TO, code_length=6)
    assert reason in str(info.value)
    assert info.value.vendor_code == "400"
    assert [r.url.path for r in fake.requests] == [TOKEN_PATH]
    assert "wrong-password" not in str(info.value)


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (503, b"", ProviderUnavailable),
        (429, b"", ProviderUnavailable),
        (400, b"<html>bad</html>", ProviderAuthError),
        (401, b"", ProviderAuthError),
        (200, b"<html>ok</html>", ProviderProtocolError),
        (200, b'{"status": 200}', ProviderAuthError),
        (200, b'{"status": 200, "token": ""}', ProviderAuthError),
    ],
)
async def test_token_call_failures_map_to_the_error_tree(
    fake: FakeMessageCentral,
    verify: Callable[..., MessageCentralVerify],
    status: int,
    content: bytes,
    expected: type[ProviderError],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            return httpx.Response(status, content=content)
        return fake.handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ProviderError) as info:
            await MessageCentralVerify(SETTINGS, client).start(TO, code_length=6)
    assert type(info.value) is expected


async def test_one_login_serves_many_sends_and_checks(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], clock: Clock
) -> None:
    adapter = verify()
    for i in range(5):
        started = await adapter.start(Msisdn("91", f"98765432{i:02d}"), code_length=6)
        await adapter.check(Msisdn("91", f"98765432{i:02d}"), fake.last_code, reference=started.reference)
        clock.advance(600)
    assert fake.logins == 1
    assert len(fake.calls(TOKEN_PATH)) == 1


async def test_concurrent_first_sends_share_one_login(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    adapter = verify()
    results = await asyncio.gather(*(adapter.start(Msisdn("91", f"98765431{i:02d}"), code_length=6) for i in range(20)))
    assert len({r.reference for r in results}) == 20
    assert fake.logins == 1


@pytest.mark.parametrize(
    ("lifetime_s", "kept_s", "renewed_s"),
    [(7 * 24 * 3600, 7 * 24 * 3600 - 301, 7 * 24 * 3600 - 299), (3600, 3299, 3301), (60, 29, 31)],
    ids=["7-days", "1-hour", "60-s-half-life"],
)
async def test_token_is_renewed_shortly_before_its_exp(
    fake: FakeMessageCentral,
    verify: Callable[..., MessageCentralVerify],
    clock: Clock,
    lifetime_s: float,
    kept_s: float,
    renewed_s: float,
) -> None:
    fake.token_lifetime_s = lifetime_s
    fake.timeout_s = 1.0
    adapter = verify()
    start = clock.now
    await adapter.start(TO, code_length=6)
    clock.now = start + kept_s
    await adapter.start(TO, code_length=6)
    assert fake.logins == 1
    clock.now = start + renewed_s
    await adapter.start(TO, code_length=6)
    assert fake.logins == 2


async def test_token_without_a_readable_exp_is_kept_for_an_hour(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], clock: Clock
) -> None:
    fake.opaque_tokens = True
    fake.timeout_s = 1.0
    adapter = verify()
    await adapter.start(TO, code_length=6)
    clock.advance(3599)
    await adapter.start(TO, code_length=6)
    assert fake.logins == 1
    clock.advance(2)
    await adapter.start(TO, code_length=6)
    assert fake.logins == 2


@pytest.mark.parametrize(
    "claims",
    [{"sub": CUSTOMER_ID}, {"exp": "tomorrow"}, {"exp": True}],
    ids=["no-exp", "string-exp", "bool-exp"],
)
async def test_jwt_with_an_unusable_exp_is_kept_for_an_hour(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], clock: Clock, claims: dict[str, Any]
) -> None:
    token = make_jwt(claims)
    fake.tokens[token] = clock.now + 10 * 3600
    adapter = verify(msgspec.structs.replace(SETTINGS, auth_token=token))
    await adapter.start(TO, code_length=6)
    clock.advance(3599)
    await adapter.start(OTHER, code_length=6)
    assert fake.logins == 0
    clock.advance(2)
    await adapter.start(Msisdn("91", "9000000001"), code_length=6)
    assert fake.logins == 1


async def test_expired_token_is_renewed_once_and_the_send_retried(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    adapter = verify()
    await adapter.start(TO, code_length=6)
    fake.expire_tokens()
    started = await adapter.start(OTHER, code_length=6)
    assert fake.logins == 2
    assert [r.url.path for r in fake.requests] == [TOKEN_PATH, SEND_PATH, SEND_PATH, TOKEN_PATH, SEND_PATH]
    assert started.reference == fake.last_verification_id
    assert len(fake.messages) == 2


async def test_expired_token_is_renewed_once_and_the_check_retried(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    adapter = verify()
    started = await adapter.start(TO, code_length=6)
    fake.expire_tokens()
    assert await adapter.check(TO, fake.last_code, reference=started.reference) is CheckOutcome.APPROVED
    assert fake.logins == 2


async def test_concurrent_calls_hitting_an_expired_token_share_one_renewal(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    adapter = verify()
    await adapter.start(TO, code_length=6)
    fake.expire_tokens()
    await asyncio.gather(*(adapter.start(Msisdn("91", f"98765430{i:02d}"), code_length=6) for i in range(10)))
    assert fake.logins == 2


@pytest.mark.parametrize("status", [401, 403])
async def test_still_unauthorized_after_renewal_is_an_auth_error(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], status: int
) -> None:
    fake.fail_with_status = status
    with pytest.raises(ProviderAuthError) as info:
        await verify().start(TO, code_length=6)
    assert info.value.status_code == status
    assert [r.url.path for r in fake.requests] == [TOKEN_PATH, SEND_PATH, TOKEN_PATH, SEND_PATH]


async def test_dashboard_auth_token_skips_the_token_call(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    token = fake.issue_token(lifetime_s=5 * 365 * 24 * 3600)
    adapter = verify(MessageCentralSettings(base_url=SETTINGS.base_url, customer_id=CUSTOMER_ID, auth_token=token))
    await adapter.start(TO, code_length=6)
    assert [r.url.path for r in fake.requests] == [SEND_PATH]
    assert fake.requests[0].headers["authToken"] == token


async def test_refused_dashboard_token_without_password_is_an_auth_error(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    token = fake.issue_token()
    fake.expire_tokens()
    adapter = verify(MessageCentralSettings(base_url=SETTINGS.base_url, customer_id=CUSTOMER_ID, auth_token=token))
    with pytest.raises(ProviderAuthError):
        await adapter.start(TO, code_length=6)
    assert [r.url.path for r in fake.requests] == [SEND_PATH]


async def test_refused_dashboard_token_falls_back_to_the_password(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify]
) -> None:
    token = fake.issue_token()
    fake.expire_tokens()
    await verify(msgspec.structs.replace(SETTINGS, auth_token=token)).start(TO, code_length=6)
    assert [r.url.path for r in fake.requests] == [SEND_PATH, TOKEN_PATH, SEND_PATH]


# --- nothing secret in errors ------------------------------------------------------------------------


async def test_no_secret_code_text_or_number_appears_in_any_error(
    fake: FakeMessageCentral, verify: Callable[..., MessageCentralVerify], sms: Callable[..., MessageCentralSms]
) -> None:
    echo = f"WRONG_OTP 482913 for 919876543210 key {KEY} pass {PASSWORD}"
    errors: list[ProviderError] = []

    async def collect(action: Callable[[], Any]) -> None:
        try:
            await action()
        except ProviderError as exc:
            errors.append(exc)

    def echoing(code: int, as_status: bool) -> httpx.Response:
        return httpx.Response(HTTP_STATUS.get(code, 400) if as_status else 200, json=envelope(code, echo))

    token_holder = verify()
    await token_holder.start(Msisdn("91", "9000000000"), code_length=6)
    issued = next(iter(fake.tokens))
    for code in (400, 409, 500, 501, 506, 511, 800, 999):
        for as_status in (False, True):
            fake.next_response = echoing(code, as_status)
            await collect(lambda: token_holder.start(TO, code_length=6))
            fake.next_response = echoing(code, as_status)
            await collect(lambda: token_holder.check(TO, "482913", reference="42"))
            fake.next_response = echoing(code, as_status)
            await collect(lambda: sms().send(TO, TEXT, reference="vf_1"))
    for status in (400, 404, 500, 200):
        fake.next_response = httpx.Response(status, text=echo)
        await collect(lambda: sms().send(TO, TEXT, reference="vf_1"))
    fake.raise_exc = httpx.ReadTimeout
    await collect(lambda: sms().send(TO, TEXT, reference="vf_1"))
    fake.raise_exc = None
    fake.fail_with_status = 401
    await collect(lambda: token_holder.check(TO, "482913", reference="42"))

    def token_echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": 400, "error": echo})

    async with httpx.AsyncClient(transport=httpx.MockTransport(token_echo)) as client:
        await collect(lambda: MessageCentralVerify(SETTINGS, client).start(TO, code_length=6))

    assert len(errors) > 40
    for exc in errors:
        shown = f"{exc} {exc.detail} {exc.vendor_code}"
        for secret in ("482913", "9876543210", KEY, PASSWORD, issued, TEXT):
            assert secret not in shown, (type(exc).__name__, shown)


def test_settings_repr_hides_the_password_and_auth_token() -> None:
    settings = msgspec.structs.replace(SETTINGS, auth_token="dashboard-token-value")
    assert PASSWORD not in repr(settings)
    assert "dashboard-token-value" not in repr(settings)
    assert set(settings.secrets()) == {PASSWORD, "dashboard-token-value"}


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
