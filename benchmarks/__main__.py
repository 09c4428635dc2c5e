"""Send and check throughput and latency against this machine's own ceiling, in one run.

    python -m benchmarks                    # full run, both profiles (~4 min on 2 cores)
    python -m benchmarks --quick            # smoke run (~1.5 min)
    python -m benchmarks --profiles cheap   # only the cheap-hash profile
    python -m benchmarks --driver python    # the httpx driver even when wrk is installed
    python -m benchmarks pumping            # SMS a pumping attack gets out, against a naive service

1. Ceiling: argon2id hash and verify throughput with the service's defaults on every core, and the
   Redis round trip of the store's main scripts.
2. A real Redis, a vendor fake on loopback answering in ~20 ms, and ``otp-service serve --workers N``
   in production mode.
3. One phase per profile, each driven by a separate load process (wrk + Lua when on PATH, else the
   httpx driver) at a fixed concurrency: send, check with a wrong code, check with the right code, and
   a mixed login wave; a separate prober samples ``GET /health/live`` throughout.
4. All of it twice, once per profile (``profiles.py``): ``default`` (the service as shipped) and
   ``cheap`` (``OTP_ARGON2_MEMORY_KIB=1024``, where what the service does beyond argon2 shows).
5. A table on stdout, and the same as JSON in ``benchmarks/results/<time>-<commit>.json``.

Everything listens on 127.0.0.1, every loop is bounded in count and time, and everything started is
stopped on any exit (errors and Ctrl-C included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

from . import load, report
from .profiles import PHASES, PROFILES, run_profile, run_settings, say
from .stack import REPO

_T0 = time.monotonic()


def _on_signal(signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per phase (default 15)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent requests (default 32)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="service workers (default: cores)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s phases, 1 s ceiling measurements")
    parser.add_argument("--driver", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (1 keeps its CPU share low)")
    parser.add_argument("--provider-delay", type=float, default=0.02, help="fake vendor answer time, s")
    parser.add_argument("--probe-rate", type=float, default=20.0, help="GET /health/live per second")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help="comma-separated subset, in this order (cheap: no mixed)"
    )
    parser.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated: default, cheap")
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the service, e.g. OTP_HASH_THREADS=2 (repeatable; recorded in the JSON)",
    )
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR)
    parser.add_argument("--no-save", action="store_true", help="print only; write no JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs and pool files (path printed)")
    args = parser.parse_args(argv)
    if args.quick and args.duration == 15.0:
        args.duration = 3.0
    if not 1 <= args.duration <= 600:
        parser.error("--duration must be between 1 and 600 s")
    if not 1 <= args.concurrency <= 1024:
        parser.error("--concurrency must be between 1 and 1024")
    if not 1 <= args.wrk_threads <= min(8, args.concurrency):
        parser.error("--wrk-threads must be between 1 and min(8, concurrency)")
    try:
        args.service_env = dict(item.split("=", 1) for item in args.service_env)
    except ValueError:
        parser.error("--service-env takes NAME=VALUE")
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    args.profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    if not args.profiles or set(args.profiles) - set(PROFILES):
        parser.error(f"--profiles takes a comma-separated subset of {', '.join(PROFILES)}")
    if args.driver == "auto":
        args.driver = "wrk" if load.have_wrk() else "python"
    elif args.driver == "wrk" and not load.have_wrk():
        parser.error("--driver wrk: wrk is not on PATH (apt-get install wrk)")
    return args


def run_benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    git = report.git_info(REPO)
    profiles = {name: run_profile(args, workdir, name) for name in args.profiles}
    run = {
        "started_at": started_at,
        "finished_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_s": round(time.monotonic() - _T0, 1),
        **run_settings(args),
    }
    doc: dict[str, Any] = {"run": run, "git": git, "machine": report.machine_info(), "profiles": profiles}
    doc["targets"] = report.evaluate_targets(profiles)
    return doc


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["pumping"]:
        from . import pumping

        return pumping.main(argv[1:])
    args = parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="otp-bench-"))
    ok = False
    try:
        doc = run_benchmark(args, workdir)
        print(report.render(doc))
        if not args.no_save:
            path = report.write_json(doc, args.results_dir)
            print(f"\nwrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
        say(f"done in {time.monotonic() - _T0:.0f} s")
        ok = True
        missed = [t for t in doc["targets"] if not t["met"]]
        return 1 if args.strict and missed else 0
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
        ok = True  # nothing to investigate: the work directory goes too
        return 130
    except Exception as exc:
        say(f"benchmark failed: {exc}")
        raise
    finally:
        load.stop_children()
        if ok and not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"logs and pools kept in {workdir}")


if __name__ == "__main__":
    sys.exit(main())
