"""GET /v1/verifications/{id} and POST /v1/verifications/{id}/cancel (API.md)."""

from __future__ import annotations

from tests.api.helpers import NUMBER, Client, all_keys, assert_problem, check, send
from tests.conftest import CLIENT, Vendors


async def test_status_has_the_delivery_object(client: Client) -> None:
    created = (await send(client)).json()
    body = (await client.get(f"/v1/verifications/{created['id']}", headers=CLIENT)).json()
    for field in ("id", "to", "channel", "status", "provider", "code_length", "attempts_left", "expires_at"):
        assert body[field] == created[field]
    assert body["delivery"]["provider"] == "gatum"
    assert body["delivery"]["status"] in {"queued", "sent", "delivered", "undelivered", "failed", "unknown"}
    assert body["delivery"]["updated_at"].endswith("Z")


async def test_unknown_ids_are_404(client: Client) -> None:
    for vid in ("vf_" + "a" * 32, "vf_nothex", "x" * 300, "%00"):
        assert_problem(await client.get(f"/v1/verifications/{vid}", headers=CLIENT), 404, "not_found")


async def test_cancel_stops_the_code_and_is_then_404(client: Client, vendors: Vendors) -> None:
    vid = (await send(client)).json()["id"]
    code = vendors.last_code()
    response = await client.post(f"/v1/verifications/{vid}/cancel", headers=CLIENT)
    assert response.status_code == 200
    assert response.json()["id"] == vid and response.json()["status"] == "canceled"
    assert_problem(await check(client, code), 404, "not_found")
    assert_problem(await client.post(f"/v1/verifications/{vid}/cancel", headers=CLIENT), 404, "not_found")
    status = (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()
    assert status["status"] == "canceled"


async def test_an_approved_verification_cannot_be_canceled(client: Client, vendors: Vendors) -> None:
    vid = (await send(client)).json()["id"]
    await check(client, vendors.last_code())
    assert_problem(await client.post(f"/v1/verifications/{vid}/cancel", headers=CLIENT), 404, "not_found")


async def test_after_cancel_a_new_send_starts_a_new_verification(client: Client) -> None:
    first = (await send(client)).json()["id"]
    await client.post(f"/v1/verifications/{first}/cancel", headers=CLIENT)
    # The cooldown still applies to the number (a cancel must not be a way around it).
    assert_problem(await send(client), 429, "rate_limited")


async def test_a_finished_verification_stays_readable_for_24_hours(client: Client, vendors: Vendors, redis) -> None:  # type: ignore[no-untyped-def]
    vid = (await send(client)).json()["id"]
    await check(client, vendors.last_code())
    ttl = await redis.pttl(f"otp:{{{NUMBER}}}:vf:{vid}")
    assert 24 * 3600 * 1000 - 60_000 < ttl <= 24 * 3600 * 1000
    index_ttl = await redis.pttl(f"otp:{{{vid}}}:to")
    assert index_ttl >= 24 * 3600 * 1000


async def test_every_key_has_a_ttl(client: Client, vendors: Vendors, redis) -> None:  # type: ignore[no-untyped-def]
    await send(client, headers={"Idempotency-Key": "k1"})
    await check(client, "000000" if vendors.last_code() != "000000" else "111111")
    keys = [k for k in await all_keys(redis, "otp:*") if b"{settings}" not in k]
    assert keys
    for key in keys:
        assert await redis.pttl(key) > 0, key
