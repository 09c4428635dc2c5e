"""A 503 ``store_unavailable`` costs nothing and leaves nothing behind, and readiness tells a Redis
that cannot serve a request (a cluster in ``cluster_state:fail``) from one that answers PING.

The stop test sends SIGSTOP to the Redis that holds the number (a cluster master on the cluster),
so the requests' scripts wait in its socket buffers and run after SIGCONT, when the service has
already answered 503: what they charged must be given back.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
from litestar.testing import AsyncTestClient

from tests.api.helpers import NUMBER, assert_problem, send, wrong
from tests.cluster import RedisClusterProcess
from tests.conftest import ADMIN, CLIENT, Vendors, build_app, code_in, make_settings
from tests.fakes.gatum import FakeGatum
from tests.scale.backends import ROOMY, TIMEOUT_S, Backend, node_for, poll_until
from tests.scale.procs import Service, VendorThread, service_env


def what_is_left(backend: Backend, vid: str) -> dict[str, object]:
    """What a number's charges left in Redis: send-window slots, the in-flight lock, failed-check
    slots and the attempts left, read on the node that holds them."""
    with RedisClusterProcess.client(node_for(backend, f"otp:{{{NUMBER}}}:cur")) as r:
        return {
            "sends": r.zcard(f"otp:{{{NUMBER}}}:sends"),
            "lock": r.exists(f"otp:{{{NUMBER}}}:sending"),
            "fails": r.zcard(f"otp:{{{NUMBER}}}:fails"),
            "attempts_left": r.hget(f"otp:{{{NUMBER}}}:vf:{vid}", "attempts_left"),
        }


async def test_a_503_while_redis_is_stopped_costs_nothing_and_leaves_nothing_behind(
    backend: Backend, tmp_path: Path
) -> None:
    """SIGSTOP of the Redis holding the number: a check and a resend reach it and answer 503. Their
    scripts wait in its socket buffers and run after SIGCONT; the service gives back what they took."""
    with VendorThread(FakeGatum()) as vendor:
        env = service_env(
            backend.url, gatum_url=vendor.url, OTP_REDIS_TIMEOUT_S=str(TIMEOUT_S), OTP_SETTINGS_CACHE_S="1"
        )
        service = Service(env, workdir=tmp_path / "service")
        try:
            service.start()
            async with httpx.AsyncClient(base_url=service.url, headers=CLIENT, timeout=10) as http:
                await a_stop_that_costs_nothing(http, backend, vendor)
        finally:
            service.stop()
    assert "Traceback" not in service.log(), service.log()


async def a_stop_that_costs_nothing(http: httpx.AsyncClient, backend: Backend, vendor: VendorThread) -> None:
    changes = {"resend_cooldown_seconds": 0, "ip_limit": ROOMY}
    assert (await http.patch("/v1/admin/settings", json=changes, headers=ADMIN)).status_code == 200
    # With an Idempotency-Key, so that every script below is loaded in Redis: a script's first
    # EVALSHA fails on a Redis that has not seen it (NOSCRIPT), which would test nothing.
    first = await http.post("/v1/verifications", json={"to": NUMBER}, headers={"Idempotency-Key": "first"})
    vid = first.json()["id"]
    code = code_in(vendor.app.fake.messages[-1]["text"])
    # Connections to the number's Redis for every request below, made now: a connection made during
    # the stop would wait on its handshake and never send the script this test is about.
    for _ in range(3):
        await asyncio.gather(*(http.get(f"/v1/verifications/{vid}") for _ in range(8)))
    await asyncio.sleep(1.1)  # the settings cache turns over: the warm-up below reads them again
    warm = await http.post("/v1/verifications/check", json={"to": NUMBER, "code": wrong(code)})
    assert warm.json()["attempts_left"] == 4  # settings cached: the requests below go straight to the scripts
    before = what_is_left(backend, vid)
    assert before == {"sends": 1, "lock": 0, "fails": 1, "attempts_left": "4"}

    proc = node_for(backend, f"otp:{{{NUMBER}}}:cur").proc
    assert proc is not None
    proc.send_signal(signal.SIGSTOP)
    try:
        guess, resend, keyed = await asyncio.gather(
            http.post("/v1/verifications/check", json={"to": NUMBER, "code": wrong(code)}),
            http.post("/v1/verifications", json={"to": NUMBER}),
            http.post("/v1/verifications", json={"to": NUMBER}, headers={"Idempotency-Key": "stalled-1"}),
        )
        for response in (guess, resend, keyed):
            assert_problem(response, 503, "store_unavailable")
    finally:
        proc.send_signal(signal.SIGCONT)

    async def given_back() -> bool:
        return what_is_left(backend, vid) == before

    await poll_until("the 503s' charges to be given back", given_back, timeout_s=20, interval_s=0.25)
    await asyncio.sleep(1.0)  # and nothing lands later
    assert what_is_left(backend, vid) == before
    assert len(vendor.app.fake.messages) == 1  # the refused resend sent nothing

    again = await http.post("/v1/verifications/check", json={"to": NUMBER, "code": wrong(code)})
    assert (again.json()["valid"], again.json()["attempts_left"]) == (False, 3)
    resent = await http.post("/v1/verifications", json={"to": NUMBER})
    assert resent.status_code == 201, resent.text  # not 429 "busy": no lock was left behind
    assert len(vendor.app.fake.messages) == 2
    retried = await http.post("/v1/verifications", json={"to": NUMBER}, headers={"Idempotency-Key": "stalled-1"})
    assert retried.status_code == 201, retried.text  # not 409: the key's claim was given back too
    assert len(vendor.app.fake.messages) == 3


# --- readiness -----------------------------------------------------------------------------------


async def test_ready_is_503_while_the_cluster_refuses_every_keyed_command(vendors: Vendors) -> None:
    """With two of three masters gone the survivor still answers PING but refuses every key
    (``cluster_state:fail``): the service cannot serve a request, so it is not ready."""
    with RedisClusterProcess(masters=3, node_timeout_ms=500) as cluster:
        # The events worker off: its rounds against the dead masters would only add redis-py
        # connections cut mid-connect by the deadline (closed by the GC, after this test's loop).
        settings = make_settings(OTP_REDIS_URL=cluster.url, OTP_REDIS_TIMEOUT_S=str(TIMEOUT_S), OTP_EVENTS_WORKER="off")
        async with AsyncTestClient(build_app(settings, vendors)) as client:
            assert (await client.get("/health/ready")).status_code == 200
            survivor, *gone = cluster.masters
            for master in gone:
                assert master.proc is not None
                master.proc.kill()
                master.proc.wait(timeout=5)

            async def cluster_failed() -> bool:
                return cluster.info(survivor).get("cluster_state") == "fail"

            await poll_until("cluster_state:fail", cluster_failed, timeout_s=15)
            with cluster.client(survivor) as r:
                assert r.ping()  # what readiness used to ask
            ready = await client.get("/health/ready")
            assert ready.status_code == 503, ready.text
            assert_problem(await send(client), 503, "store_unavailable")
