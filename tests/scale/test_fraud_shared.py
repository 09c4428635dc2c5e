"""Two real ``otp-service serve`` processes on one Redis share the fraud guard's counters exactly: a
budget of N lets exactly N SMS through across both, and a range held by one is held for the other.

Real sends to Gatum's fake on a loopback socket (test numbers skip the guard), fired at both
processes at once, alternating (process ``a`` runs two workers: three event loops race).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_sync

from otp_service.devredis import RedisProcess
from tests.conftest import ADMIN, CLIENT
from tests.fakes.gatum import FakeGatum
from tests.scale.procs import Service, VendorThread, service_env

BUDGET = 7
NUMBERS = [f"+346{i:03d}00100" for i in range(40)]  # each in a range of its own
RANGE = [f"+34600100{i:03d}" for i in range(60)]  # one range: +34600100


class Shared:
    def __init__(self, redis: RedisProcess, vendor: VendorThread, a: Service, b: Service) -> None:
        self.redis, self.vendor, self.a, self.b = redis, vendor, a, b


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    workdir: Path = tmp_path_factory.mktemp("fraud")
    redis = RedisProcess(data_dir=workdir / "redis")
    with VendorThread(FakeGatum()) as vendor:
        env = service_env(redis.url, gatum_url=vendor.url, OTP_SETTINGS_CACHE_S="0")
        a = Service(env, workdir=workdir, workers=2, name="a")
        b = Service(env, workdir=workdir, workers=1, name="b")
        try:
            redis.start()
            a.launch()
            b.launch()
            a.wait_ready()
            b.wait_ready()
            yield Shared(redis, vendor, a, b)
        finally:
            a.stop()
            b.stop()
            redis.stop()


@pytest.fixture
async def both(shared: Shared) -> AsyncIterator[list[httpx.AsyncClient]]:
    with redis_sync.Redis(port=shared.redis.port) as r:
        r.flushall()
    shared.vendor.app.fake.messages.clear()
    async with (
        httpx.AsyncClient(base_url=shared.a.url, headers=CLIENT, timeout=10) as a,
        httpx.AsyncClient(base_url=shared.b.url, headers=CLIENT, timeout=10) as b,
    ):
        yield [a, b]


async def _configure(clients: list[httpx.AsyncClient], **changes: Any) -> None:
    response = await clients[0].patch("/v1/admin/settings", json=changes, headers=ADMIN)
    assert response.status_code == 200, response.text


async def _send_all(clients: list[httpx.AsyncClient], numbers: list[str]) -> list[httpx.Response]:
    return list(
        await asyncio.gather(*(clients[i % 2].post("/v1/verifications", json={"to": n}) for i, n in enumerate(numbers)))
    )


async def test_a_budget_of_n_lets_exactly_n_sms_through_across_two_processes(
    both: list[httpx.AsyncClient], shared: Shared
) -> None:
    await _configure(both, sms_budget={"per_hour": BUDGET})
    responses = await _send_all(both, NUMBERS)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * BUDGET + [429] * (len(NUMBERS) - BUDGET), [r.text for r in responses]
    assert {r.json()["limit"] for r in responses if r.status_code == 429} == {"sms_budget.per_hour"}
    assert len(shared.vendor.app.fake.messages) == BUDGET
    budgets = (await both[1].get("/v1/admin/budgets", headers=ADMIN)).json()
    assert next(b for b in budgets if b["name"] == "sms_budget.per_hour")["used"] == BUDGET


async def test_a_range_is_held_after_exactly_min_sends_across_two_processes(
    both: list[httpx.AsyncClient], shared: Shared
) -> None:
    await _configure(both, send_limit={"count": 100, "window_seconds": 600})
    responses = await _send_all(both, RANGE)
    sent = [r for r in responses if r.status_code == 201]
    assert len(sent) == 19, [r.text for r in responses if r.status_code != 201][:3]
    assert all(r.json()["limit"] == "conversion_guard" for r in responses if r.status_code == 429)
    for client in both:
        held = (await client.get("/v1/admin/holds", headers=ADMIN)).json()
        assert [h["prefix"] for h in held] == ["+34600100"]
