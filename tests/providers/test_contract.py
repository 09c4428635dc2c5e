"""The shared failure battery: every adapter against the same network and vendor failures.

Each adapter runs against its vendor fake behind :class:`Network`, which breaks only the request that
may deliver a message (the send, or Message Central's VerifyNow start). Token and login calls reach
the fake untouched, so a read timeout here is always one on the delivering request, after the request
left, which is the case that must never be retried elsewhere with a new code.

For every adapter and failure the battery pins the error type, its ``retryable`` flag and status,
and that nothing a vendor may echo (the code, the message text, the full number, a configured secret)
reaches ``str(exc)``, ``exc.detail`` or ``exc.vendor_code``: those go to logs and the 503 body.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import msgspec
import pytest

from providers import (
    Msisdn,
    ProviderAuthError,
    ProviderDeliveryUnknown,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    SmsSender,
    StartedVerification,
    VendorSettings,
    VerificationProvider,
    _http,
    discover,
    load_vendor_settings,
)
from tests.fakes import conectaline, gatum, instasent, message_central, wavy, webhook
from tests.providers import conftest as bad
from tests.providers.conftest import ADAPTERS, BY_ID, CODE, RENEWING, TEXT, TO, Adapter, Connect, Failure, assert_clean

# --- the failures ------------------------------------------------------------------------------------

SECRETS_OF_ALL = sorted({secret for a in ADAPTERS for secret in (*a.settings.secrets(), *a.extra_secrets)})
ECHO = f"number {TO.e164} ({TO.digits}, {TO.national_number}) cannot receive '{TEXT}' (code {CODE})"
ECHO_WITH_SECRETS = f"{ECHO} for credentials {' / '.join(SECRETS_OF_ALL)}"


def raising(exc_type: type[httpx.RequestError]) -> Failure:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulated", request=request)

    return fail


def echoing(status: int, echo: str = ECHO_WITH_SECRETS, *, business: bool = False) -> Failure:
    """An error reply echoing what we sent, in every vendor's error shape at once.

    ``business`` adds the fields that make it a business refusal (Message Central's ``responseCode``,
    Gatum's ``status: false``); without them the HTTP status alone must decide.
    """
    body: dict[str, Any] = {
        "message": echo,  # Instasent
        "errorCode": status,  # Wavy
        "errorMessage": echo,
        "error": {"message": echo},  # Conectaline
        "errors": {"number": [echo]},  # Gatum
    }
    if business:
        body |= {"responseCode": status, "status": False, "error_code": status}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return answer


def answering(status: int, content: bytes, content_type: str) -> Failure:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers={"Content-Type": content_type})

    return answer


HTML = f"<html><body><h1>Service Temporarily Unavailable</h1><p>{ECHO_WITH_SECRETS}</p></body></html>".encode()
# (id, failure, expected type, HTTP status the error carries)
FAILURES: list[tuple[str, Failure, type[ProviderError], int | None]] = [
    ("connect_error", raising(httpx.ConnectError), ProviderUnavailable, None),
    ("connect_timeout", raising(httpx.ConnectTimeout), ProviderUnavailable, None),
    ("pool_timeout", raising(httpx.PoolTimeout), ProviderUnavailable, None),
    ("read_timeout_after_the_request_left", raising(httpx.ReadTimeout), ProviderDeliveryUnknown, None),
    ("connection_dropped_mid_reply", raising(httpx.RemoteProtocolError), ProviderDeliveryUnknown, None),
    ("http_500", echoing(500), ProviderUnavailable, 500),
    ("http_503", echoing(503), ProviderUnavailable, 503),
    ("http_429", echoing(429), ProviderUnavailable, 429),
    ("http_401_persisting", echoing(401, ECHO), ProviderAuthError, 401),
    ("http_403_persisting", echoing(403, ECHO), ProviderAuthError, 403),
    ("http_400", echoing(400, ECHO, business=True), ProviderRejected, 400),
    ("http_200_html", answering(200, HTML, "text/html"), ProviderProtocolError, 200),
    ("http_200_truncated_json", answering(200, b'{"data": {"id": ', "application/json"), ProviderProtocolError, 200),
    # A reply that cannot be read after the request left: a bad reply, never a crash or a download.
    ("http_200_nested_3000_deep", answering(200, bad.NESTED, bad.JSON), ProviderProtocolError, 200),
    ("http_200_invalid_utf8", answering(200, bad.INVALID_UTF8, bad.JSON), ProviderProtocolError, 200),
    ("http_200_50_mb", bad.Endless(), ProviderProtocolError, 200),
    ("http_200_gzip_that_is_not", bad.gzip_garbage, ProviderProtocolError, 200),
    ("http_400_50_mb", bad.Endless(400), ProviderProtocolError, 400),
    ("http_503_50_mb", bad.Endless(503), ProviderUnavailable, 503),
]


@pytest.mark.parametrize(("failure", "expected", "status"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
async def test_failure_maps_to_one_error_type_and_leaks_nothing(
    case: Adapter,
    connect: Connect,
    failure: Failure,
    expected: type[ProviderError],
    status: int | None,
) -> None:
    adapter, network = connect(case, failure)
    with pytest.raises(ProviderError) as info:
        await case.exercise(adapter)
    exc = info.value
    assert type(exc) is expected, f"{type(exc).__name__}: {exc}"
    assert exc.retryable is (expected is ProviderUnavailable)
    assert exc.provider == case.name
    assert exc.status_code == status
    assert_clean(exc, case.forbidden())
    assert network.deliveries, "the failure never reached the delivering request"


@pytest.mark.parametrize("status", [400, 401, 404, 500, 503])
async def test_error_replies_echoing_every_secret_are_scrubbed(case: Adapter, connect: Connect, status: int) -> None:
    """Whatever type a reply maps to, a vendor echoing our input and credentials leaks none of it."""
    for business in (False, True):
        adapter, _ = connect(case, echoing(status, ECHO_WITH_SECRETS, business=business))
        with pytest.raises(ProviderError) as info:
            await case.exercise(adapter)
        assert_clean(info.value, case.forbidden())


CREDENTIAL_HEADERS = ("Authorization", "X-Access-Token", "authToken", "AuthenticationToken")


@pytest.mark.parametrize("status", [401, 403])
async def test_a_persisting_refusal_renews_credentials_once_and_retries_once(
    case: Adapter, connect: Connect, status: int
) -> None:
    adapter, network = connect(case, echoing(status, ECHO))
    with pytest.raises(ProviderAuthError) as info:
        await case.exercise(adapter)
    assert info.value.status_code == status
    if case.renews_credentials:
        assert len(network.deliveries) == 2  # the first try, then one retry with fresh credentials
        assert network.fake.logins == 2  # the first login, then exactly one renewal
    else:
        assert len(network.deliveries) == 1  # a static credential cannot be renewed: no retry
        assert network.others == []
    sent = [
        r.headers[h].removeprefix("Bearer ") for r in network.deliveries for h in CREDENTIAL_HEADERS if h in r.headers
    ]
    assert_clean(info.value, [*case.forbidden(), *sent])  # not even the token that was refused


@pytest.mark.parametrize(
    "failure", [raising(httpx.ReadTimeout), echoing(400, ECHO, business=True)], ids=["timeout", "400"]
)
async def test_a_failure_that_is_not_about_credentials_is_never_retried(
    case: Adapter, connect: Connect, failure: Failure
) -> None:
    """A retry after a read timeout could deliver a second message; after a refusal it is pointless."""
    adapter, network = connect(case, failure)
    with pytest.raises(ProviderError):
        await case.exercise(adapter)
    assert len(network.deliveries) == 1


# --- success, timeouts, settings ---------------------------------------------------------------------


async def test_a_send_the_vendor_accepts_is_exactly_one_request(case: Adapter, connect: Connect) -> None:
    adapter, network = connect(case)
    result = await case.exercise(adapter)
    assert result.provider == case.name
    assert len(network.deliveries) == 1
    assert len(network.fake.messages) == 1
    if case.starts:
        assert isinstance(result, StartedVerification) and result.reference
    else:
        assert network.fake.messages[0]["text"] == TEXT


async def test_credentials_are_reused_across_sends(case: Adapter, connect: Connect) -> None:
    adapter, network = connect(case)
    await case.exercise(adapter)
    if case.starts:
        network.fake.timeout_s = 0  # the vendor's window is over: a second start is not 506
    await case.exercise(adapter)
    assert len(network.deliveries) == 2
    assert getattr(network.fake, "logins", 0) == (1 if case.renews_credentials else 0)


async def test_timeout_s_bounds_a_vendor_that_never_answers(case: Adapter, connect: Connect) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        raise AssertionError("the adapter waited past its timeout")

    adapter, network = connect(case, hang, timeout_s=0.05, connect_timeout_s=0.05)
    started = time.perf_counter()
    with pytest.raises(ProviderDeliveryUnknown) as info:  # the request left: it may have been delivered
        await case.exercise(adapter)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"took {elapsed:.2f}s with timeout_s=0.05"
    assert info.value.retryable is False
    assert len(network.deliveries) == 1
    assert_clean(info.value, case.forbidden())


@pytest.mark.parametrize("case", RENEWING, ids=[a.id for a in RENEWING], indirect=True)
@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (raising(httpx.ConnectError), None),
        (raising(httpx.ConnectTimeout), None),
        (raising(httpx.ReadTimeout), None),
        (echoing(429), 429),
        (echoing(500), 500),
        (echoing(503), 503),
    ],
    ids=["connect_error", "connect_timeout", "read_timeout", "http_429", "http_500", "http_503"],
)
async def test_a_login_that_fails_is_unavailable_and_nothing_is_sent(
    case: Adapter, connect: Connect, failure: Failure, status: int | None
) -> None:
    """A token or login call delivers nothing, so even a read timeout there is plain unavailability."""
    adapter, network = connect(case, login_failure=failure)
    with pytest.raises(ProviderError) as info:
        await case.exercise(adapter)
    assert type(info.value) is ProviderUnavailable
    assert info.value.status_code == status
    assert network.deliveries == []
    assert_clean(info.value, case.forbidden())


def numbers(n: int) -> list[Msisdn]:
    """Distinct numbers, so concurrent VerifyNow starts are not refused as pending."""
    return [Msisdn(TO.country_code, f"6001003{i:02d}") for i in range(n)]


@pytest.mark.parametrize("case", RENEWING, ids=[a.id for a in RENEWING], indirect=True)
async def test_a_failed_login_is_tried_again_on_the_next_send(case: Adapter, connect: Connect) -> None:
    adapter, network = connect(case, login_failure=echoing(503))
    with pytest.raises(ProviderUnavailable):
        await case.exercise(adapter)
    network.login_failure = None
    await case.exercise(adapter)
    assert network.fake.logins == 1
    assert len(network.deliveries) == 1


@pytest.mark.parametrize("case", RENEWING, ids=[a.id for a in RENEWING], indirect=True)
async def test_concurrent_first_sends_share_one_login(case: Adapter, connect: Connect) -> None:
    adapter, network = connect(case, delay_s=0.001)
    results = await asyncio.gather(*(case.exercise(adapter, to) for to in numbers(20)))
    assert len(results) == len(network.deliveries) == 20
    assert network.fake.logins == 1


@pytest.mark.parametrize("case", RENEWING, ids=[a.id for a in RENEWING], indirect=True)
async def test_concurrent_sends_refused_with_an_expired_token_share_one_renewal(
    case: Adapter, connect: Connect
) -> None:
    adapter, network = connect(case, delay_s=0.001)
    await case.exercise(adapter)
    network.fake.expire_tokens()
    await asyncio.gather(*(case.exercise(adapter, to) for to in numbers(10)))
    assert network.fake.logins == 2
    assert len(network.fake.messages) == 11


@pytest.mark.parametrize("case", RENEWING, ids=[a.id for a in RENEWING], indirect=True)
@pytest.mark.parametrize("status", [401, 403])
async def test_one_refusal_of_the_token_renews_it_and_the_retry_succeeds(
    case: Adapter, connect: Connect, status: int
) -> None:
    refusals = [echoing(status, ECHO)]

    def once(request: httpx.Request) -> httpx.Response:
        if refusals:
            return refusals.pop()(request)  # type: ignore[return-value]
        return network.fake.handler(request)  # type: ignore[no-any-return]

    adapter, network = connect(case, once)
    result = await case.exercise(adapter)
    assert result.provider == case.name
    assert len(network.deliveries) == 2
    assert network.fake.logins == 2


async def test_a_message_central_check_that_times_out_is_unavailable_not_unknown(
    connect: Connect,
) -> None:
    """A check delivers nothing, so a read timeout there is plain unavailability."""
    case = BY_ID["message_central-verify_now"]
    adapter, network = connect(case)
    started = await adapter.start(TO, code_length=6)
    network.fake.raise_exc = httpx.ReadTimeout
    with pytest.raises(ProviderUnavailable) as info:
        await adapter.check(TO, network.fake.code_for(started.reference), reference=started.reference)
    assert info.value.retryable is True
    assert_clean(info.value, case.forbidden())


def test_every_discovered_adapter_is_under_contract() -> None:
    contracted = {case.name for case in ADAPTERS}
    assert set(discover()) - {"console"} == contracted


ENVS: list[tuple[str, dict[str, str], VendorSettings]] = [
    ("message_central", message_central.env(), message_central.SETTINGS),
    (
        "message_central",
        {**message_central.env(), "MESSAGE_CENTRAL_MODE": "sms", "MESSAGE_CENTRAL_SENDER_ID": "ACME"},
        message_central.SMS_SETTINGS,
    ),
    ("gatum", gatum.env(), gatum.SETTINGS),
    ("wavy", wavy.env(), wavy.SETTINGS),
    ("instasent", instasent.env(), instasent.SETTINGS),
    ("conectaline", conectaline.env(), conectaline.SETTINGS),
    ("conectaline", conectaline.login_env(), conectaline.LOGIN_SETTINGS),
    ("webhook", webhook.env(), webhook.SETTINGS),
]


@pytest.mark.parametrize(("name", "environ", "expected"), ENVS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ENVS)])
async def test_every_spec_builds_from_its_fake_environment(
    name: str, environ: dict[str, str], expected: VendorSettings
) -> None:
    spec = discover()[name]
    settings = load_vendor_settings(spec, {**environ, "UNRELATED": "x", "OTP_PROVIDERS": name})
    assert settings == expected
    assert spec.is_configured(settings)
    async with httpx.AsyncClient() as client:
        adapter = spec.build(settings, client)
    assert adapter.name == name
    assert isinstance(adapter, SmsSender | VerificationProvider)
    assert repr(settings).count("***") == len(settings.secrets())  # repr never shows a secret
    for secret in settings.secrets():
        assert secret not in repr(settings)


@pytest.mark.parametrize("name", ["message_central", "gatum", "wavy", "instasent", "conectaline"])
def test_an_empty_environment_leaves_every_vendor_unconfigured(name: str) -> None:
    spec = discover()[name]
    assert not spec.is_configured(load_vendor_settings(spec, {}))


# --- the shared scrubber ----------------------------------------------------------------------------


def test_scrub_removes_the_text_the_secrets_and_the_number() -> None:
    vendor = f"'{TEXT}' to {TO.e164} / {TO.digits} / {TO.national_number} with key s3cr3t-key and code {CODE}"
    cleaned = _http.scrub(vendor, secrets=("s3cr3t-key", ""), to=TO, message=TEXT)
    assert cleaned == f"'<text>' to {TO.masked()} / {TO.masked()} / {TO.masked()} with key *** and code #"


def test_scrub_catches_the_text_as_a_json_reply_quotes_it_and_any_other_digit_run() -> None:
    text = 'Tu código es 123456.\n\n@example.com #123456 "ok"'
    quoted = msgspec.json.encode({"echo": text}).decode()
    cleaned = _http.scrub(f"{quoted} other 0034-600-100-200 ids 98765", message=text)
    assert "123456" not in cleaned and "código" not in cleaned
    assert cleaned == '{"echo":"<text>"} other #-600-100-200 ids #'


def test_scrub_returns_one_bounded_line() -> None:
    cleaned = _http.scrub("line one\nline two\r\n" + "x" * 1000)
    assert "\n" not in cleaned and "\r" not in cleaned
    assert len(cleaned) <= 200


def test_scrub_replaces_longer_secrets_first() -> None:
    assert _http.scrub("key abcdef", secrets=("abc", "abcdef")) == "key ***"


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_raise_for_status_scrubs_the_reply_excerpt(status: int) -> None:
    request = httpx.Request("POST", "https://vendor.test/send")
    response = httpx.Response(status, text=f"bad {TO.e164}: '{TEXT}' token tkn-0001x", request=request)
    with pytest.raises(ProviderRejected) as info:
        _http.raise_for_status("vendor", response, to=TO, text=TEXT, secrets=("tkn-0001x",))
    assert info.value.detail == f"HTTP {status}: bad {TO.masked()}: '<text>' token ***"


def test_raise_for_status_scrubs_digit_runs_even_without_context() -> None:
    response = httpx.Response(400, text=f"bad {TO.digits} code {CODE}")
    with pytest.raises(ProviderRejected) as info:
        _http.raise_for_status("vendor", response)
    assert info.value.detail == "HTTP 400: bad # code #"
