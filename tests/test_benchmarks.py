"""The benchmark's own code keeps up with the service's: its Redis ceiling calls the store as the
service does (a signature change once broke ``python -m benchmarks`` unnoticed), and its report
renders both profiles and judges issue 14's targets."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from benchmarks import ceiling, report
from otp_service.devredis import RedisProcess


def test_the_redis_ceiling_runs_the_stores_scripts(redis_server: RedisProcess) -> None:
    figures = ceiling.redis_round_trip(redis_server.url, seconds=0.2, concurrency=4)
    for script in ("begin_send", "take_attempt"):
        assert figures[script]["round_trip_ms_p50"] > 0
        assert figures[script]["client_cpu_us_per_call"] > 0


def _phase(rps: float, beyond: float, ratio: float, p99: float, unintended: int = 0) -> dict[str, Any]:
    return {
        "rps": rps,
        "latency_ms": {"percentiles": {"50": 10.0, "95": 20.0, "99": 30.0}},
        "intended": int(rps * 10),
        "unintended": unintended,
        "service_cpu_ms_per_request": beyond + 0.4,
        "service_cpu_ms_per_request_beyond_argon2": beyond,
        "ceiling_ratio": ratio,
        "ceiling_ratio_cpu": ratio,
        "health_live": {"p99_ms": p99},
        "cpu_share_of_machine": {"service": 0.8, "load_driver": 0.02},
        "machine_busy_share": 0.97,
        "redis_calls_per_request": 20.0,
        "redis_scripts_per_request": 2.0,
        "pool_exhausted_404": 0,
    }


def _profile(phases: dict[str, dict[str, Any]], memory_kib: int) -> dict[str, Any]:
    argon2 = {
        "params": {"time_cost": 1, "memory_kib": memory_kib, "parallelism": 1},
        "threads": 2,
        "cores": 2,
        "hash_per_s": 300.0,
        "verify_per_s": 300.0,
        "hash_ms_one_thread": 7.0,
        "verify_ms_one_thread": 7.0,
    }
    ceil = {"argon2": argon2, "ratio_basis": "best of start and end", "hash_per_s": 300.0, "verify_per_s": 300.0}
    return {"service_env": {}, "ceiling": ceil, "phases": phases, "service_log": {}}


def test_the_report_judges_each_target_on_its_own_profile() -> None:
    profiles = {
        "default": _profile({"send": _phase(220, 2.0, 0.72, 8.0), "check_wrong": _phase(240, 0.9, 0.79, 12.0)}, 8192),
        "cheap": _profile({"send": _phase(900, 0.95, 0.2, 4.0), "check_wrong": _phase(1900, 0.55, 0.4, 3.0)}, 1024),
    }
    targets = {t["target"]: t["met"] for t in report.evaluate_targets(profiles)}
    assert targets == {
        "default: check_wrong >= 0.80 of the verify ceiling": False,
        "default: send >= 0.70 of the hash ceiling": True,
        "cheap: check_wrong CPU beyond argon2 <= 0.5 ms per request": False,
        "cheap: send CPU beyond argon2 <= 1.0 ms per request": True,
        "/health/live p99 < 10 ms under saturation (worst phase)": False,
        "zero unintended answers": True,
    }
    run = {
        "started_at": "2026-12-02T12:00:00Z",
        "driver": "wrk (1 thread)",
        "concurrency": 32,
        "duration_s": 15.0,
        "workers": 2,
        "provider_delay_s": 0.02,
        "probe_rate": 20.0,
    }
    doc = {
        "run": run,
        "git": {"short": "abc", "dirty": False},
        "machine": {"cores": 2, "cpu_model": "test", "python": "3.11"},
        "profiles": profiles,
        "targets": report.evaluate_targets(profiles),
    }
    text = report.render(doc)
    assert "== profile default" in text and "== profile cheap" in text
    assert "  cheap              0.95         0.55" in text  # CPU beyond argon2: send, check_wrong


def test_the_vendor_call_figure_goes_through_the_services_http_client() -> None:
    class Vendor(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Vendor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        figures = ceiling.vendor_call(f"http://127.0.0.1:{server.server_address[1]}", seconds=0.2, concurrency=2)
    finally:
        server.shutdown()
        server.server_close()
    assert figures["calls"] > 0 and figures["client_cpu_us_per_call"] > 0
