"""Real processes for the scale and failure tests: ``otp-service`` itself, and a vendor fake on loopback.

``Service`` runs the installed ``otp-service`` command (``serve`` or ``dev``; or the app under bare
``uvicorn``) in its own session (so its uvicorn workers and any child are one process group), logs to
a file, and is always stopped:
SIGTERM to the group, then SIGKILL after a bounded wait. ``VendorThread`` serves a vendor fake
(``tests.fakes.serve.FakeApp``, with ``delay_s`` / ``hang_s``) on a real loopback socket from a
thread of the test process, so a test can slow it down while a request is in flight.
Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from otp_service.devredis import free_port
from tests.conftest import ADMIN_TOKEN, API_KEY, MOBILE_KEY, PEPPER, WEBHOOK_SECRET
from tests.fakes import gatum
from tests.fakes.serve import FakeApp
from tests.processes import clean_env, descendants, otp_service_command, proc_stat, stop_group, wait_http
from tests.server import ServerThread

UNREACHABLE = "http://127.0.0.1:9"  # discard port: nothing listens, a connect fails at once


def service_env(redis_url: str, *, gatum_url: str = UNREACHABLE, **overrides: str) -> dict[str, str]:
    """Production settings for ``otp-service serve``: Gatum as the only provider, cheap argon2."""
    env = clean_env()
    env.update(
        {
            "OTP_ENV": "production",
            "OTP_REDIS_URL": redis_url,
            "OTP_PEPPER": PEPPER,
            "OTP_API_KEYS": f"web:{API_KEY},mobile:{MOBILE_KEY}:public",
            "OTP_ADMIN_TOKEN": ADMIN_TOKEN,
            "OTP_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "OTP_PROVIDERS": "gatum",
            **gatum.env(),
            "GATUM_BASE_URL": gatum_url,
            "OTP_ARGON2_MEMORY_KIB": "1024",
            "OTP_HASH_THREADS": "2",
            "OTP_LOG_LEVEL": "WARNING",
        }
    )
    env.update(overrides)
    return env


class Service:
    """``otp-service <command> --host 127.0.0.1 --port <free>`` as a child process."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        workdir: Path,
        command: str = "serve",
        workers: int = 1,
        args: list[str] | None = None,
        name: str = "otp-service",
    ) -> None:
        self.env = dict(env)
        self.workdir = workdir
        self.command = command
        self.workers = workers
        self.args = list(args or [])
        self.port = free_port()
        self.log_path = workdir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        if workers > 1:  # what `serve` would make with mkdtemp; ours goes away with the work directory
            metrics = workdir / f"prometheus-{self.port}"
            metrics.mkdir(parents=True, exist_ok=True)
            self.env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def launch(self) -> Service:
        if self.command == "uvicorn":  # the app under a bare ASGI server, as a platform may run it
            args = [sys.executable, "-m", "uvicorn", "--factory", "otp_service.app:create_app"]
            args += ["--host", "127.0.0.1", "--port", str(self.port)]
        else:
            args = [*otp_service_command(), self.command, "--host", "127.0.0.1", "--port", str(self.port)]
        if self.command == "serve":
            args += ["--workers", str(self.workers)]
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [*args, *self.args],
                cwd=self.workdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, path: str = "/health/ready", timeout_s: float = 30.0) -> Service:
        assert self.proc is not None
        wait_http(self.proc, self.url + path, self.log_path, "otp-service", timeout_s)
        return self

    def start(self) -> Service:
        return self.launch().wait_ready()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def signal(self, sig: signal.Signals) -> None:
        """Signal the service's own process (what a process manager does), not its group."""
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout_s)

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM to the whole group we created, bounded wait, then SIGKILL; safe to call twice."""
        stop_group(self.proc, timeout_s)


class RecordingFake(FakeApp):
    """A vendor fake that also says when a request has arrived (before any delay or hang)."""

    def __init__(self, fake: Any, delay_s: float = 0.0) -> None:
        super().__init__(fake, delay_s)
        self.arrived = threading.Event()
        self.arrivals = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/__fake/"):
            self.arrivals += 1
            self.arrived.set()
        await super().__call__(scope, receive, send)


class VendorThread:
    """A vendor fake on a real loopback socket, served from a thread of this process."""

    def __init__(self, fake: Any, delay_s: float = 0.0) -> None:
        self.app = RecordingFake(fake, delay_s)
        self._server = ServerThread(self.app)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> VendorThread:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.app.hang_s = 0.0
        self.app.delay_s = 0.0
        self._server.stop()


def redis_servers_below(pid: int) -> list[int]:
    """Redis (or Valkey) servers among the descendants of ``pid`` (a server renames its command line,
    so it is found by its process name)."""
    return [child for child in descendants(pid) if is_redis_server(child)]


def is_redis_server(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) redis-server or valkey-server process."""
    stat = proc_stat(pid)
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return stat is not None and stat[0] != "Z" and name in ("redis-server", "valkey-server")
