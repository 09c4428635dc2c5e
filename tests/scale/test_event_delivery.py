"""Outbound events across real service processes: a replica killed in the middle of a delivery.

Replica ``a`` is the only one delivering when the receiver takes its first event and hangs; ``b``
starts, ``a`` is killed with SIGKILL (no shutdown, no settle), and the receiver answers again. ``b``
must deliver that event (its lease runs out: 2 x the 2 s timeout + 1 s) and every later one, in order.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from otp_service.devredis import RedisProcess
from tests.conftest import ADMIN, CLIENT
from tests.events_receiver import Receiver
from tests.scale.procs import Service, service_env

NUMBER = "+34600100400"
CODE = "424242"
LIFE = ["verification.created", "verification.delivery_updated", "verification.approved"]


def test_killing_the_replica_that_holds_an_event_mid_delivery_loses_nothing(tmp_path: Path) -> None:
    redis = RedisProcess(data_dir=tmp_path / "redis")
    receiver = Receiver().up()
    receiver.mode, receiver.hang_s = "hang", 120.0
    env = service_env(
        redis.url,
        OTP_TEST_NUMBERS="enabled",
        OTP_SETTINGS_CACHE_S="0",
        OTP_EVENTS_TIMEOUT_S="2",
        OTP_EVENTS_POLL_S="0.05",
        OTP_EVENTS_FIRST_RETRY_S="0.1",
        OTP_EVENTS_MAX_RETRY_S="0.5",
        OTP_EVENTS_CLAIM_AFTER_S="1",
    )
    a = Service(env, workdir=tmp_path, name="a")
    b = Service(env, workdir=tmp_path, name="b")
    try:
        redis.start()
        a.start()
        with httpx.Client(base_url=a.url, timeout=10) as http:
            assert http.patch("/v1/admin/settings", json={"test_numbers": {NUMBER: CODE}}, headers=ADMIN).is_success
            created = http.post("/v1/admin/apps/web/event-endpoints", json={"url": receiver.url}, headers=ADMIN)
            secret = created.json()["secret"]
            vid = http.post("/v1/verifications", json={"to": NUMBER}, headers=CLIENT).json()["id"]
        receiver.wait_for(lambda: receiver._count >= 1)  # a holds the first event, mid-delivery
        b.launch()
        os.killpg(a.pid, signal.SIGKILL)
        receiver.mode = "ok"
        b.wait_ready()
        with httpx.Client(base_url=b.url, timeout=10) as http:
            check = http.post("/v1/verifications/check", json={"to": NUMBER, "code": CODE}, headers=CLIENT)
            assert check.json()["valid"] is True
        receiver.wait_for(lambda: len(receiver.types_for(vid)) >= 3, timeout_s=30)
        assert receiver.types_for(vid) == LIFE
        assert len(receiver.verified(secret)) >= 3
    finally:
        a.stop()
        b.stop()
        receiver.down()
        redis.stop()
