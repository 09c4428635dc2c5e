"""The provider fallback chain end to end: ``POST /v1/verifications`` against the five vendor fakes.

Rules under test (API.md, ``otp_service/domain/dispatcher.py``): a provider that cannot have delivered is
skipped within the same request and the next one gets the same code; a plain sender whose request left
without an answer stops the chain (``delivery: unknown``); Message Central VerifyNow without a
verificationId falls over with our own code; all down is ``503 provider_unavailable`` and costs the
user no quota; a circuit breaker stops calling a provider that keeps failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from otp_service.domain.breaker import Breaker
from tests.api.helpers import NUMBER, Client, assert_problem, check, patch_settings, send, wrong
from tests.conftest import ADMIN_TOKEN, API_KEY, CLIENT, PEPPER, WEBHOOK_SECRET, Vendors
from tests.fakes import conectaline, gatum, instasent, message_central, wavy

PROVIDERS = ["message_central", "gatum", "wavy", "instasent", "conectaline"]
VENDOR_SECRETS = [
    message_central.PASSWORD,
    gatum.PASSWORD,
    wavy.TOKEN,
    instasent.TOKEN,
    conectaline.API_TOKEN,
    API_KEY,
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    PEPPER,
]


def deliveries(vendors: Vendors, provider: str) -> int:
    """Requests that reached the vendor's delivering endpoint (sends, or VerifyNow starts)."""
    fake = getattr(vendors, provider)
    path = {
        "message_central": message_central.SEND_PATH,
        "gatum": "/v1/send",
        "wavy": "/v1/send-sms",
        "instasent": "/sms",
        "conectaline": "/v1/push/simple",
    }[provider]
    return sum(1 for r in fake.requests if r.url.path.rstrip("/").endswith(path))


def code_sent_by(vendors: Vendors, provider: str) -> str:
    if provider == "message_central":
        return vendors.message_central.last_code
    return vendors.last_code(provider)


def break_provider(vendors: Vendors, provider: str, how: str) -> None:
    fake = getattr(vendors, provider)
    if how == "connect_error":
        fake.raise_exc = httpx.ConnectError
    elif how == "connect_timeout":
        fake.raise_exc = httpx.ConnectTimeout
    elif how in ("http_503", "http_429", "http_401", "http_400"):
        fake.fail_with_status = int(how.removeprefix("http_"))
    else:
        raise AssertionError(how)


def heal(vendors: Vendors, provider: str) -> None:
    fake = getattr(vendors, provider)
    fake.raise_exc = None
    fake.fail_with_status = None


# --- every provider delivers ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_each_provider_delivers_end_to_end_and_its_code_approves(
    client: Client, vendors: Vendors, provider: str
) -> None:
    await patch_settings(client, providers=[provider])
    response = await send(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["provider"] == provider
    assert body["delivery"]["provider"] == provider
    assert deliveries(vendors, provider) == 1
    code = code_sent_by(vendors, provider)
    assert len(code) == body["code_length"] == 6
    assert code not in response.text
    others = [p for p in PROVIDERS if p != provider]
    assert all(deliveries(vendors, p) == 0 for p in others)
    approved = await check(client, code)
    assert approved.json() == {"id": body["id"], "to": NUMBER, "status": "approved", "valid": True}


async def test_message_central_verify_now_code_is_made_and_checked_by_the_vendor(
    client: Client, vendors: Vendors
) -> None:
    await patch_settings(client, providers=["message_central"])
    body = (await send(client)).json()
    mc = vendors.message_central
    (message,) = mc.messages
    assert message["kind"] == "verify"  # VerifyNow: the vendor made the code
    assert body["delivery"]["encoding"] is None  # no text of ours was rendered
    response = await check(client, mc.last_code)
    assert response.json()["valid"] is True
    (validate,) = mc.calls(message_central.VALIDATE_PATH)
    assert validate.url.params["verificationId"] == mc.last_verification_id
    assert validate.url.params["code"] == mc.last_code


async def test_the_order_comes_from_otp_providers(app_with: Callable[..., Any], vendors: Vendors) -> None:
    async with app_with(OTP_PROVIDERS="instasent,wavy") as client:
        response = await send(client)
        assert response.status_code == 201
        assert response.json()["provider"] == "instasent"
        settings = (await client.get("/v1/admin/settings", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})).json()
        assert settings["providers"] == ["instasent", "wavy"]
    assert deliveries(vendors, "wavy") == 0


# --- fail over ---------------------------------------------------------------------------------------

FAILOVER_PAIRS = [
    ("message_central", "gatum"),
    ("gatum", "wavy"),
    ("wavy", "instasent"),
    ("instasent", "conectaline"),
    ("conectaline", "message_central"),
]


@pytest.mark.parametrize("how", ["connect_error", "connect_timeout", "http_503", "http_429", "http_401"])
@pytest.mark.parametrize(("first", "second"), FAILOVER_PAIRS, ids=[f"{a}-then-{b}" for a, b in FAILOVER_PAIRS])
async def test_when_the_first_provider_is_down_the_second_delivers_in_the_same_request(
    client: Client, vendors: Vendors, first: str, second: str, how: str
) -> None:
    await patch_settings(client, providers=[first, second])
    break_provider(vendors, first, how)
    response = await send(client)
    assert response.status_code == 201, response.text
    assert response.json()["provider"] == second
    assert deliveries(vendors, first) >= 1  # it was tried
    assert deliveries(vendors, second) == 1
    approved = await check(client, code_sent_by(vendors, second))
    assert approved.json()["valid"] is True


async def test_a_refused_number_falls_over_too(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, providers=["wavy", "gatum"])
    break_provider(vendors, "wavy", "http_400")
    response = await send(client)
    assert response.status_code == 201
    assert response.json()["provider"] == "gatum"


async def test_every_sender_tried_gets_the_same_code(
    client: Client, vendors: Vendors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender that refused after reading the text may still show it to someone: the code it carried
    must be the one that works, so one request never makes two codes."""
    accept = vendors.wavy.handler

    def read_then_refuse(request: httpx.Request) -> httpx.Response:
        accept(request)  # the fake records the text it was given
        return httpx.Response(400, json={"errorCode": 400, "errorMessage": "refused"})

    monkeypatch.setattr(vendors.wavy, "handler", read_then_refuse)
    await patch_settings(client, providers=["wavy", "gatum"])
    assert (await send(client)).json()["provider"] == "gatum"
    assert vendors.last_text("wavy") == vendors.last_text("gatum")


# --- all down ----------------------------------------------------------------------------------------


async def test_all_providers_down_is_503_naming_each_and_costs_no_quota(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, providers=PROVIDERS, send_limit={"count": 1, "window_seconds": 600})
    break_provider(vendors, "message_central", "http_503")
    break_provider(vendors, "gatum", "connect_error")
    break_provider(vendors, "wavy", "http_401")
    break_provider(vendors, "instasent", "http_429")
    break_provider(vendors, "conectaline", "http_400")
    response = await send(client)
    body = assert_problem(response, 503, "provider_unavailable")
    assert body["tried"] == [
        {"provider": "message_central", "reason": "unavailable"},
        {"provider": "gatum", "reason": "unavailable"},
        {"provider": "wavy", "reason": "auth_failed"},
        {"provider": "instasent", "reason": "unavailable"},
        {"provider": "conectaline", "reason": "rejected"},
    ]
    for secret in [*VENDOR_SECRETS, NUMBER, NUMBER[1:]]:
        assert secret not in response.text, secret
    for provider in PROVIDERS:
        heal(vendors, provider)
    again = await send(client)  # no cooldown started, and the send_limit of 1 still has its one send
    assert again.status_code == 201, again.text
    assert again.json()["provider"] == "message_central"


async def test_all_down_keeps_the_previous_pending_code_working(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, providers=["gatum"], resend_cooldown_seconds=0)
    first = (await send(client)).json()
    code = vendors.last_code()
    break_provider(vendors, "gatum", "http_503")
    assert_problem(await send(client), 503, "provider_unavailable")
    approved = await check(client, code)
    assert approved.json() == {"id": first["id"], "to": NUMBER, "status": "approved", "valid": True}


# --- may have delivered: stop --------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["gatum", "wavy", "instasent", "conectaline"])
async def test_a_sender_that_times_out_after_the_request_left_stops_the_chain(
    client: Client, vendors: Vendors, provider: str
) -> None:
    others = [p for p in ["gatum", "wavy", "instasent", "conectaline"] if p != provider]
    await patch_settings(client, providers=[provider, *others])
    getattr(vendors, provider).raise_exc = httpx.ReadTimeout
    response = await send(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["provider"] == provider
    assert body["delivery"]["status"] == "unknown"
    assert deliveries(vendors, provider) == 1
    assert all(getattr(vendors, p).requests == [] for p in others)  # nobody else got a second code
    status = (await client.get(f"/v1/verifications/{body['id']}", headers=CLIENT)).json()
    assert status["delivery"]["status"] == "unknown"
    assert status["status"] == "pending"


async def test_a_2xx_reply_we_cannot_read_is_unknown_and_stops_the_chain(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, providers=["wavy", "gatum"])
    vendors.wavy.next_response = httpx.Response(200, content=b"<html>OK</html>", headers={"Content-Type": "text/html"})
    response = await send(client)
    assert response.status_code == 201
    assert response.json()["provider"] == "wavy"
    assert response.json()["delivery"]["status"] == "unknown"
    assert vendors.gatum.requests == []


@pytest.mark.parametrize("how", ["read_timeout", "html_200"])
async def test_message_central_verify_now_without_a_verification_id_falls_over_with_our_own_code(
    client: Client, vendors: Vendors, how: str
) -> None:
    """No verificationId came back, so MC's code (if any was sent) can never be checked: the next
    sender delivers our code, and that is the only code that works."""
    await patch_settings(client, providers=["message_central", "gatum"])
    if how == "read_timeout":
        vendors.message_central.raise_exc = httpx.ReadTimeout
    else:
        vendors.message_central.next_response = httpx.Response(200, content=b"<html>OK</html>")
    response = await send(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["provider"] == "gatum"
    assert body["delivery"]["status"] == "queued"
    assert deliveries(vendors, "message_central") == 1
    code = vendors.last_code("gatum")
    assert (await check(client, wrong(code))).json()["attempts_left"] == 4
    assert (await check(client, code)).json()["valid"] is True
    assert vendors.message_central.calls(message_central.VALIDATE_PATH) == []  # checked locally


async def test_a_resend_message_central_refuses_506_goes_out_with_our_code_and_the_old_code_dies(
    client: Client, vendors: Vendors
) -> None:
    """MC still has the first verification open (506 REQUEST_ALREADY_EXISTS): the resend goes through
    the next sender, and only the code it carried works, never MC's earlier one."""
    await patch_settings(client, providers=["message_central", "gatum"], resend_cooldown_seconds=0)
    first = (await send(client)).json()
    assert first["provider"] == "message_central"
    mc_code = vendors.message_central.last_code
    second = (await send(client)).json()
    assert second["id"] == first["id"]
    assert second["provider"] == "gatum"
    assert deliveries(vendors, "message_central") == 2  # the second start was refused
    our_code = vendors.last_code("gatum")
    if our_code != mc_code:
        assert (await check(client, mc_code)).json()["valid"] is False
    assert (await check(client, our_code)).json()["valid"] is True
    assert vendors.message_central.calls(message_central.VALIDATE_PATH) == []


# --- circuit breaker ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker_of(client: Client, provider: str) -> Breaker:
    breaker: Breaker = client.app.state.otp_service.dispatcher.breakers[provider]
    return breaker


async def test_the_breaker_stops_calling_a_failing_provider_and_probes_it_after_the_cooldown(
    client: Client, vendors: Vendors
) -> None:
    await patch_settings(client, providers=["gatum", "wavy"])
    breaker = breaker_of(client, "gatum")
    clock = Clock()
    breaker._clock = clock
    breaker.threshold, breaker.cooldown_s = 3, 30.0
    break_provider(vendors, "gatum", "connect_error")
    numbers = iter(f"+346001003{i:02d}" for i in range(20))

    for _ in range(3):  # three consecutive failures open it; each send still delivered through wavy
        assert (await send(client, next(numbers))).json()["provider"] == "wavy"
    assert deliveries(vendors, "gatum") == 3
    assert breaker.state == "open"

    for _ in range(3):  # open: gatum is not even called
        assert (await send(client, next(numbers))).json()["provider"] == "wavy"
    assert deliveries(vendors, "gatum") == 3

    clock.now += 30  # cool-down over: one probe reaches gatum, fails, and the breaker opens again
    assert (await send(client, next(numbers))).json()["provider"] == "wavy"
    assert deliveries(vendors, "gatum") == 4
    assert (await send(client, next(numbers))).json()["provider"] == "wavy"
    assert deliveries(vendors, "gatum") == 4

    heal(vendors, "gatum")
    clock.now += 30  # the next probe succeeds and closes it
    assert (await send(client, next(numbers))).json()["provider"] == "gatum"
    assert breaker.state == "closed"
    assert (await send(client, next(numbers))).json()["provider"] == "gatum"
    assert deliveries(vendors, "gatum") == 6


async def test_an_open_breaker_is_named_in_the_503(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, providers=["gatum", "wavy"])
    breaker = breaker_of(client, "gatum")
    breaker.threshold = 1
    break_provider(vendors, "gatum", "connect_error")
    break_provider(vendors, "wavy", "http_503")
    assert_problem(await send(client, "+34600100301"), 503, "provider_unavailable")
    response = await send(client, "+34600100302")
    body = assert_problem(response, 503, "provider_unavailable")
    assert body["tried"] == [
        {"provider": "gatum", "reason": "circuit_open"},
        {"provider": "wavy", "reason": "unavailable"},
    ]
    assert deliveries(vendors, "gatum") == 1


async def test_a_refused_number_does_not_open_the_breaker(client: Client, vendors: Vendors) -> None:
    """A 400 says something about the request, not about the vendor's health."""
    await patch_settings(client, providers=["gatum", "wavy"])
    breaker = breaker_of(client, "gatum")
    breaker.threshold = 2
    break_provider(vendors, "gatum", "http_400")
    for i in range(4):
        assert (await send(client, f"+3460010040{i}")).json()["provider"] == "wavy"
    assert breaker.state == "closed"
    assert deliveries(vendors, "gatum") == 4
