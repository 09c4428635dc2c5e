"""Replicas share every limit exactly: two real ``otp-service serve`` processes on one Redis.

Process ``a`` runs ``--workers 2``, process ``b`` one worker, so three event loops in three OS
processes race for the same Redis keys. Each test fires its requests at both at once (alternating)
and counts what came back: a limit or budget that two replicas enforce with local state, or with a
read-then-write instead of one atomic script, lets more through than the settings allow.
Codes come from the ``test_numbers`` setting (``OTP_TEST_NUMBERS=enabled``): nothing is sent, but
every limit is applied exactly as for a real send (limits come first).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis as redis_sync

from tests.api.helpers import wrong
from tests.conftest import ADMIN, CLIENT, MOBILE
from tests.scale.conftest import Pair

NUMBER = "+34600100300"
NUMBERS = [f"+346001003{i:02d}" for i in range(1, 31)]
CODE = "424242"

Clients = list[httpx.AsyncClient]


@pytest.fixture
async def both(pair: Pair) -> AsyncIterator[Clients]:
    """A client for each process, on an empty Redis."""
    with redis_sync.Redis(port=pair.redis.port) as r:
        r.flushall()
    async with (
        httpx.AsyncClient(base_url=pair.a.url, headers=CLIENT, timeout=10) as a,
        httpx.AsyncClient(base_url=pair.b.url, headers=CLIENT, timeout=10) as b,
    ):
        yield [a, b]


async def configure(clients: Clients, **changes: Any) -> None:
    response = await clients[0].patch("/v1/admin/settings", json=changes, headers=ADMIN)
    assert response.status_code == 200, response.text
    seen = (await clients[1].get("/v1/admin/settings", headers=ADMIN)).json()  # the other process reads it too
    assert all(seen[key] == value for key, value in changes.items() if key != "test_numbers")


async def at_once(
    clients: Clients, n: int, request: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
) -> list[httpx.Response]:
    """``n`` requests in flight together, alternating between the two processes."""
    return list(await asyncio.gather(*(request(clients[i % 2], i) for i in range(n))))


# One end user firing many checks at once: attempts are under test here, not the failed-check budgets.
ONE_USER_AT_ONCE = {
    "check_limit": {"count": 1000, "window_seconds": 3600},
    "source_check_limit": {"count": 1000, "window_seconds": 3600},
}


def send_to(number: str) -> Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]:
    return lambda http, _i: http.post("/v1/verifications", json={"to": number})


def check_code(code: str) -> Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]:
    return lambda http, _i: http.post("/v1/verifications/check", json={"to": NUMBER, "code": code})


def codes(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


async def test_two_processes_never_exceed_the_per_number_send_limit(both: Clients) -> None:
    await configure(
        both, resend_cooldown_seconds=0, send_limit={"count": 3, "window_seconds": 600}, test_numbers={NUMBER: CODE}
    )
    created = 0
    for _ in range(10):  # waves of concurrent sends until the window refuses everything
        responses = await at_once(both, 8, send_to(NUMBER))
        assert set(codes(responses)) <= {201, 429}, [r.text for r in responses]
        created += codes(responses).count(201)
        # A full window answers with the time until its oldest send leaves it (~600 s); an in-flight
        # send to the same number answers "busy" with a few seconds.
        if all(r.status_code == 429 and int(r.headers["Retry-After"]) > 60 for r in responses):
            break
    else:
        raise AssertionError("the per-number window never filled up")
    assert created == 3


@pytest.mark.parametrize("limit", ["client_limit", "ip_limit"])
async def test_two_processes_never_exceed_the_per_client_or_per_ip_send_limit(both: Clients, limit: str) -> None:
    roomy = {"count": 1000, "window_seconds": 600}
    windows = {"client_limit": roomy, "ip_limit": roomy, limit: {"count": 5, "window_seconds": 600}}
    await configure(both, **windows, test_numbers={n: CODE for n in NUMBERS})
    user = {"end_user_ip": "203.0.113.7"}  # one end user behind the backend key

    def send(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        return http.post("/v1/verifications", json={"to": NUMBERS[i], **user})

    responses = await at_once(both, len(NUMBERS), send)
    assert codes(responses) == [201] * 5 + [429] * (len(NUMBERS) - 5), [r.text for r in responses]
    assert all(r.json()["code"] == "rate_limited" for r in responses if r.status_code == 429)
    other_client = await both[1].post("/v1/verifications", json={"to": NUMBERS[-1], **user}, headers=MOBILE)
    if limit == "client_limit":  # the window is per app: another app still has its own
        assert other_client.status_code == 201, other_client.text
    else:  # the window is per end-user address: the same address is refused whatever the key
        assert other_client.status_code == 429


async def test_two_processes_never_exceed_max_attempts(both: Clients) -> None:
    await configure(both, max_attempts=3, **ONE_USER_AT_ONCE, test_numbers={NUMBER: CODE})
    assert (await both[0].post("/v1/verifications", json={"to": NUMBER})).status_code == 201
    responses = await at_once(both, 12, check_code(wrong(CODE)))
    judged = [r for r in responses if r.status_code == 200]
    assert len(judged) == 3, [r.text for r in responses]  # exactly max_attempts guesses were evaluated
    assert codes(responses) == [200] * 3 + [404] * 9
    assert all(r.json()["valid"] is False for r in judged)
    assert any(r.json()["status"] == "max_attempts_reached" for r in judged)
    dead = await both[1].post("/v1/verifications/check", json={"to": NUMBER, "code": CODE})
    assert dead.status_code == 404  # dead for the right code too, on either process


async def test_two_processes_never_exceed_the_failed_check_budget(both: Clients) -> None:
    await configure(
        both, max_attempts=20, check_limit={"count": 4, "window_seconds": 3600}, test_numbers={NUMBER: CODE}
    )
    assert (await both[0].post("/v1/verifications", json={"to": NUMBER})).status_code == 201
    # The end user's first failure is always judged (the allowance that keeps strangers from locking
    # the owner out); from then on the number's window decides, exactly.
    assert (await check_code(wrong(CODE))(both[0], 0)).status_code == 200
    responses = await at_once(both, 12, check_code(wrong(CODE)))
    assert codes(responses) == [200] * 3 + [429] * 9, [r.text for r in responses]
    assert all(r.json()["valid"] is False for r in responses if r.status_code == 200)
    assert all(int(r.headers["Retry-After"]) > 3000 for r in responses if r.status_code == 429)
    spent = await both[1].post("/v1/verifications/check", json={"to": NUMBER, "code": CODE})
    assert spent.status_code == 429  # the budget is spent for this number, on every process


async def test_of_many_concurrent_right_checks_across_both_processes_exactly_one_wins(both: Clients) -> None:
    await configure(both, max_attempts=20, **ONE_USER_AT_ONCE, test_numbers={NUMBER: CODE})
    vid = (await both[1].post("/v1/verifications", json={"to": NUMBER})).json()["id"]
    responses = await at_once(both, 16, check_code(CODE))
    approved = [r for r in responses if r.status_code == 200]
    assert len(approved) == 1, [r.text for r in responses]
    assert approved[0].json() == {"id": vid, "to": NUMBER, "status": "approved", "valid": True}
    assert codes(responses) == [200] + [404] * 15
    status = (await both[0].get(f"/v1/verifications/{vid}")).json()
    assert status["status"] == "approved"


async def test_two_processes_keep_apps_apart_and_judge_each_strangers_first_guess_once(both: Clients) -> None:
    """Another app's key finds nothing on either process; of many concurrent guesses by one end user
    on a number whose window is full, exactly one (its allowance) is judged."""
    await configure(
        both, max_attempts=20, check_limit={"count": 1, "window_seconds": 3600}, test_numbers={NUMBER: CODE}
    )
    vid = (await both[0].post("/v1/verifications", json={"to": NUMBER})).json()["id"]
    for http in both:
        assert (await http.get(f"/v1/verifications/{vid}", headers=MOBILE)).status_code == 404
        other = await http.post("/v1/verifications/check", json={"id": vid, "code": CODE}, headers=MOBILE)
        assert other.status_code == 404
    first = {"to": NUMBER, "code": wrong(CODE), "end_user_ip": "198.51.100.1"}
    assert (await both[0].post("/v1/verifications/check", json=first)).status_code == 200  # fills the window

    def guess(http: httpx.AsyncClient, _i: int) -> Awaitable[httpx.Response]:
        return http.post("/v1/verifications/check", json={**first, "end_user_ip": "198.51.100.2"})

    responses = await at_once(both, 10, guess)
    assert codes(responses) == [200] + [429] * 9, [r.text for r in responses]
    owner = {"to": NUMBER, "code": CODE, "end_user_ip": "192.0.2.10"}
    assert (await both[1].post("/v1/verifications/check", json=owner)).json()["status"] == "approved"
