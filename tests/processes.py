"""Child processes on loopback, shared by the scale tests and the benchmark.

No pytest here: the benchmark imports this from a virtualenv that may lack the test extras.
Each child runs in its own session (``start_new_session=True``), so it and everything it spawns
(uvicorn's workers) form one process group, which :func:`stop_group` stops as a whole.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

__all__ = ("REPO", "clean_env", "descendants", "otp_service_command", "proc_stat", "stop_group", "wait_http")

REPO = Path(__file__).resolve().parent.parent
_PREFIXES = ("OTP_", "MESSAGE_CENTRAL_", "GATUM_", "WAVY_", "INSTASENT_", "CONECTALINE_", "OTEL_")


def clean_env() -> dict[str, str]:
    """This process's environment without any service or vendor variable (the caller sets its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def otp_service_command() -> list[str]:
    """The installed console script next to this interpreter, else the same entry point via -c."""
    script = Path(sys.executable).parent / "otp-service"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from otp_service.cli import main; main()"]


def proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (``[0]`` state, ``[1]`` parent pid,
    ``[11]``/``[12]`` utime/stime); None when the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (uvicorn's workers, and anything they spawn)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := proc_stat(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


_ESTABLISHED, _LISTEN = "01", "0A"


def _tcp_inodes(port: int, state: str) -> list[str]:
    """The socket inodes on ``port`` (our side) in ``state``, from /proc/net/tcp and tcp6."""
    wanted = f":{port:04X}"
    inodes: list[str] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == state and fields[1].endswith(wanted):
                    inodes.append(fields[9])
    return inodes


def listening_sockets_on(port: int) -> int:
    """How many sockets listen on ``port`` (one per worker once every worker serves)."""
    return len(_tcp_inodes(port, _LISTEN))


def connections_held(port: int, pids: list[int]) -> list[int]:
    """Established connections on ``port`` each of ``pids`` holds (0 for a process holding none)."""
    inodes = set(_tcp_inodes(port, _ESTABLISHED))
    counts = []
    for pid in pids:
        held = 0
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    held += target.startswith("socket:[") and target[8:-1] in inodes
        counts.append(held)
    return counts


def wait_http(proc: subprocess.Popen[bytes], url: str, log: Path, what: str, timeout_s: float = 30.0) -> None:
    """Return once ``url`` answers 200; raise with the log's tail if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
                raise RuntimeError(f"{what} exited at start (code {proc.returncode}):\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer {url} within {timeout_s:g} s; see {log}")


def stop_group(proc: subprocess.Popen[bytes] | None, timeout_s: float) -> None:
    """SIGTERM to the group the child leads, a bounded wait, then SIGKILL; safe to call twice."""
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):  # workers that outlived their master
        os.killpg(proc.pid, signal.SIGKILL)
