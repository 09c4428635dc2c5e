"""``otp-service serve`` and ``otp-service dev`` as real processes: the header cap and the per-IP identity
hold under the server and settings the commands really run with (uvicorn with httptools)."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from otp_service.devredis import RedisProcess
from tests.conftest import ADMIN_TOKEN, API_KEY
from tests.processes import clean_env
from tests.scale.procs import Service, service_env

CLIENT = {"Authorization": f"Bearer {API_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with RedisProcess(data_dir=tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="module")
def served(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = Service(service_env(redis_url), workdir=tmp_path_factory.mktemp("serve"))
    try:
        yield service.start()
    finally:
        service.stop()


def assert_431(response: httpx.Response) -> None:
    assert response.status_code == 431, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("size", [16 * 1024 + 1, 8 * 1024 * 1024], ids=["16KiB+1", "8MB"])
def test_serve_refuses_request_headers_above_16_kib_with_431(served: Service, size: int) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        assert_431(http.post("/v1/verifications", json={"to": "+34600100200"}, headers={**CLIENT, "x-pad": "a" * size}))
        spread = {f"x-pad-{i}": "a" * 1024 for i in range(16)}  # many headers count together
        assert_431(http.get("/health/live", headers=spread))
        assert http.get("/health/live", headers={"x-pad": "a" * (15 * 1024)}).status_code == 200


def test_serve_answers_431_before_an_oversized_head_has_even_ended(served: Service) -> None:
    # The head never ends (no blank line): a server that buffers it would wait; ours answers and closes.
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as raw:
        raw.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Pad: ")
        with contextlib.suppress(OSError):  # the server closes once it has answered
            for _ in range(32):  # up to 2 MiB, in pieces
                raw.sendall(b"a" * (64 * 1024))
                time.sleep(0.01)
        reply = b""
        while chunk := raw.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431"), reply[:200]
    assert b"content-type: application/problem+json" in head.lower()
    assert json.loads(body)["code"] == "validation_error"


def test_dev_does_not_let_x_forwarded_for_pick_the_per_ip_identity(redis_url: str, tmp_path: Path) -> None:
    env = clean_env()
    env.update(
        {
            "OTP_REDIS_URL": redis_url,
            # A public key: only those are limited by the caller's own address (a backend key is not).
            "OTP_API_KEYS": f"web:{API_KEY}:public",
            "OTP_ADMIN_TOKEN": ADMIN_TOKEN,
            "OTP_SETTINGS_CACHE_S": "0",
            "OTP_LOG_LEVEL": "WARNING",
        }
    )
    service = Service(env, workdir=tmp_path, command="dev", name="dev")
    try:
        service.start()
        with httpx.Client(base_url=service.url, timeout=10) as http:
            limit = {"ip_limit": {"count": 2, "window_seconds": 600}}
            assert http.patch("/v1/admin/settings", json=limit, headers=ADMIN).status_code == 200
            answers = [
                http.post(
                    "/v1/verifications",
                    json={"to": f"+3460010020{i}"},
                    headers={**CLIENT, "X-Forwarded-For": f"203.0.113.{i}"},
                )
                for i in range(3)
            ]
        assert [a.status_code for a in answers] == [201, 201, 429], [a.text for a in answers]
        assert answers[2].json()["code"] == "rate_limited"
    finally:
        service.stop()
