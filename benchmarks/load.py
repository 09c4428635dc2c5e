"""Drive one phase: the load process (wrk + Lua, or the Python driver), the /health/live prober, and
the CPU and Redis accounting around them.

Both load drivers run as separate processes at a fixed concurrency for a fixed time; their CPU time
comes from ``wait4`` (the child's own rusage), the service's, Redis's and the fake's from
``/proc/<pid>/stat`` before and after the phase. Every child started here is tracked and stopped by
:func:`stop_children` (the benchmark calls it on any exit, Ctrl-C included).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stack import REPO, Stack

__all__ = ("PhaseSpec", "have_wrk", "run_phase", "stop_children")

WRK_DIR = Path(__file__).resolve().parent / "wrk"
_RUNNING: set[subprocess.Popen[bytes]] = set()


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


@dataclass
class PhaseSpec:
    name: str  # send | check_wrong | check_right | mixed
    intended: set[str]  # outcome keys that are the expected answers (see wrk/common.lua)
    send_range: str = ""
    pool: Path | None = None
    wrong_pool: Path | None = None
    uses: int = 20
    pattern: str = "SRSRSRSRWG"
    hash_keys: set[str] = field(default_factory=set)  # intended keys that cost one argon2 hash
    verify_keys: set[str] = field(default_factory=set)  # ... one argon2 verify


# --- child processes ---------------------------------------------------------------------------


def _spawn(args: list[str], *, env: dict[str, str], stdout: Path) -> subprocess.Popen[bytes]:
    with stdout.open("wb") as out:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    _RUNNING.add(proc)
    return proc


def _reap(proc: subprocess.Popen[bytes], timeout_s: float) -> float:
    """Wait for the child (killing it after ``timeout_s``); returns its CPU seconds (user + system)."""
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                return float(usage.ru_utime + usage.ru_stime)
            if time.monotonic() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                raise RuntimeError(f"{proc.args!r} did not finish in time; killed")
            time.sleep(0.02)
    finally:
        _RUNNING.discard(proc)


def stop_children() -> None:
    """Stop every load driver and prober still running (by pid), then reap them."""
    for proc in list(_RUNNING):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    for proc in list(_RUNNING):
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        _RUNNING.discard(proc)


# --- drivers -----------------------------------------------------------------------------------


def _wrk_command(spec: PhaseSpec, url: str, duration: float, concurrency: int, threads: int) -> list[str]:
    args = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(duration))}s"]
    args += ["--timeout", "10s", "-s", str(WRK_DIR / f"{spec.name}.lua"), url, "--", str(threads)]
    if spec.name == "floor":
        pass
    elif spec.name == "send":
        args += [spec.send_range]
    elif spec.name == "check_wrong":
        args += [str(spec.pool), str(spec.uses)]
    elif spec.name == "check_right":
        args += [str(spec.pool)]
    else:
        args += [str(spec.pool), str(spec.wrong_pool), spec.send_range, spec.pattern, str(spec.uses)]
    return args


def _parse_wrk(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            raw: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            lat = raw["latency_us"]
            raw["latency_ms"] = {
                "mean": round(lat["mean"] / 1000, 3),
                "max": round(lat["max"] / 1000, 3),
                "percentiles": {q: round(v / 1000, 3) for q, v in lat["percentiles"].items()},
            }
            return raw
    raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")


def _python_command(spec: PhaseSpec, url: str, duration: float, concurrency: int, out: Path) -> list[str]:
    args = [sys.executable, "-m", "benchmarks.driver", "--profile", spec.name, "--url", url]
    args += ["--duration", str(duration), "--concurrency", str(concurrency), "--out", str(out)]
    args += ["--uses", str(spec.uses), "--pattern", spec.pattern]
    if spec.send_range:
        args += ["--range", spec.send_range]
    if spec.pool:
        args += ["--pool", str(spec.pool)]
    if spec.wrong_pool:
        args += ["--wrong-pool", str(spec.wrong_pool)]
    return args


# --- a phase -----------------------------------------------------------------------------------


def _redis_calls(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    delta = {k: v - before.get(k, 0) for k, v in after.items() if k != "info"}
    return {k: v for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v > 0}


def run_phase(
    stack: Stack,
    spec: PhaseSpec,
    *,
    driver: str,
    duration: float,
    concurrency: int,
    workdir: Path,
    probe_rate: float,
    wrk_threads: int = 1,
) -> dict[str, Any]:
    env = {**os.environ, "BENCH_API_KEY": stack.api_key, "BENCH_WRK_DIR": str(WRK_DIR)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    cores = os.cpu_count() or 1
    probe_out = workdir / f"probe-{spec.name}.json"
    load_out = workdir / f"load-{spec.name}.out"
    result_file = workdir / f"load-{spec.name}.json"

    calls_before = stack.redis_commandstats()
    probe_cmd = [sys.executable, "-m", "benchmarks.prober", "--url", stack.url, "--out", str(probe_out)]
    probe_cmd += ["--duration", str(duration), "--rate", str(probe_rate)]
    prober = _spawn(probe_cmd, env=env, stdout=workdir / f"probe-{spec.name}.log")
    before = stack.cpu_snapshot()
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    if driver == "wrk":
        load = _spawn(_wrk_command(spec, stack.url, duration, concurrency, wrk_threads), env=env, stdout=load_out)
    else:
        load = _spawn(_python_command(spec, stack.url, duration, concurrency, result_file), env=env, stdout=load_out)
    time.sleep(min(2.0, duration / 3))
    connections = stack.connections_per_process()
    driver_cpu = _reap(load, timeout_s=duration + 60)
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    after = stack.cpu_snapshot()
    prober_cpu = _reap(prober, timeout_s=30)
    calls_after = stack.redis_commandstats()

    if load.returncode != 0:
        raise RuntimeError(f"{driver} exited with {load.returncode}:\n{load_out.read_text(errors='replace')[-2000:]}")
    wrk_output = load_out.read_text(errors="replace")
    raw = _parse_wrk(wrk_output) if driver == "wrk" else json.loads(result_file.read_text())
    probe: dict[str, Any] = json.loads(probe_out.read_text()) if probe_out.exists() else {"samples": 0}

    cpu = before.delta(after)
    wall = cpu["wall_s"]
    requests = int(raw["requests"])
    duration_s = raw["duration_us"] / 1e6
    outcomes: dict[str, int] = raw["outcomes"]
    socket_errors = {k: v for k, v in raw["errors"].items() if k != "status" and v}
    unintended = {k: v for k, v in outcomes.items() if k not in spec.intended}
    unintended.update({f"socket_{k}": v for k, v in socket_errors.items()})
    # Requests past the end of a pool (sized too small for this run) are expected 404s: the
    # benchmark's fault, not the service's. Counted apart, and reported.
    wrapped = int(raw.get("wrapped", 0))
    pool_exhausted = 0
    for key in sorted(k for k in unintended if k.startswith("404:")):
        take = min(unintended[key], wrapped - pool_exhausted)
        pool_exhausted += take
        unintended[key] -= take
        if not unintended[key]:
            del unintended[key]
    cpu_s = dict(cpu["cpu_s"])
    cpu_s["load_driver"] = round(driver_cpu, 3)
    cpu_s["prober"] = round(prober_cpu, 3)
    own = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    cpu_s["orchestrator"] = round(own, 3)
    # Busy CPU time on the machine that none of the above accounts for: other people's work, the
    # kernel's own threads. More than a few percent makes the phase's figures unreliable.
    prober_in_window = prober_cpu * min(1.0, wall / duration) if duration else prober_cpu
    ours = sum(v for k, v in cpu_s.items() if k != "prober") + prober_in_window
    cpu_s["other_processes"] = round(max(0.0, cpu["machine_busy_s"] - ours), 3)
    redis_calls = _redis_calls(calls_before, calls_after)
    per_req = max(requests, 1)
    return {
        "phase": spec.name,
        "driver": driver,
        "concurrency": concurrency,
        "duration_s": round(duration_s, 3),
        "requests": requests,
        "rps": round(requests / duration_s, 1) if duration_s else 0.0,
        "latency_ms": raw["latency_ms"],
        "latency_ms_by_kind": raw.get("latency_ms_by_kind"),
        "outcomes": outcomes,
        "intended": sum(v for k, v in outcomes.items() if k in spec.intended),
        "unintended": sum(unintended.values()),
        "unintended_detail": unintended,
        "pool_wrapped": wrapped,
        "pool_exhausted_404": pool_exhausted,
        "hash_ops": sum(v for k, v in outcomes.items() if k in spec.hash_keys),
        "verify_ops": sum(v for k, v in outcomes.items() if k in spec.verify_keys),
        "cpu_s": cpu_s,
        "cpu_wall_s": wall,
        "cpu_share_of_machine": {role: round(v / (wall * cores), 3) for role, v in cpu_s.items()} if wall else {},
        "machine_busy_share": cpu["machine_busy_share"],
        "service_pids_changed": cpu["service_pids_changed"],
        "service_cpu_ms_per_request": round(cpu_s.get("service", 0.0) * 1000 / per_req, 3),
        "service_kernel_ms_per_request": round(cpu.get("service_kernel_s", 0.0) * 1000 / per_req, 3),
        "redis_cpu_ms_per_request": round(cpu_s.get("redis", 0.0) * 1000 / per_req, 3),
        "fake_cpu_ms_per_request": round(cpu_s.get("fake_provider", 0.0) * 1000 / per_req, 3),
        "driver_cpu_ms_per_request": round(driver_cpu * 1000 / per_req, 3),
        "redis_calls": redis_calls,
        "redis_calls_per_request": round(sum(redis_calls.values()) / per_req, 2),
        "redis_scripts_per_request": round(redis_calls.get("evalsha", 0) / per_req, 2),
        "health_live": probe,
        "connections_per_worker": connections,
    }
