"""Redis outages: a restart, a cluster master failover, a Redis that stalls (``DEBUG SLEEP``).

Through all of them the service must never lose a pending verification that Redis kept, never
approve a wrong code and never answer 500: requests that need Redis get a clear
``503 store_unavailable`` promptly (``OTP_REDIS_TIMEOUT_S=0.5`` here), ``/health/live`` keeps
answering at once, and the same app instance serves normally again once Redis is back.
The restart and stall tests run on a single Redis and on a 3-master Redis Cluster.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.api.helpers import NUMBER, assert_problem, check, patch_settings, send, wrong
from tests.cluster import RedisClusterProcess
from tests.conftest import ADMIN, CLIENT, Vendors, build_app, code_in, make_settings
from tests.fakes.gatum import FakeGatum
from tests.scale.backends import (
    PROMPT_S,
    ROOMY,
    STALL_S,
    TIMEOUT_S,
    Backend,
    assert_live_is_fast,
    poll_until,
    stall,
    timed,
)
from tests.scale.procs import Service, VendorThread, service_env

# --- restart ---------------------------------------------------------------------------------------


async def test_a_redis_restart_keeps_the_pending_verification_and_the_app_recovers_without_restart(
    backend: Backend, vendors: Vendors
) -> None:
    settings = make_settings(OTP_REDIS_URL=backend.url, OTP_REDIS_TIMEOUT_S=str(TIMEOUT_S))
    async with AsyncTestClient(build_app(settings, vendors)) as client:
        vid = (await send(client)).json()["id"]
        code = vendors.last_code()
        assert (await check(client, wrong(code))).json()["attempts_left"] == 4

        backend.stop()  # every node, for a cluster
        assert (await client.get("/health/ready")).status_code == 503
        await assert_live_is_fast(client)
        for response in (
            await check(client, code),  # neither approved nor lost
            await check(client, wrong(code)),
            await send(client, "+34600100401"),
            await client.get(f"/v1/verifications/{vid}", headers=CLIENT),
        ):
            assert_problem(response, 503, "store_unavailable")

        backend.start()

        async def ready() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        await poll_until("/health/ready after the restart", ready, timeout_s=10)
        status = (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()
        assert status["status"] == "pending"
        assert status["attempts_left"] == 4  # the checks refused while Redis was down cost nothing
        again = (await check(client, wrong(code))).json()
        assert (again["valid"], again["attempts_left"]) == (False, 3)
        approved = (await check(client, code)).json()
        assert approved == {"id": vid, "to": NUMBER, "status": "approved", "valid": True}
        assert (await send(client, "+34600100401")).status_code == 201


# --- cluster failover -----------------------------------------------------------------------------


@pytest.fixture
def cluster_with_replicas() -> Iterator[RedisClusterProcess]:
    with RedisClusterProcess(masters=3, replicas=1, node_timeout_ms=1000) as cluster:
        yield cluster


async def test_a_cluster_master_failover_keeps_the_pending_verification_with_503s_not_500s_meanwhile(
    cluster_with_replicas: RedisClusterProcess, vendors: Vendors
) -> None:
    cluster = cluster_with_replicas
    settings = make_settings(OTP_REDIS_URL=cluster.url, OTP_REDIS_TIMEOUT_S=str(TIMEOUT_S))
    async with AsyncTestClient(build_app(settings, vendors)) as client:
        await patch_settings(client, ip_limit=ROOMY, resend_cooldown_seconds=0)
        vid = (await send(client)).json()["id"]
        code = vendors.last_code()
        assert (await check(client, wrong(code))).json()["attempts_left"] == 4

        # The master holding the number's keys, and its replica. The replication stream is ordered,
        # so once WAIT says our own later write reached the replica, the app's writes did too.
        master = cluster.master_for(f"otp:{{{NUMBER}}}:cur")
        (replica,) = cluster.replicas_of(master)
        with cluster.client(master) as r:
            r.set(f"otp:{{{NUMBER}}}:probe", "1", px=60_000)
            assert r.execute_command("WAIT", 1, 2000) == 1
        assert master.proc is not None
        master.proc.kill()  # a crash, not a shutdown
        master.proc.wait(timeout=5)

        seen: list[int] = []
        others = iter(f"+346001004{i:02d}" for i in range(10, 100))

        async def serving_again() -> bool:
            await assert_live_is_fast(client)
            status = await client.get(f"/v1/verifications/{vid}", headers=CLIENT)
            sent = await send(client, next(others))
            seen.extend([status.status_code, sent.status_code])
            for response in (status, sent):
                if response.status_code == 503:
                    assert_problem(response, 503, "store_unavailable")
            return status.status_code == 200 and sent.status_code == 201

        await poll_until("the replica to take over", serving_again, timeout_s=20)
        assert 503 in seen  # the outage was visible, and clear ...
        assert set(seen) <= {200, 201, 503}, seen  # ... and never a 500
        assert cluster.master_for(f"otp:{{{NUMBER}}}:cur") is replica

        status = (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()
        assert (status["status"], status["attempts_left"]) == ("pending", 4)
        again = (await check(client, wrong(code))).json()
        assert (again["valid"], again["attempts_left"]) == (False, 3)
        assert (await check(client, code)).json()["status"] == "approved"
        assert (await client.get("/health/ready")).status_code == 200


# --- a Redis that stalls ----------------------------------------------------------------------------


async def test_a_stalled_redis_gives_prompt_503s_never_approves_a_wrong_code_and_health_live_stays_fast(
    backend: Backend, tmp_path: Path
) -> None:
    """Against a real ``otp-service serve`` process, so that /health/live times the service's own
    event loop, not a server thread sharing this test's interpreter lock with twenty client requests."""
    with VendorThread(FakeGatum()) as vendor:
        env = service_env(backend.url, gatum_url=vendor.url, OTP_REDIS_TIMEOUT_S=str(TIMEOUT_S))
        service = Service(env, workdir=tmp_path / "service")
        try:
            service.start()
            async with httpx.AsyncClient(base_url=service.url, headers=CLIENT, timeout=10) as http:
                await a_stall_and_after(http, service.url, backend, vendor)
        finally:
            service.stop()
    assert "Traceback" not in service.log(), service.log()


async def a_stall_and_after(http: httpx.AsyncClient, url: str, backend: Backend, vendor: VendorThread) -> None:
    await http.patch("/v1/admin/settings", json={"ip_limit": ROOMY}, headers=ADMIN)
    vid = (await http.post("/v1/verifications", json={"to": NUMBER})).json()["id"]
    code = code_in(vendor.app.fake.messages[-1]["text"])
    await asyncio.sleep(0.6)  # the cached live settings are stale: requests must read them again

    # The liveness prober has its own connection, made beforehand, as a monitoring agent keeps one.
    async with httpx.AsyncClient(base_url=url, timeout=10) as prober:
        assert (await prober.get("/health/live")).status_code == 200
        asleep = await stall([m.port for m in backend.masters], STALL_S)
        await while_stalled(http, prober, vid, code)

    await asleep  # Redis is back: the same process serves, the verification is still there

    async def given_back() -> bool:  # every check answered 503, so none may cost an attempt
        status = (await http.get(f"/v1/verifications/{vid}")).json()
        assert status["status"] == "pending"
        return bool(status["attempts_left"] == 5)

    await poll_until("the stalled checks' attempts to be given back", given_back, timeout_s=20, interval_s=0.25)
    rejected = await http.post("/v1/verifications/check", json={"to": NUMBER, "code": wrong(code)})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["valid"] is False
    approved = await http.post("/v1/verifications/check", json={"to": NUMBER, "code": code})
    assert approved.json() == {"id": vid, "to": NUMBER, "status": "approved", "valid": True}
    assert (await http.post("/v1/verifications", json={"to": "+34600100403"})).status_code == 201
    assert (await http.get("/health/ready")).status_code == 200


async def while_stalled(http: httpx.AsyncClient, prober: httpx.AsyncClient, vid: str, code: str) -> None:
    """Every request that needs Redis answers 503 within about one store deadline; liveness at once."""
    started = time.monotonic()

    async def live_while_stalled() -> list[float]:
        times = []
        while time.monotonic() - started < 1.5:
            response, elapsed = await timed(prober.get("/health/live"))
            assert response.status_code == 200
            times.append(elapsed)
            await asyncio.sleep(0.05)
        return times

    async def later(delay_s: float, request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
        await asyncio.sleep(delay_s)
        return await timed(request)

    requests = [later(0, http.get("/health/ready"))]
    # Many at once, in two waves: the second finds the first's timeouts behind it (closed
    # connections, a cluster topology to re-read). None may wait for another's timeout.
    for i, delay_s in enumerate((0, 0, 0.6, 0.6)):
        requests += [
            later(delay_s, http.post("/v1/verifications/check", json={"to": NUMBER, "code": wrong(code)})),
            later(delay_s, http.post("/v1/verifications/check", json={"id": vid, "code": wrong(code)})),
            later(delay_s, http.post("/v1/verifications/check", json={"to": NUMBER, "code": code})),
            later(delay_s, http.post("/v1/verifications", json={"to": f"+3460010041{i}"})),
            later(delay_s, http.get(f"/v1/verifications/{vid}")),
        ]
    watching = asyncio.create_task(live_while_stalled())
    answered = await asyncio.gather(*requests)
    live_times = await watching
    assert time.monotonic() - started < STALL_S  # all answered while Redis still slept
    for response, elapsed in answered:
        path = response.request.url.path
        assert response.status_code == 503, f"{path}: {response.text}"
        assert elapsed < PROMPT_S, f"{path} took {elapsed:.2f} s"
    for response, _ in answered[1:]:
        assert_problem(response, 503, "store_unavailable")
    assert_loop_never_waited_on_redis(live_times)


def assert_loop_never_waited_on_redis(live_times: list[float]) -> None:
    """An event loop that waited on the stalled Redis would hold liveness for a socket timeout (0.5 s)
    or the whole stall."""
    assert len(live_times) >= 10, live_times  # the prober kept going through the stall
    assert max(live_times) < 0.25, live_times


async def test_a_guess_costs_at_most_one_attempt_when_redis_stalls_just_past_the_timeout(
    backend: Backend, vendors: Vendors
) -> None:
    """A command that timed out still runs when Redis wakes up: re-sending it would run the script twice."""
    settings = make_settings(OTP_REDIS_URL=backend.url, OTP_REDIS_TIMEOUT_S=str(TIMEOUT_S), OTP_SETTINGS_CACHE_S="1")
    async with AsyncTestClient(build_app(settings, vendors)) as client:
        vid = (await send(client)).json()["id"]
        code = vendors.last_code()
        # Settings cached (a number with nothing pending costs nothing): the check goes ...
        assert_problem(await check(client, code, to="+34600100999"), 404, "not_found")
        asleep = await stall([m.port for m in backend.masters], 0.8)  # ... straight to the check's scripts
        guess = await check(client, wrong(code))
        await asleep
        if guess.status_code == 200:
            assert (guess.json()["valid"], guess.json()["attempts_left"]) == (False, 4)
            expected = 4
        else:
            assert_problem(guess, 503, "store_unavailable")
            expected = 5  # a 503 costs nothing: the late charge is given back

        async def settled() -> bool:
            status = (await client.get(f"/v1/verifications/{vid}", headers=CLIENT)).json()
            assert status["status"] == "pending"
            assert status["attempts_left"] >= 4  # one guess, at most one attempt
            return bool(status["attempts_left"] == expected)

        await poll_until(f"attempts_left {expected}", settled, timeout_s=10)
        # The stall may have caught the check's charge (the end user's slot with the attempt) or its
        # settlement: the give-back then runs in the background; it must finish, and change nothing,
        # before the app stops.
        releases = client.app.state.otp_service.releases  # the app runs on the test client's own loop

        async def given_back() -> bool:
            return releases.pending == 0 and await settled()

        await poll_until("the background give-backs", given_back, timeout_s=10)
