"""The shared failure battery: every adapter against the same network and vendor failures (STYLE.md rule 10).

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
import base64
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
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
    SendReceipt,
    SmsSender,
    StartedVerification,
    VendorSettings,
    VerificationProvider,
    _http,
    discover,
    load_vendor_settings,
)
from providers.conectaline import ConectalineSms
from providers.gatum import GatumSender
from providers.instasent import InstasentSms
from providers.message_central import MessageCentralSms, MessageCentralVerify
from providers.wavy import WavySender
from tests.fakes import conectaline, gatum, instasent, message_central, wavy

TO = Msisdn("34", "600100200")
CODE = "482913"
TEXT = f"Your Acme code is {CODE}. It expires in 10 minutes."
REF = "vf_" + "0123456789abcdef" * 2


@dataclass(frozen=True)
class Adapter:
    """One adapter under contract: how to build it, what it does, which request may deliver."""

    id: str
    name: str  # the adapter's provider name
    make_fake: Callable[[], Any]
    settings: VendorSettings
    build: Callable[[Any, httpx.AsyncClient], Any]
    delivery_path: str  # path suffix of the request that may deliver a message
    renews_credentials: bool  # logs in (or fetches a token) and renews it once on a 401
    starts: bool = False  # a VerificationProvider: exercised through start(), not send()
    extra_secrets: tuple[str, ...] = ()

    def forbidden(self) -> list[str]:
        """What must never appear in an error: the code, the text, the number, every secret."""
        return [CODE, TEXT, TO.e164, TO.digits, TO.national_number, *self.settings.secrets(), *self.extra_secrets]

    async def exercise(self, adapter: Any) -> SendReceipt | StartedVerification:
        if self.starts:
            started: StartedVerification = await adapter.start(TO, code_length=6)
            return started
        receipt: SendReceipt = await adapter.send(TO, TEXT, reference=REF)
        return receipt


_MC_KEY = base64.b64encode(message_central.PASSWORD.encode()).decode()

ADAPTERS = [
    Adapter(
        "message_central-verify_now",
        "message_central",
        message_central.FakeMessageCentral,
        message_central.SETTINGS,
        MessageCentralVerify,
        message_central.SEND_PATH,
        renews_credentials=True,
        starts=True,
        extra_secrets=(_MC_KEY,),
    ),
    Adapter(
        "message_central-sms",
        "message_central",
        message_central.FakeMessageCentral,
        message_central.SMS_SETTINGS,
        MessageCentralSms,
        message_central.SEND_PATH,
        renews_credentials=True,
        extra_secrets=(_MC_KEY,),
    ),
    Adapter("gatum", "gatum", gatum.FakeGatum, gatum.SETTINGS, GatumSender, "/v1/send", renews_credentials=True),
    Adapter("wavy", "wavy", wavy.FakeWavy, wavy.SETTINGS, WavySender, "/v1/send-sms", renews_credentials=False),
    Adapter("instasent", "instasent", instasent.FakeInstasent, instasent.SETTINGS, InstasentSms, "/sms", False),
    Adapter(
        "conectaline-api_token",
        "conectaline",
        conectaline.FakeConectaline,
        conectaline.SETTINGS,
        ConectalineSms,
        "/v1/push/simple",
        renews_credentials=False,
    ),
    Adapter(
        "conectaline-login",
        "conectaline",
        conectaline.FakeConectaline,
        conectaline.LOGIN_SETTINGS,
        ConectalineSms,
        "/v1/push/simple",
        renews_credentials=True,
    ),
]
BY_ID = {adapter.id: adapter for adapter in ADAPTERS}
all_adapters = pytest.mark.parametrize("case", ADAPTERS, ids=[a.id for a in ADAPTERS])

Failure = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


@dataclass
class Network:
    """The vendor fake, with ``failure`` answering (or raising) in its place on delivering requests
    and ``login_failure`` on every other request (token and login calls)."""

    case: Adapter
    fake: Any
    failure: Failure | None = None
    login_failure: Failure | None = None
    deliveries: list[httpx.Request] = field(default_factory=list)
    others: list[httpx.Request] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        delivers = request.url.path.rstrip("/").endswith(self.case.delivery_path)
        (self.deliveries if delivers else self.others).append(request)
        failure = self.failure if delivers else self.login_failure
        if failure is None:
            return self.fake.handler(request)  # type: ignore[no-any-return]
        answer = failure(request)
        return await answer if asyncio.iscoroutine(answer) else answer  # type: ignore[return-value]


@pytest.fixture
async def http() -> AsyncIterator[Callable[[Network], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(network: Network) -> httpx.AsyncClient:
        clients.append(httpx.AsyncClient(transport=httpx.MockTransport(network)))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


def setup(
    case: Adapter,
    make_client: Callable[[Network], httpx.AsyncClient],
    failure: Failure | None = None,
    *,
    login_failure: Failure | None = None,
    **settings: Any,
) -> tuple[Any, Network]:
    network = Network(case, case.make_fake(), failure, login_failure)
    vendor_settings = msgspec.structs.replace(case.settings, **settings) if settings else case.settings
    return case.build(vendor_settings, make_client(network)), network


def assert_clean(case: Adapter, exc: ProviderError) -> None:
    shown = f"{exc} | {exc.detail} | {exc.vendor_code}"
    for forbidden in case.forbidden():
        assert forbidden not in shown, f"{forbidden!r} leaked into {shown!r}"


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
    ("http_400", echoing(400, ECHO, business=True), ProviderRejected, 400),
    ("http_200_html", answering(200, HTML, "text/html"), ProviderProtocolError, 200),
    ("http_200_truncated_json", answering(200, b'{"data": {"id": ', "application/json"), ProviderProtocolError, 200),
]


@all_adapters
@pytest.mark.parametrize(("failure", "expected", "status"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
async def test_failure_maps_to_one_error_type_and_leaks_nothing(
    case: Adapter,
    http: Callable[[Network], httpx.AsyncClient],
    failure: Failure,
    expected: type[ProviderError],
    status: int | None,
) -> None:
    adapter, network = setup(case, http, failure)
    with pytest.raises(ProviderError) as info:
        await case.exercise(adapter)
    exc = info.value
    assert type(exc) is expected, f"{type(exc).__name__}: {exc}"
    assert exc.retryable is (expected is ProviderUnavailable)
    assert exc.provider == case.name
    assert exc.status_code == status
    assert_clean(case, exc)
    assert network.deliveries, "the failure never reached the delivering request"


@all_adapters
@pytest.mark.parametrize("status", [400, 401, 404, 500, 503])
async def test_error_replies_echoing_every_secret_are_scrubbed(
    case: Adapter, http: Callable[[Network], httpx.AsyncClient], status: int
) -> None:
    """Whatever type a reply maps to, a vendor echoing our input and credentials leaks none of it."""
    for business in (False, True):
        adapter, _ = setup(case, http, echoing(status, ECHO_WITH_SECRETS, business=business))
        with pytest.raises(ProviderError) as info:
            await case.exercise(adapter)
        assert_clean(case, info.value)


@all_adapters
async def test_a_persisting_401_renews_credentials_once_and_retries_once(
    case: Adapter, http: Callable[[Network], httpx.AsyncClient]
) -> None:
    adapter, network = setup(case, http, echoing(401, ECHO))
    with pytest.raises(ProviderAuthError):
        await case.exercise(adapter)
    if case.renews_credentials:
        assert len(network.deliveries) == 2  # the first try, then one retry with fresh credentials
        assert network.fake.logins == 2  # the first login, then exactly one renewal
    else:
        assert len(network.deliveries) == 1  # a static credential cannot be renewed: no retry
        assert network.others == []


@all_adapters
@pytest.mark.parametrize(
    "failure", [raising(httpx.ReadTimeout), echoing(400, ECHO, business=True)], ids=["timeout", "400"]
)
async def test_a_failure_that_is_not_about_credentials_is_never_retried(
    case: Adapter, http: Callable[[Network], httpx.AsyncClient], failure: Failure
) -> None:
    """A retry after a read timeout could deliver a second message; after a refusal it is pointless."""
    adapter, network = setup(case, http, failure)
    with pytest.raises(ProviderError):
        await case.exercise(adapter)
    assert len(network.deliveries) == 1


# --- success, timeouts, settings ---------------------------------------------------------------------


@all_adapters
async def test_a_send_the_vendor_accepts_is_exactly_one_request(
    case: Adapter, http: Callable[[Network], httpx.AsyncClient]
) -> None:
    adapter, network = setup(case, http)
    result = await case.exercise(adapter)
    assert result.provider == case.name
    assert len(network.deliveries) == 1
    assert len(network.fake.messages) == 1
    if case.starts:
        assert isinstance(result, StartedVerification) and result.reference
    else:
        assert network.fake.messages[0]["text"] == TEXT


@all_adapters
async def test_credentials_are_reused_across_sends(case: Adapter, http: Callable[[Network], httpx.AsyncClient]) -> None:
    adapter, network = setup(case, http)
    await case.exercise(adapter)
    if case.starts:
        network.fake.timeout_s = 0  # the vendor's window is over: a second start is not 506
    await case.exercise(adapter)
    assert len(network.deliveries) == 2
    assert getattr(network.fake, "logins", 0) == (1 if case.renews_credentials else 0)


@all_adapters
async def test_timeout_s_bounds_a_vendor_that_never_answers(
    case: Adapter, http: Callable[[Network], httpx.AsyncClient]
) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        raise AssertionError("the adapter waited past its timeout")

    adapter, network = setup(case, http, hang, timeout_s=0.05, connect_timeout_s=0.05)
    started = time.perf_counter()
    with pytest.raises(ProviderDeliveryUnknown) as info:  # the request left: it may have been delivered
        await case.exercise(adapter)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"took {elapsed:.2f}s with timeout_s=0.05"
    assert info.value.retryable is False
    assert len(network.deliveries) == 1
    assert_clean(case, info.value)


RENEWING = [a for a in ADAPTERS if a.renews_credentials]


@pytest.mark.parametrize("case", RENEWING, ids=[a.id for a in RENEWING])
@pytest.mark.parametrize(
    "failure",
    [raising(httpx.ConnectError), raising(httpx.ReadTimeout), echoing(503)],
    ids=["connect_error", "read_timeout", "http_503"],
)
async def test_a_login_that_fails_is_unavailable_and_nothing_is_sent(
    case: Adapter, http: Callable[[Network], httpx.AsyncClient], failure: Failure
) -> None:
    """A token or login call delivers nothing, so even a read timeout there is plain unavailability."""
    adapter, network = setup(case, http, login_failure=failure)
    with pytest.raises(ProviderError) as info:
        await case.exercise(adapter)
    assert type(info.value) is ProviderUnavailable
    assert network.deliveries == []
    assert_clean(case, info.value)


async def test_a_message_central_check_that_times_out_is_unavailable_not_unknown(
    http: Callable[[Network], httpx.AsyncClient],
) -> None:
    """A check delivers nothing, so a read timeout there is plain unavailability."""
    case = BY_ID["message_central-verify_now"]
    adapter, network = setup(case, http)
    started = await adapter.start(TO, code_length=6)
    network.fake.raise_exc = httpx.ReadTimeout
    with pytest.raises(ProviderUnavailable) as info:
        await adapter.check(TO, network.fake.code_for(started.reference), reference=started.reference)
    assert info.value.retryable is True
    assert_clean(case, info.value)


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
