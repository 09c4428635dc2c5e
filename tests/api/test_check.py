"""POST /v1/verifications/check: attempts, single use, budgets, concurrency (API.md)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.asyncio import Redis, RedisCluster

from tests.api.helpers import NUMBER, Client, assert_problem, check, patch_settings, send, wrong
from tests.conftest import ADMIN, CLIENT, Vendors

# One end user firing many checks at once: these tests are about attempts, not the failed-check budgets.
ROOMY_CHECKS = {
    "check_limit": {"count": 1000, "window_seconds": 3600},
    "source_check_limit": {"count": 1000, "window_seconds": 3600},
}


async def test_right_code_is_approved_once_and_then_not_found(client: Client, vendors: Vendors) -> None:
    vid = (await send(client)).json()["id"]
    code = vendors.last_code()
    ok = await check(client, code)
    assert ok.status_code == 200
    assert ok.json() == {"id": vid, "to": NUMBER, "status": "approved", "valid": True}
    assert_problem(await check(client, code), 404, "not_found")
    status = (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()
    assert status["status"] == "approved"


async def test_check_by_id_works_like_check_by_number(client: Client, vendors: Vendors) -> None:
    vid = (await send(client)).json()["id"]
    response = await check(client, vendors.last_code(), id=vid)
    assert response.json()["status"] == "approved"


async def test_wrong_code_costs_one_attempt(client: Client, vendors: Vendors) -> None:
    await send(client)
    code = vendors.last_code()
    first = await check(client, wrong(code))
    assert first.status_code == 200
    assert first.json()["valid"] is False
    assert first.json()["status"] == "pending"
    assert first.json()["attempts_left"] == 4
    assert (await check(client, wrong(code))).json()["attempts_left"] == 3


async def test_the_last_attempt_answers_max_attempts_reached_and_kills_the_verification(
    client: Client, vendors: Vendors
) -> None:
    await patch_settings(client, max_attempts=2)
    vid = (await send(client)).json()["id"]
    code = vendors.last_code()
    assert (await check(client, wrong(code))).json()["attempts_left"] == 1
    last = (await check(client, wrong(code))).json()
    assert last == {"id": vid, "to": NUMBER, "status": "max_attempts_reached", "valid": False, "attempts_left": 0}
    assert_problem(await check(client, code), 404, "not_found")  # dead, even for the right code
    status = (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()
    assert status["status"] == "max_attempts_reached"


@pytest.mark.parametrize("bad", ["123", "12345678901", "12a456", "12 456", "１２３４５６", ""])
async def test_malformed_code_is_400_and_costs_no_attempt(client: Client, vendors: Vendors, bad: str) -> None:
    await send(client)
    assert_problem(await check(client, bad), 400, "validation_error")
    after = await check(client, wrong(vendors.last_code()))
    assert after.json()["attempts_left"] == 4


@pytest.mark.parametrize("bad", ["123", "12a456", ""])
async def test_a_malformed_code_is_400_whether_or_not_a_verification_is_pending(client: Client, bad: str) -> None:
    """The format check comes first for every request, so its answer says nothing about the number."""
    assert_problem(await check(client, bad), 400, "validation_error")
    await send(client)
    assert_problem(await check(client, bad), 400, "validation_error")


@pytest.mark.parametrize("other_length", ["12345", "1234567", "1234567890"])
async def test_a_wrong_length_code_costs_an_attempt_like_any_wrong_code(
    client: Client, vendors: Vendors, other_length: str
) -> None:
    """A free answer for a wrong length would tell anyone which numbers are in the middle of a login."""
    vid = (await send(client)).json()["id"]
    response = await check(client, other_length)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": vid, "to": NUMBER, "status": "pending", "valid": False, "attempts_left": 4}
    after = await check(client, wrong(vendors.last_code()))
    assert after.json()["attempts_left"] == 3


async def test_a_wrong_length_code_for_a_number_with_nothing_pending_is_404_like_any_code(client: Client) -> None:
    assert_problem(await check(client, "12345"), 404, "not_found")
    assert_problem(await check(client, "123456"), 404, "not_found")


@pytest.mark.parametrize("n", [3, 5])
async def test_concurrent_wrong_checks_each_report_what_their_own_charge_left(
    server: str, vendors: Vendors, n: int
) -> None:
    async with httpx.AsyncClient(base_url=server, headers=CLIENT) as http:
        await http.patch("/v1/admin/settings", json={"max_attempts": n}, headers=ADMIN)
        vid = (await http.post("/v1/verifications", json={"to": NUMBER})).json()["id"]
        bad = wrong(vendors.last_code())
        replies = await asyncio.gather(
            *(http.post("/v1/verifications/check", json={"to": NUMBER, "code": bad}) for _ in range(n))
        )
        bodies = [reply.json() for reply in replies]
        assert all(reply.status_code == 200 for reply in replies), bodies
        assert sorted(body["attempts_left"] for body in bodies) == list(range(n)), bodies
        assert all(body["valid"] is False and body["id"] == vid for body in bodies)
        status = (await http.get(f"/v1/verifications/{vid}")).json()
        assert (status["status"], status["attempts_left"]) == ("max_attempts_reached", 0)


@pytest.mark.parametrize(
    "body",
    [
        {"code": "123456"},
        {"to": NUMBER, "id": "vf_0", "code": "123456"},
        {"to": NUMBER, "code": 123456},
        {"to": NUMBER, "code": "123456", "extra": 1},
    ],
)
async def test_check_body_errors_are_400(client: Client, body: dict[str, object]) -> None:
    response = await client.post("/v1/verifications/check", json=body, headers=CLIENT)
    assert_problem(response, 400, "validation_error")


async def test_check_without_a_verification_is_404(client: Client) -> None:
    assert_problem(await check(client, "123456"), 404, "not_found")
    assert_problem(await check(client, "123456", id="vf_" + "0" * 32), 404, "not_found")
    assert_problem(await check(client, "123456", id="nonsense"), 404, "not_found")


async def test_invalid_number_on_check_is_400_invalid_phone(client: Client) -> None:
    assert_problem(await check(client, "123456", to="+34 600"), 400, "invalid_phone")


async def test_failed_check_budget_spans_resends_and_answers_429(client: Client, vendors: Vendors) -> None:
    await patch_settings(
        client, resend_cooldown_seconds=0, max_attempts=2, check_limit={"count": 3, "window_seconds": 3600}
    )
    await send(client)
    code = vendors.last_code()
    await check(client, wrong(code))
    await check(client, wrong(code))
    await send(client)  # attempts start again, the number's budget does not
    code = vendors.last_code()
    await check(client, wrong(code))
    response = await check(client, code)
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 3000


async def test_a_right_code_does_not_count_against_the_failed_check_budget(client: Client, vendors: Vendors) -> None:
    await patch_settings(client, resend_cooldown_seconds=0, check_limit={"count": 1, "window_seconds": 3600})
    for _ in range(3):
        await send(client)
        assert (await check(client, vendors.last_code())).json()["valid"] is True


async def test_concurrent_wrong_checks_cost_exactly_one_attempt_each(server: str, vendors: Vendors) -> None:
    async with httpx.AsyncClient(base_url=server, headers=CLIENT) as http:
        await http.patch("/v1/admin/settings", json={"max_attempts": 20, **ROOMY_CHECKS}, headers=ADMIN)
        assert (await http.post("/v1/verifications", json={"to": NUMBER})).status_code == 201
        code = vendors.last_code()
        n = 12
        responses = await asyncio.gather(
            *(http.post("/v1/verifications/check", json={"to": NUMBER, "code": wrong(code)}) for _ in range(n))
        )
        assert all(r.status_code == 200 for r in responses)
        left = sorted(r.json()["attempts_left"] for r in responses)
        assert left == list(range(20 - n, 20))  # each answer saw a distinct count: nothing lost, nothing doubled
        status = (await http.get(f"/v1/verifications/{responses[0].json()['id']}")).json()
        assert status["attempts_left"] == 20 - n


async def test_concurrent_wrong_checks_never_exceed_max_attempts(server: str, vendors: Vendors) -> None:
    async with httpx.AsyncClient(base_url=server, headers=CLIENT) as http:
        await http.patch("/v1/admin/settings", json={"max_attempts": 3, **ROOMY_CHECKS}, headers=ADMIN)
        await http.post("/v1/verifications", json={"to": NUMBER})
        code = vendors.last_code()
        responses = await asyncio.gather(
            *(http.post("/v1/verifications/check", json={"to": NUMBER, "code": wrong(code)}) for _ in range(10))
        )
        judged = [r for r in responses if r.status_code == 200]
        assert len(judged) == 3  # exactly max_attempts guesses were evaluated
        assert all(r.status_code == 404 for r in responses if r.status_code != 200)
        assert all(r.json()["valid"] is False for r in judged)
        assert sorted(r.json()["attempts_left"] for r in judged) == [0, 1, 2]  # each its own charge
        # The check that used the last attempt says so (any check finishing after it sees it dead too).
        assert any(r.json()["status"] == "max_attempts_reached" for r in judged)


async def test_of_concurrent_right_checks_exactly_one_is_approved(server: str, vendors: Vendors) -> None:
    async with httpx.AsyncClient(base_url=server, headers=CLIENT) as http:
        await http.patch("/v1/admin/settings", json={"max_attempts": 20, **ROOMY_CHECKS}, headers=ADMIN)
        await http.post("/v1/verifications", json={"to": NUMBER})
        code = vendors.last_code()
        responses = await asyncio.gather(
            *(http.post("/v1/verifications/check", json={"to": NUMBER, "code": code}) for _ in range(10))
        )
        approved = [r for r in responses if r.status_code == 200 and r.json()["valid"]]
        assert len(approved) == 1
        assert all(r.status_code == 404 for r in responses if r not in approved)


async def test_a_code_stops_working_when_it_expires(
    client: Client, vendors: Vendors, redis: Redis | RedisCluster
) -> None:
    """TTLs are at least 30 s by contract; the store test covers real expiry with a short TTL.

    Here the verification's TTL is shortened in Redis itself, the way time passing would leave it.
    """
    vid = (await send(client)).json()["id"]
    code = vendors.last_code()
    tag = "{" + NUMBER + "}"
    await redis.hset(f"otp:{tag}:vf:{vid}", "expires_ms", 1)
    await redis.pexpire(f"otp:{tag}:cur", 1)
    await asyncio.sleep(0.05)
    assert_problem(await check(client, code), 404, "not_found")
    status = (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()
    assert status["status"] == "expired"
