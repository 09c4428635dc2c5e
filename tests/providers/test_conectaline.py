"""Conectaline adapter against its fake (tests/fakes/conectaline.py); MockTransport only, no network."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl

import httpx
import pytest

from providers import (
    Msisdn,
    ProviderAuthError,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
)
from providers.conectaline import ConectalineSettings, ConectalineSms, token_lifetime
from tests.fakes.conectaline import (
    API_TOKEN,
    CONFIGURATION,
    EMAIL,
    LOGIN_SETTINGS,
    PASSWORD,
    FakeConectaline,
    build,
    build_login,
)
from tests.providers.conftest import BY_ID, Adapter, Clock
from tests.providers.conftest import assert_clean as assert_free_of

TO = Msisdn("34", "600100200")
CODE = "482913"
TEXT = f"Tu código de Acme es {CODE}. Caduca en 10 minutos."
REF = "vf_7Hq2ZkR9mXb4"
NOW = 1_700_000_000
FORBIDDEN = (CODE, TEXT, API_TOKEN, PASSWORD, EMAIL, TO.e164, TO.digits, TO.national_number)


def assert_clean(exc: ProviderError) -> None:
    assert_free_of(exc, FORBIDDEN)


@pytest.fixture
def case() -> Adapter:
    return BY_ID["conectaline-api_token"]


@pytest.fixture
def fixed(client: httpx.AsyncClient) -> ConectalineSms:
    return build(client)


@pytest.fixture
def temporary(client: httpx.AsyncClient, clock: Clock) -> ConectalineSms:
    return ConectalineSms(LOGIN_SETTINGS, client, clock=clock)


def form_of(request: httpx.Request) -> dict[str, str]:
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def paths(fake: FakeConectaline) -> list[str]:
    return [r.url.path for r in fake.requests]


def error_reply(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message}})


# --- fixed API token -------------------------------------------------------------------------------------


async def test_fixed_token_send_posts_form_with_api_token_and_international_digits(
    fixed: ConectalineSms, fake: FakeConectaline
) -> None:
    receipt = await fixed.send(TO, TEXT, reference=REF)

    (request,) = fake.requests
    assert request.method == "POST"
    assert str(request.url) == "https://conectaline.test/v1/push/simple"
    assert "Authorization" not in request.headers
    assert form_of(request) == {
        "configuration_name": CONFIGURATION,
        "message": TEXT,
        "numbers": "34600100200",
        "api_token": API_TOKEN,
    }
    assert receipt.provider == "conectaline"
    assert receipt.message_id == fake.messages[0]["id"]
    assert fake.messages[0]["to"] == "34600100200"
    assert fake.messages[0]["auth"] == "api_token"
    assert fake.logins == 0
    assert fixed.max_length == 459  # three GSM-7 parts; name and protocol are checked by the shared battery


async def test_default_base_url_is_the_public_api() -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, json={"data": {"id": 1}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as c:
        settings = ConectalineSettings(api_token="t", configuration_name="c")
        await ConectalineSms(settings, c).send(TO, TEXT, reference=REF)
    assert urls == ["https://apisms.conectaline.com/v1/push/simple"]


async def test_refused_fixed_token_is_an_auth_error_and_no_login_is_tried(
    client: httpx.AsyncClient, fake: FakeConectaline
) -> None:
    settings = ConectalineSettings(base_url="https://conectaline.test", api_token="wrong", configuration_name="c")
    with pytest.raises(ProviderAuthError) as info:
        await ConectalineSms(settings, client).send(TO, TEXT, reference=REF)
    assert info.value.status_code == 401
    assert paths(fake) == ["/v1/push/simple"]
    assert_clean(info.value)


@pytest.mark.parametrize("status", [200, 401])
async def test_refused_fixed_token_counts_once_whatever_the_status(
    fixed: ConectalineSms, fake: FakeConectaline, status: int
) -> None:
    fake.api_token = "rotated"
    fake.auth_error_status = status
    with pytest.raises(ProviderAuthError):
        await fixed.send(TO, TEXT, reference=REF)
    assert paths(fake) == ["/v1/push/simple"]


# --- temporary token -------------------------------------------------------------------------------------


async def test_login_is_form_encoded_and_the_token_goes_in_a_bearer_header(
    temporary: ConectalineSms, fake: FakeConectaline
) -> None:
    receipt = await temporary.send(TO, TEXT, reference=REF)

    login, push = fake.requests
    assert (login.method, str(login.url)) == ("POST", "https://conectaline.test/v1/login")
    assert form_of(login) == {"email": EMAIL, "password": PASSWORD}
    assert push.headers["Authorization"].startswith("Bearer tmp-")
    assert form_of(push) == {"configuration_name": CONFIGURATION, "message": TEXT, "numbers": "34600100200"}
    assert fake.messages[0]["auth"] == "bearer"
    assert receipt.message_id == fake.messages[0]["id"]


async def test_token_is_renewed_shortly_before_it_expires(
    temporary: ConectalineSms, fake: FakeConectaline, clock: Clock
) -> None:
    await temporary.send(TO, TEXT, reference=REF)
    clock.now += 3500  # 100 s left of 3600: still used
    await temporary.send(TO, TEXT, reference=REF)
    assert fake.logins == 1
    clock.now += 50  # 50 s left: inside the renewal margin
    await temporary.send(TO, TEXT, reference=REF)
    assert fake.logins == 2


@pytest.mark.parametrize("status", [401, 200])
async def test_expired_token_is_renewed_once_and_send_retried(
    temporary: ConectalineSms, fake: FakeConectaline, status: int
) -> None:
    fake.auth_error_status = status  # a refusal with HTTP 200 and an `error` body counts too
    await temporary.send(TO, TEXT, reference=REF)
    fake.expire_tokens()

    receipt = await temporary.send(TO, TEXT, reference=REF)

    assert receipt.message_id == fake.messages[-1]["id"]
    assert fake.logins == 2
    assert paths(fake) == ["/v1/login", "/v1/push/simple", "/v1/push/simple", "/v1/login", "/v1/push/simple"]


async def test_a_late_refusal_of_the_old_token_does_not_throw_away_the_renewed_one(
    fake: FakeConectaline, clock: Clock
) -> None:
    renewed = asyncio.Event()
    held = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal held
        if request.url.path.endswith("/push/simple") and fake.logins == 1:
            held += 1
            mine = held
            await asyncio.sleep(0)  # let the other send pick up the same (old) token
            if mine == 2:  # the second send's refusal arrives only after the first send logged in again
                await renewed.wait()
                for _ in range(5):
                    await asyncio.sleep(0)
        response = fake.handler(request)
        if request.url.path.endswith("/login") and fake.logins == 2:
            renewed.set()
        return response

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as c:
        adapter = ConectalineSms(LOGIN_SETTINGS, c, clock=clock)
        await adapter.send(TO, TEXT, reference=REF)
        fake.expire_tokens()
        held = 0
        await asyncio.gather(adapter.send(TO, TEXT, reference=REF), adapter.send(TO, TEXT, reference=REF))
    assert fake.logins == 2
    assert len(fake.messages) == 3


@pytest.mark.parametrize("status", [401, 200])
async def test_wrong_credentials_are_an_auth_error_whatever_the_login_status(
    client: httpx.AsyncClient, fake: FakeConectaline, status: int
) -> None:
    fake.login_error_status = status
    fake.password = "changed-in-the-panel"
    with pytest.raises(ProviderAuthError) as info:
        await build_login(client).send(TO, TEXT, reference=REF)
    assert info.value.status_code == status
    assert "Invalid credentials" in info.value.detail
    assert paths(fake) == ["/v1/login"]
    assert_clean(info.value)


async def test_login_reply_with_the_token_at_the_top_level_is_accepted(
    temporary: ConectalineSms, fake: FakeConectaline
) -> None:
    fake.login_top_level = True
    await temporary.send(TO, TEXT, reference=REF)
    assert fake.messages[0]["auth"] == "bearer"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (httpx.Response(200, content=b"<html>login</html>"), ProviderProtocolError),
        (httpx.Response(200, json={"data": {"expires_in": 60}}), ProviderProtocolError),
        (httpx.Response(200, json={"data": {"token": ""}}), ProviderProtocolError),
        (httpx.Response(200, json={"error": "bad credentials"}), ProviderAuthError),
        (httpx.Response(422, json={"error": {"message": {"email": ["required"]}}}), ProviderAuthError),
        (httpx.Response(401, content=b"Unauthorized"), ProviderAuthError),
        (httpx.Response(403, json={}), ProviderAuthError),
        (httpx.Response(503, json={"error": {"message": "maintenance"}}), ProviderUnavailable),
        (httpx.Response(429), ProviderUnavailable),
    ],
)
async def test_login_replies_map_to_the_error_tree(
    temporary: ConectalineSms, fake: FakeConectaline, reply: httpx.Response, expected: type[ProviderError]
) -> None:
    fake.next_response = reply
    with pytest.raises(expected) as info:
        await temporary.send(TO, TEXT, reference=REF)
    assert type(info.value) is expected
    assert paths(fake) == ["/v1/login"]
    assert_clean(info.value)


@pytest.mark.parametrize(
    ("expires_in", "expires_at", "lifetime"),
    [
        (3600, None, 3600.0),
        ("3600", None, 3600.0),
        (7200.5, None, 7200.5),
        (None, NOW + 900, 900.0),
        (None, str(NOW + 900), 900.0),
        (None, (NOW + 900) * 1000, 900.0),  # milliseconds
        (None, "2023-11-14T22:28:20Z", 900.0),  # NOW + 900 as ISO 8601
        (None, "2023-11-14 22:28:20", 900.0),  # naive: taken as UTC
        (None, "2023-11-14T23:28:20+01:00", 900.0),
        (3600, "2023-11-14 22:28:20", 900.0),  # the earliest wins
        (600, NOW + 100_000, 600.0),
        (3600, NOW - 1000, 3600.0),  # an expires_at in the past is not trusted
        (None, None, 1800.0),
        ("soon", "tomorrow", 1800.0),
        (0, None, 1800.0),
        (True, None, 1800.0),
    ],
)
def test_token_lifetime_accepts_the_plausible_expiry_formats(
    expires_in: object, expires_at: object, lifetime: float
) -> None:
    assert token_lifetime(expires_in, expires_at, now=float(NOW)) == pytest.approx(lifetime)


async def test_login_with_an_expiry_in_the_past_does_not_cause_a_login_per_send(
    temporary: ConectalineSms, fake: FakeConectaline
) -> None:
    past = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 7200))  # e.g. a timezone mix-up
    fake.login_fields = {"expires_in": None, "expires_at": past}
    for _ in range(3):
        await temporary.send(TO, TEXT, reference=REF)
    assert fake.logins == 1


# --- send replies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message_id"),
    [
        ({"id": 42}, "42"),
        ({"id": "abc"}, "abc"),
        ({"ids": ["m1", "m2"]}, "m1"),
        ({"message_id": "m9"}, "m9"),
        ([{"id": 7}], "7"),
        ({"sent": 1}, None),
        ({"id": True}, None),
        ({"id": ""}, None),
        ([], None),
        ("Mensaje enviado", None),
        (1, None),
    ],
)
async def test_message_id_is_taken_from_whatever_data_holds(
    fixed: ConectalineSms, fake: FakeConectaline, data: object, message_id: str | None
) -> None:
    fake.next_response = httpx.Response(200, json={"data": data})
    assert (await fixed.send(TO, TEXT, reference=REF)).message_id == message_id


async def test_reply_with_both_data_and_error_counts_as_sent(fixed: ConectalineSms, fake: FakeConectaline) -> None:
    fake.next_response = httpx.Response(200, json={"data": {"id": 3}, "error": {"message": "1 number skipped"}})
    assert (await fixed.send(TO, TEXT, reference=REF)).message_id == "3"


@pytest.mark.parametrize("status", [400, 422, 200])
async def test_unknown_configuration_is_rejected_with_the_vendor_message(
    client: httpx.AsyncClient, fake: FakeConectaline, status: int
) -> None:
    fake.business_error_status = status
    settings = ConectalineSettings(base_url="https://conectaline.test", api_token=API_TOKEN, configuration_name="nope")
    with pytest.raises(ProviderRejected) as info:
        await ConectalineSms(settings, client).send(TO, TEXT, reference=REF)
    assert type(info.value) is ProviderRejected
    assert info.value.status_code == status
    assert "configuration name is invalid" in info.value.detail
    assert fake.messages == []


async def test_vendor_error_code_is_kept(fixed: ConectalineSms, fake: FakeConectaline) -> None:
    fake.next_response = httpx.Response(200, json={"error": {"message": "Saldo insuficiente", "code": 402}})
    with pytest.raises(ProviderRejected) as info:
        await fixed.send(TO, TEXT, reference=REF)
    assert info.value.vendor_code == "402"
    assert "Saldo insuficiente" in info.value.detail


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (error_reply(500, "Server error"), ProviderUnavailable),
        (httpx.Response(503, content=b"<html>down</html>"), ProviderUnavailable),
        (httpx.Response(429, json={"error": {"message": "Too many requests"}}), ProviderUnavailable),
        (httpx.Response(404, content=b"<html>not found</html>"), ProviderRejected),
        (httpx.Response(400, json={"data": {"id": 1}}), ProviderRejected),
        (httpx.Response(403, content=b"nope"), ProviderAuthError),
        (httpx.Response(200, content=b"<html>ok</html>"), ProviderProtocolError),
        (httpx.Response(200, content=b""), ProviderProtocolError),
        (httpx.Response(200, json={}), ProviderProtocolError),
        (httpx.Response(200, json={"data": None}), ProviderProtocolError),
        (httpx.Response(200, json=[{"id": 1}]), ProviderProtocolError),
        (httpx.Response(302, content=b""), ProviderRejected),
    ],
)
async def test_send_replies_map_to_the_error_tree(
    fixed: ConectalineSms, fake: FakeConectaline, reply: httpx.Response, expected: type[ProviderError]
) -> None:
    fake.next_response = reply
    with pytest.raises(expected) as info:
        await fixed.send(TO, TEXT, reference=REF)
    assert type(info.value) is expected
    assert info.value.status_code == reply.status_code
    assert_clean(info.value)


async def test_vendor_message_echoing_number_text_code_or_credentials_is_scrubbed(
    fixed: ConectalineSms, fake: FakeConectaline
) -> None:
    echo = f"{TO.digits} ({TO.national_number}) refused '{TEXT}' code {CODE} key {API_TOKEN}"
    fake.next_response = error_reply(400, echo)
    with pytest.raises(ProviderRejected) as info:
        await fixed.send(TO, TEXT, reference=REF)
    assert_clean(info.value)
    assert TO.masked() in info.value.detail


async def test_login_error_echoing_the_credentials_is_scrubbed(
    temporary: ConectalineSms, fake: FakeConectaline
) -> None:
    fake.next_response = error_reply(401, f"Wrong password {PASSWORD} for {EMAIL}")
    with pytest.raises(ProviderAuthError) as info:
        await temporary.send(TO, TEXT, reference=REF)
    assert_clean(info.value)
