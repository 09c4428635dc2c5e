"""``otp-service serve`` as a real process: its metrics folder goes away with it, ``/metrics`` can move
to its own port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from otp_service.devredis import RedisProcess, free_port
from otp_service.metrics_export import OWNER, PREFIX
from tests.processes import connections_held, descendants, listening_sockets_on
from tests.scale.procs import Service, service_env


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with RedisProcess(data_dir=tmp_path_factory.mktemp("redis")) as server:
        yield server.url


def serve(redis_url: str, workdir: Path, workers: int, **overrides: str) -> Service:
    """A service whose temporary folders land in ``workdir/tmp``, where the test can look."""
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    service = Service(
        service_env(redis_url, TMPDIR=str(workdir / "tmp"), **overrides), workdir=workdir, workers=workers
    )
    service.env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # let `serve` make its own, as in production
    return service


def metrics_folders(workdir: Path) -> list[Path]:
    return sorted((workdir / "tmp").glob(PREFIX + "*"))


def test_a_multi_worker_run_removes_its_metrics_folder_at_sigterm_and_dead_runs_folders_at_start(
    redis_url: str, tmp_path: Path
) -> None:
    # Left by earlier runs: one killed (its owner is gone), one still running, one not ours.
    gone = subprocess.Popen(["true"])  # a pid that is surely gone: one we just reaped
    gone.wait()
    root = tmp_path / "tmp"
    root.mkdir()
    crashed, running, foreign = root / f"{PREFIX}crashed", root / f"{PREFIX}running", root / f"{PREFIX}foreign"
    for folder in (crashed, running, foreign):
        folder.mkdir()
    (crashed / OWNER).write_text(str(gone.pid))
    (running / OWNER).write_text(str(os.getpid()))  # this test process: alive
    service = serve(redis_url, tmp_path, workers=2)
    try:
        service.start()
        [own] = [folder for folder in metrics_folders(tmp_path) if folder not in (running, foreign)]
        assert metrics_folders(tmp_path) == sorted([own, running, foreign])  # the crashed run's is gone
        assert (own / OWNER).read_text() == str(service.pid)
        httpx.get(service.url + "/metrics", timeout=5)  # the workers write their files there
        assert list(own.glob("*.db"))
        service.signal(signal.SIGTERM)  # the parent only, as a process manager does
        assert service.wait(timeout_s=30) == 0
        assert metrics_folders(tmp_path) == sorted([running, foreign])
    finally:
        service.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_metrics_port_serves_metrics_and_the_public_port_does_not(
    redis_url: str, tmp_path: Path, workers: int
) -> None:
    metrics_port = free_port()
    service = serve(redis_url, tmp_path, workers=workers, OTP_METRICS_PORT=str(metrics_port))
    try:
        service.start()
        with httpx.Client(timeout=5) as client:
            for _ in range(4):  # requests the HTTP metrics count (unauthorised: no SMS involved)
                assert client.post(service.url + "/v1/verifications", json={}).status_code == 401
            assert client.get(service.url + "/metrics").status_code == 404
            scraped = client.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.status_code == 200
        counted = [
            line
            for line in scraped.text.splitlines()
            if line.startswith("otp_http_requests_total{") and 'status_code="401"' in line
        ]
        assert counted and sum(float(line.rsplit(" ", 1)[1]) for line in counted) == 4
    finally:
        service.stop()


def test_connections_opened_at_once_are_spread_over_every_worker(redis_url: str, tmp_path: Path) -> None:
    """Each worker listens on its own socket (SO_REUSEPORT), so a burst of keep-alive connections is not
    taken by whichever worker wakes first (one worker held 32 of 32 with uvicorn's shared socket)."""
    service = serve(redis_url, tmp_path, workers=2)
    service.start()
    try:
        deadline = time.monotonic() + 20
        while listening_sockets_on(service.port) < 2 and time.monotonic() < deadline:  # the second may start later
            time.sleep(0.05)
        assert listening_sockets_on(service.port) == 2
        with contextlib.ExitStack() as stack:
            sockets = [stack.enter_context(socket.create_connection(("127.0.0.1", service.port))) for _ in range(32)]
            for sock in sockets:  # a request on each, so each connection is accepted and held
                sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            for sock in sockets:
                assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            split = sorted(c for c in connections_held(service.port, descendants(service.pid)) if c)
        assert len(split) == 2 and sum(split) == 32
        assert min(split) >= 6, split  # the kernel hashes by address: even-ish, never all on one worker
    finally:
        service.stop()
