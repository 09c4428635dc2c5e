"""Signed outbound events, end to end: the service, real Redis, and a real receiver on loopback.

Every test runs on a single Redis and on a 3-master cluster (every events key is on one slot). The
retry schedule is in fractions of a second so that "a day of retries" fits in a test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.api.conftest import Backend
from tests.api.helpers import NUMBER, Client, assert_problem, check, send, wrong
from tests.conftest import ADMIN, CLIENT, Vendors, build_app, make_settings
from tests.events_receiver import Receiver

FAST = {
    "OTP_EVENTS_POLL_S": "0.02",
    "OTP_EVENTS_FIRST_RETRY_S": "0.05",
    "OTP_EVENTS_MAX_RETRY_S": "0.2",
    "OTP_EVENTS_RETRY_FOR_S": "30",
    "OTP_EVENTS_TIMEOUT_S": "5",
}
ENDPOINTS = "/v1/admin/apps/web/event-endpoints"
LIFE = ["verification.created", "verification.delivery_updated", "verification.delivery_updated"]


@pytest.fixture
def receiver() -> Any:
    server = Receiver().up()
    yield server
    server.down()


@pytest.fixture
def service(redis_backend: Backend, redis: object, vendors: Vendors) -> Callable[..., Any]:
    @asynccontextmanager
    async def make(**env: str) -> AsyncIterator[AsyncTestClient[Litestar]]:
        settings = make_settings(OTP_REDIS_URL=redis_backend.url, **{**FAST, **env})
        async with AsyncTestClient(build_app(settings, vendors)) as client:
            yield client

    return make


async def endpoint(client: Client, url: str, **body: Any) -> dict[str, Any]:
    response = await client.post(ENDPOINTS, json={"url": url, **body}, headers=ADMIN)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def gatum_receipt(client: Client, vendors: Vendors, state: str = "DELIVRD") -> None:
    from tests.conftest import WEBHOOK_SECRET

    body = vendors.gatum.dlr_body(vendors.gatum.messages[-1]["sent_id"], state)
    response = await client.post(f"/v1/webhooks/gatum/{WEBHOOK_SECRET}", content=body)
    assert response.status_code == 200, response.text


async def test_every_event_of_a_verification_arrives_in_order_signed_and_verifiable(
    service: Any, receiver: Receiver, vendors: Vendors
) -> None:
    async with service() as client:
        secret = (await endpoint(client, receiver.url))["secret"]
        vid = (await send(client)).json()["id"]
        await gatum_receipt(client, vendors)
        code = vendors.last_code()
        assert (await check(client, wrong(code))).json()["valid"] is False
        assert (await check(client, code)).json()["valid"] is True
        await receiver.until(lambda: len(receiver.types_for(vid)) >= 4)
    assert receiver.types_for(vid) == [*LIFE, "verification.approved"]
    payloads = receiver.verified(secret)
    created = next(p for p in payloads if p["type"] == "verification.created")
    assert created["data"]["to"] == "+34******200" and created["data"]["country"] == "ES"
    assert created["data"]["app"] == "web" and created["data"]["expires_at"].endswith("Z")
    delivered = [p["data"] for p in payloads if p["type"] == "verification.delivery_updated"][-1]
    assert (delivered["delivery_status"], delivered["provider"], delivered["channel"]) == ("delivered", "gatum", "sms")
    for r in receiver.accepted():  # never the code, its hash, the full number or the secret
        assert code.encode() not in r.body and NUMBER.encode() not in r.body and b"argon2" not in r.body
        assert secret.encode() not in r.body


async def test_cancel_and_running_out_of_attempts_are_events(
    service: Any, receiver: Receiver, vendors: Vendors
) -> None:
    async with service() as client:
        await endpoint(client, receiver.url)
        canceled = (await send(client, "+34600100201")).json()["id"]
        assert (await client.post(f"/v1/verifications/{canceled}/cancel", headers=CLIENT)).status_code == 200
        dead = (await send(client, "+34600100202")).json()["id"]
        for _ in range(5):
            await check(client, wrong(vendors.last_code()), to="+34600100202")
        await receiver.until(lambda: "verification.max_attempts_reached" in receiver.types_for(dead))
        await receiver.until(lambda: "verification.canceled" in receiver.types_for(canceled))
    assert receiver.types_for(canceled) == [*LIFE[:2], "verification.canceled"]
    assert receiver.types_for(dead)[-1] == "verification.max_attempts_reached"


async def test_expired_is_emitted_once_by_the_service_even_if_nobody_reads_the_verification(
    service: Any, receiver: Receiver, redis: Any
) -> None:
    async with service() as client:
        await endpoint(client, receiver.url)
        vid = (await send(client)).json()["id"]
        assert await redis.zscore("otp:{events}:deadlines", vid) is not None
        await redis.zadd("otp:{events}:deadlines", {vid: 1})  # its expiry is long past
        await receiver.until(lambda: "verification.expired" in receiver.types_for(vid))
        await asyncio.sleep(0.5)  # more rounds of every worker: no second one
    assert receiver.types_for(vid).count("verification.expired") == 1
    assert await redis.zscore("otp:{events}:deadlines", vid) is None


async def test_an_approved_verification_never_expires_as_an_event(
    service: Any, receiver: Receiver, vendors: Vendors, redis: Any
) -> None:
    async with service() as client:
        await endpoint(client, receiver.url)
        vid = (await send(client)).json()["id"]
        await check(client, vendors.last_code())
        await receiver.until(lambda: "verification.approved" in receiver.types_for(vid))
    assert await redis.zscore("otp:{events}:deadlines", vid) is None


async def test_a_receiver_that_fails_every_other_request_still_gets_everything_in_order(
    service: Any, receiver: Receiver, vendors: Vendors
) -> None:
    receiver.mode = "flaky"
    async with service() as client:
        await endpoint(client, receiver.url)
        vid = (await send(client)).json()["id"]
        await gatum_receipt(client, vendors)
        await check(client, vendors.last_code())
        await receiver.until(lambda: len(receiver.types_for(vid)) >= 4)
    assert receiver.types_for(vid) == [*LIFE, "verification.approved"]
    assert any(r.status == 500 for r in receiver.received)


async def test_a_receiver_down_for_a_while_gets_everything_once_it_is_back(
    service: Any, receiver: Receiver, vendors: Vendors
) -> None:
    receiver.down()
    async with service() as client:
        await endpoint(client, receiver.url)
        vid = (await send(client)).json()["id"]
        await gatum_receipt(client, vendors)
        await check(client, vendors.last_code())
        await asyncio.sleep(1.0)  # several failed attempts of the first event
        assert receiver.received == []
        receiver.up()
        await receiver.until(lambda: len(receiver.types_for(vid)) >= 4)
    assert receiver.types_for(vid) == [*LIFE, "verification.approved"]


async def test_a_dead_receiver_ends_in_the_dead_letters_and_a_replay_delivers(service: Any, receiver: Receiver) -> None:
    receiver.mode = "fail"
    async with service(OTP_EVENTS_RETRY_FOR_S="0.3") as client:
        await endpoint(client, receiver.url, types=["verification.created"])
        vid = (await send(client)).json()["id"]
        letters: list[dict[str, Any]] = []
        deadline = time.monotonic() + 15
        while not letters and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            letters = (await client.get("/v1/admin/apps/web/event-dead-letters", headers=ADMIN)).json()
        assert [(d["type"], d["subject"], d["last_failure"]) for d in letters] == [
            ("verification.created", vid, "status_5xx")
        ]
        assert letters[0]["attempts"] >= 2
        receiver.mode = "ok"
        replay = await client.post("/v1/admin/apps/web/event-dead-letters/replay", headers=ADMIN)
        assert replay.json() == {"replayed": 1}
        await receiver.until(lambda: receiver.types_for(vid) == ["verification.created"])
        assert (await client.get("/v1/admin/apps/web/event-dead-letters", headers=ADMIN)).json() == []
        metrics = (await client.get("/metrics")).text
    for line in ('otp_events_failures_total{reason="status_5xx"}', "otp_events_dead_letters_total"):
        assert any(m.startswith(line) and float(m.split()[-1]) >= 1 for m in metrics.splitlines()), line
    assert "otp_events_receiver_seconds_count" in metrics and "otp_events_backlog" in metrics


async def test_send_and_check_do_not_wait_for_a_hanging_receiver(
    service: Any, receiver: Receiver, vendors: Vendors
) -> None:
    receiver.mode, receiver.hang_s = "hang", 4.0
    async with service() as client:
        await endpoint(client, receiver.url)
        await send(client, "+34600100203")
        await receiver.until(lambda: len(receiver.received) >= 1 or receiver._count >= 1)  # one delivery hangs
        started = time.monotonic()
        assert (await send(client)).status_code == 201
        assert (await check(client, vendors.last_code())).json()["valid"] is True
        took = time.monotonic() - started
    assert took < 1.0, f"send and check took {took:.2f} s while the receiver hung for {receiver.hang_s} s"


async def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one(
    service: Any, receiver: Receiver
) -> None:
    async with service() as client:
        created = await endpoint(client, receiver.url, types=["verification.created"])
        old = created["secret"]
        rotate = f"{ENDPOINTS}/{created['id']}/rotate-secret"
        rotated = await client.post(rotate, json={"grace_seconds": 3600}, headers=ADMIN)
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new != old and new.startswith("whsec_") and rotated.json()["previous_secret_valid_until"]
        await send(client)
        await receiver.until(lambda: len(receiver.accepted()) == 1)
        assert receiver.verified(old) and receiver.verified(new)
        again = (await client.post(rotate, json={"grace_seconds": 0}, headers=ADMIN)).json()["secret"]
        await send(client, "+34600100204")
        await receiver.until(lambda: len(receiver.accepted()) == 2)
    last = receiver.accepted()[-1]
    Webhook(again).verify(last.body, last.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(last.body, last.headers)


async def test_the_secret_is_shown_once_and_then_only_as_a_hint(service: Any, receiver: Receiver) -> None:
    async with service() as client:
        created = await endpoint(client, receiver.url)
        assert created["secret"].startswith("whsec_") and created["types"]
        listed = (await client.get(ENDPOINTS, headers=ADMIN)).json()
        assert [e["id"] for e in listed] == [created["id"]]
        assert "secret" not in listed[0] and listed[0]["secret_hint"] == "whsec_..." + created["secret"][-4:]
        patched = await client.patch(f"{ENDPOINTS}/{created['id']}", json={"enabled": False}, headers=ADMIN)
        assert patched.status_code == 200 and patched.json()["enabled"] is False
        assert "secret" not in patched.json()
        assert (await client.delete(f"{ENDPOINTS}/{created['id']}", headers=ADMIN)).status_code == 204
        assert (await client.get(ENDPOINTS, headers=ADMIN)).json() == []


async def test_a_disabled_endpoint_receives_nothing(service: Any, receiver: Receiver) -> None:
    async with service() as client:
        created = await endpoint(client, receiver.url, enabled=False)
        await send(client)
        await asyncio.sleep(0.5)
        assert created["enabled"] is False
    assert receiver.received == []


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "example.com/hooks", "http://", ""])
async def test_an_endpoint_url_must_be_http_or_https(service: Any, url: str) -> None:
    async with service() as client:
        response = await client.post(ENDPOINTS, json={"url": url}, headers=ADMIN)
    assert_problem(response, 400, "validation_error")


async def test_bad_endpoint_requests_are_clear_problems(service: Any, receiver: Receiver) -> None:
    async with service() as client:
        assert_problem(
            await client.post(ENDPOINTS, json={"url": receiver.url, "types": ["nope"]}, headers=ADMIN),
            400,
            "validation_error",
        )
        assert_problem(
            await client.post("/v1/admin/apps/nobody/event-endpoints", json={"url": receiver.url}, headers=ADMIN),
            404,
            "not_found",
        )
        assert_problem(await client.patch(f"{ENDPOINTS}/ep_missing", json={}, headers=ADMIN), 404, "not_found")
        assert_problem(await client.get(ENDPOINTS, headers=CLIENT), 403, "forbidden")
        created = await endpoint(client, receiver.url)
        assert_problem(
            await client.post(f"{ENDPOINTS}/{created['id']}/rotate-secret", json={"grace_seconds": -1}, headers=ADMIN),
            400,
            "validation_error",
        )
