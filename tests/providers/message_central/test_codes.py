"""Message Central's response codes: every documented code per operation, in both error styles, and none echoed."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import pytest

from providers import (
    CheckOutcome,
    Msisdn,
    ProviderAuthError,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    VerificationPending,
)
from providers.message_central import (
    MessageCentralSms,
    MessageCentralVerify,
)
from tests.fakes.message_central import (
    HTTP_STATUS,
    PASSWORD,
    SETTINGS,
    FakeMessageCentral,
)

TO = Msisdn("91", "9876543210")
KEY = base64.b64encode(PASSWORD.encode()).decode()
TEXT = "Your Acme code is 482913. It expires in 10 minutes."


def envelope(code: int, message: str = "X", data: Any = None) -> dict[str, Any]:
    return {"responseCode": code, "message": message, "data": data}


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


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
