"""Start and stop what the benchmark measures: a real Redis, a vendor fake on loopback, the service.

The service runs exactly as in production: ``otp-service serve --workers N`` with ``OTP_ENV=production``,
a generated pepper, API key and admin token, Gatum as the only provider, pointed at
``python -m tests.fakes.serve gatum --delay 0.02`` (answers like a real vendor, ~20 ms). Everything
listens on 127.0.0.1 only. The service and the fake each run in their own session, so a Ctrl-C in the
terminal reaches only the benchmark, which then stops them by pid (and the service's process group,
which holds its workers).

Also here: CPU accounting from ``/proc/<pid>/stat`` (utime + stime) for a process and its descendants.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from otp_service.devredis import RedisProcess, free_port
from tests.fakes import gatum
from tests.processes import (
    REPO,
    clean_env,
    connections_held,
    descendants,
    otp_service_command,
    proc_stat,
    stop_group,
    wait_http,
)

__all__ = ("REPO", "CpuSnapshot", "Stack", "cpu_seconds", "machine_cpu")

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- /proc -------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process in seconds (0 when it is gone)."""
    fields = proc_stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def kernel_seconds(pid: int) -> float:
    """stime of one process in seconds: its system calls (sockets, futexes) and the kernel work they do."""
    fields = proc_stat(pid)
    return int(fields[12]) / CLK_TCK if fields is not None else 0.0


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user/nice
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass
class CpuSnapshot:
    at: float
    per_role: dict[str, float]
    machine_busy: float
    machine_total: float
    service_pids: list[int] = field(default_factory=list)
    service_kernel: float = 0.0  # the share of the service's CPU spent in the kernel

    def delta(self, later: CpuSnapshot) -> dict[str, Any]:
        wall = later.at - self.at
        roles = {
            role: round(later.per_role.get(role, 0.0) - self.per_role.get(role, 0.0), 3) for role in later.per_role
        }
        busy = later.machine_busy - self.machine_busy
        total = later.machine_total - self.machine_total
        return {
            "wall_s": round(wall, 3),
            "cpu_s": roles,
            "machine_busy_share": round(busy / total, 3) if total > 0 else None,
            "machine_busy_s": round(busy, 3),
            "service_pids_changed": sorted(self.service_pids) != sorted(later.service_pids),
            "service_kernel_s": round(later.service_kernel - self.service_kernel, 3),
        }


# --- the stack ---------------------------------------------------------------------------------


class Stack:
    """Redis + vendor fake + ``otp-service serve``; use as a context manager (always stopped)."""

    def __init__(
        self, *, workers: int, provider_delay_s: float, workdir: Path, service_env: dict[str, str] | None = None
    ) -> None:
        self.workers = workers
        self.service_env = dict(service_env or {})  # e.g. OTP_HASH_THREADS=2, to compare configurations
        self.provider_delay_s = provider_delay_s
        self.workdir = workdir
        self.api_key = secrets.token_urlsafe(24)
        self.admin_token = secrets.token_urlsafe(24)
        self.pepper = secrets.token_urlsafe(32)
        self.redis: RedisProcess | None = None
        self.fake: subprocess.Popen[bytes] | None = None
        self.service: subprocess.Popen[bytes] | None = None
        self.fake_port = 0
        self.port = 0
        self.service_log = workdir / "service.log"
        self.fake_log = workdir / "fake.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def fake_url(self) -> str:
        return f"http://127.0.0.1:{self.fake_port}"

    # -- start --------------------------------------------------------------------------------
    def start(self) -> Stack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.redis = RedisProcess(data_dir=self.workdir / "redis").start()
        self._start_fake()
        self._start_service()
        return self

    def _start_fake(self) -> None:
        self.fake_port = free_port()
        args = [sys.executable, "-m", "tests.fakes.serve", "gatum", "--port", str(self.fake_port)]
        args += ["--delay", str(self.provider_delay_s)]
        with self.fake_log.open("wb") as out:
            self.fake = subprocess.Popen(
                args, cwd=REPO, env=clean_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_http(self.fake, f"{self.fake_url}/__fake/messages", self.fake_log, "vendor fake")

    def _start_service(self) -> None:
        assert self.redis is not None
        self.port = free_port()
        metrics_dir = self.workdir / "prometheus"
        metrics_dir.mkdir(exist_ok=True)
        env = clean_env()
        env.update(
            {
                "OTP_ENV": "production",
                "OTP_REDIS_URL": self.redis.url,
                "OTP_PEPPER": self.pepper,
                "OTP_API_KEYS": f"bench:{self.api_key}",
                "OTP_ADMIN_TOKEN": self.admin_token,
                "OTP_PROVIDERS": "gatum",
                **gatum.env(),  # the credentials the fake accepts
                "GATUM_BASE_URL": self.fake_url,
                # What `serve` would make with mkdtemp; ours is removed with the work directory.
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            }
        )
        env.update(self.service_env)
        args = [*otp_service_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        args += ["--workers", str(self.workers)]
        with self.service_log.open("wb") as out:
            self.service = subprocess.Popen(
                args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_http(self.service, f"{self.url}/health/ready", self.service_log, "otp-service")
        deadline = time.monotonic() + 30
        # With --workers 1 uvicorn serves in the master process itself; else master + N workers.
        while len(self.service_pids()) < (1 if self.workers == 1 else self.workers + 1):
            if time.monotonic() > deadline:
                raise RuntimeError(f"otp-service did not start {self.workers} workers; see {self.service_log}")
            time.sleep(0.1)

    # -- what is running ----------------------------------------------------------------------
    def service_pids(self) -> list[int]:
        if self.service is None or self.service.poll() is not None:
            return []
        return [self.service.pid, *descendants(self.service.pid)]

    def pids_by_role(self) -> dict[str, list[int]]:
        roles = {"service": self.service_pids()}
        if self.redis is not None and self.redis.proc is not None:
            roles["redis"] = [self.redis.proc.pid]
        if self.fake is not None:
            roles["fake_provider"] = [self.fake.pid, *descendants(self.fake.pid)]
        return roles

    def connections_per_process(self) -> list[int]:
        """Established connections each service process holds on its port (load and prober), largest first.

        Each worker listens on a socket of its own (``otp_service/workers.py``, SO_REUSEPORT) and the
        kernel spreads connections over them by address; with few long-lived connections the split is
        still only roughly even.
        """
        return sorted((held for held in connections_held(self.port, self.service_pids()) if held), reverse=True)

    def cpu_snapshot(self) -> CpuSnapshot:
        roles = self.pids_by_role()
        busy, total = machine_cpu()
        return CpuSnapshot(
            at=time.monotonic(),
            per_role={role: sum(cpu_seconds(p) for p in pids) for role, pids in roles.items()},
            machine_busy=busy,
            machine_total=total,
            service_pids=roles["service"],
            service_kernel=sum(kernel_seconds(p) for p in roles["service"]),
        )

    def alive(self) -> bool:
        return bool(self.service and self.service.poll() is None and self.fake and self.fake.poll() is None)

    def admin_patch(self, patch: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        response = httpx.patch(f"{self.url}/v1/admin/settings", json=patch, headers=headers, timeout=10)
        if response.status_code != 200:
            raise RuntimeError(f"admin PATCH failed: {response.status_code} {response.text[:300]}")
        result: dict[str, Any] = response.json()
        return result

    def fake_messages(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.fake_url}/__fake/messages", timeout=60)
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()
        return messages

    def redis_commandstats(self) -> dict[str, int]:
        """Calls per Redis command since start (``INFO commandstats``), e.g. {"evalsha": 1234}."""
        assert self.redis is not None
        with socket.create_connection(("127.0.0.1", self.redis.port), timeout=2) as sock:
            sock.sendall(b"INFO commandstats\r\n")
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                header, _, rest = data.partition(b"\r\n")
                if header.startswith(b"$") and len(rest) >= int(header[1:]):
                    break
        calls: dict[str, int] = {}
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("cmdstat_"):
                name, _, stats = line.partition(":")
                for item in stats.split(","):
                    key, _, value = item.partition("=")
                    if key == "calls":
                        calls[name.removeprefix("cmdstat_")] = int(value)
        return calls

    def service_log_problems(self, limit: int = 5) -> tuple[int, list[str]]:
        """How many service log lines are warnings/errors, with the first few (for unintended errors)."""
        count, first = 0, list[str]()
        with contextlib.suppress(OSError), self.service_log.open(errors="replace") as lines:
            for line in lines:
                if not line.strip() or '"level":"info"' in line:
                    continue
                count += 1
                if len(first) < limit:
                    first.append(line.strip()[:300])
        return count, first

    # -- stop ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop everything (bounded: at most ~45 s); a second Ctrl-C does not cut the clean-up short."""
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
        try:
            stop_group(self.service, timeout_s=25)
            stop_group(self.fake, timeout_s=10)
            if self.redis is not None:
                self.redis.stop()
            self.service = self.fake = self.redis = None
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
