"""One benchmark profile: its argon2 ceiling, a fresh stack, and its load phases.

Two profiles come out of one run. ``default`` is the service as shipped (argon2id t=1, 8 MiB): it
says how close to the hash ceiling the service gets. ``cheap`` runs the same service with
``OTP_ARGON2_MEMORY_KIB=1024``, where a hash costs a tenth as much and everything else the service
does per request shows: its figure is the service's CPU per request beyond argon2 (issue 14).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from otp_service.devredis import RedisProcess
from otp_service.domain.codes import DEFAULT_ARGON2, Argon2Params

from . import ceiling, load, pools
from .load import PhaseSpec
from .stack import Stack

__all__ = ("BENCH_SETTINGS", "PHASES", "PROFILES", "PROFILE_PHASES", "run_profile", "run_settings", "say")

# Two digits after +34 for each set of numbers (see wrk/common.lua): outcomes are told apart by them.
RANGES = {
    "wrong": "61",
    "right": "62",
    "mixed_right": "63",
    "mixed_wrong": "64",
    "send": "65",
    "mixed_send": "66",
}
MAX_ATTEMPTS = 20
MIXED_PATTERN = "SRSRSRSRWG"  # per 10 requests: 4 sends, 4 right checks, 1 wrong check, 1 status read
_NO_BOUND = {"per_hour": 100_000_000, "per_day": 100_000_000}
BENCH_SETTINGS = {
    "max_attempts": MAX_ATTEMPTS,
    "check_limit": {"count": 1_000_000, "window_seconds": 86400},
    "source_check_limit": {"count": 1_000_000, "window_seconds": 86400},
    "client_limit": {"count": 1_000_000, "window_seconds": 60},
    "ip_limit": {"count": 1_000_000, "window_seconds": 60},
    # The fraud layer runs as in production (budgets charged, the conversion guard counting every send
    # and approval) with bounds no phase reaches: a phase of never-checked sends is exactly what the
    # guard stops at its defaults (`python -m benchmarks pumping` measures that).
    "country_limits": {"default": _NO_BOUND},
    "sms_budget": _NO_BOUND,
    "conversion_guard": {"enabled": True, "min_sends": 100_000},
}

PHASES = ("send", "check_wrong", "check_right", "mixed", "floor")
PROFILES: dict[str, dict[str, str]] = {"default": {}, "cheap": {"OTP_ARGON2_MEMORY_KIB": "1024"}}
# The cheap profile measures the work around one hash: the mixed wave adds nothing to that; the floor
# (GET /health/live at full load: server, framework and middleware alone) is the same in both.
PROFILE_PHASES = {"default": PHASES[:4], "cheap": ("send", "check_wrong", "check_right", "floor")}

_T0 = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def argon2_params(service_env: dict[str, str]) -> Argon2Params:
    """The cost the service will run with: a ratio against any other ceiling would mean nothing."""
    return Argon2Params(
        int(service_env.get("OTP_ARGON2_TIME_COST", DEFAULT_ARGON2.time_cost)),
        int(service_env.get("OTP_ARGON2_MEMORY_KIB", DEFAULT_ARGON2.memory_kib)),
    )


def argon2_best(seconds: float, params: Argon2Params, attempts: int = 3) -> dict[str, Any]:
    """The argon2 ceiling, measured again (up to ``attempts`` times) while other processes disturbed it."""
    best = ceiling.argon2_ceiling(seconds, params=params)
    for _ in range(attempts - 1):
        if best["other_share"] <= 0.05:
            break
        say(f"ceiling: other processes used {best['other_share']:.0%} of the machine meanwhile; measuring again")
        again = ceiling.argon2_ceiling(seconds, params=params)
        for key in ("hash_per_s", "verify_per_s"):
            best[key] = max(best[key], again[key])
        best["verify_per_s_per_core"] = round(best["verify_per_s"] / best["cores"], 1)
        best["other_share"] = min(best["other_share"], again["other_share"])
        best["attempts"] = best.get("attempts", 1) + 1
    return best


def measure_ceiling(args: argparse.Namespace, service_env: dict[str, str]) -> dict[str, Any]:
    seconds = 1.0 if args.quick else 3.0
    busy = ceiling.machine_busy_share(1.0)
    if busy > 0.15:
        say(f"WARNING: the machine is {busy:.0%} busy before the run starts; every figure will be low")
    say(f"ceiling: argon2id hash and verify on every core ({seconds:g} s each)")
    argon2 = argon2_best(seconds, argon2_params(service_env))
    argon2["machine_busy_before"] = round(busy, 3)
    say(f"ceiling: hash {argon2['hash_per_s']:.0f}/s, verify {argon2['verify_per_s']:.0f}/s; Redis round trips")
    with RedisProcess() as redis:
        redis_figures = ceiling.redis_round_trip(redis.url, seconds=1.0 if args.quick else 2.0)
    return {"argon2": argon2, "redis": redis_figures}


def _phase_specs() -> dict[str, PhaseSpec]:
    r = RANGES
    return {
        "send": PhaseSpec("send", intended={f"201:record:{r['send']}"}, send_range=r["send"]),
        "check_wrong": PhaseSpec("check_wrong", intended={f"200:valid_false:{r['wrong']}"}, uses=MAX_ATTEMPTS),
        "check_right": PhaseSpec("check_right", intended={f"200:valid_true:{r['right']}"}),
        "floor": PhaseSpec("floor", intended={"200:other:--"}),
        "mixed": PhaseSpec(
            "mixed",
            intended={
                f"201:record:{r['mixed_send']}",
                f"200:valid_true:{r['mixed_right']}",
                f"200:valid_false:{r['mixed_wrong']}",
                f"200:record:{r['mixed_wrong']}",
            },
            send_range=r["mixed_send"],
            uses=MAX_ATTEMPTS,
            pattern=MIXED_PATTERN,
        ),
    }


def _argon2_keys(spec: PhaseSpec) -> None:
    spec.hash_keys = {k for k in spec.intended if k.startswith("201:")}
    spec.verify_keys = {k for k in spec.intended if ":valid_" in k}


def run_profile(args: argparse.Namespace, workdir: Path, profile: str) -> dict[str, Any]:
    """One profile: its own argon2 ceiling, a fresh stack with the profile's environment, its phases."""
    service_env = {**args.service_env, **PROFILES[profile]}
    phase_names = [p for p in args.phases if p in PROFILE_PHASES[profile]]
    workdir = workdir / profile
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"profile {profile}: {', '.join(f'{k}={v}' for k, v in PROFILES[profile].items()) or 'the defaults'}")
    ceil = measure_ceiling(args, service_env)
    verify_c = ceil["argon2"]["verify_per_s"]
    d, c = args.duration, args.concurrency
    specs = _phase_specs()
    for spec in specs.values():
        _argon2_keys(spec)
    phases: dict[str, dict[str, Any]] = {}
    pool_info: dict[str, Any] = {}
    service_log: dict[str, Any] = {}

    delay_ms = args.provider_delay * 1000
    say(f"starting Redis, the Gatum fake ({delay_ms:g} ms) and otp-service serve --workers {args.workers}")
    stack = Stack(
        workers=args.workers,
        provider_delay_s=args.provider_delay,
        workdir=workdir / "stack",
        service_env=service_env,
    )
    with stack:
        ceil["vendor_call"] = ceiling.vendor_call(stack.fake_url, seconds=1.0 if args.quick else 2.0)
        stack.admin_patch(BENCH_SETTINGS)
        time.sleep(1.1)  # live settings reach every worker within 1 s

        def make(wanted: dict[str, int]) -> None:
            total = sum(wanted.values())
            parts = ", ".join(f"{k} {v}" for k, v in wanted.items())
            say(f"pre-creating {total} verifications through the service ({parts})")
            made = pools.create_pools(
                url=stack.url,
                api_key=stack.api_key,
                fake_messages=stack.fake_messages,
                wanted={name: (RANGES[name], size) for name, size in wanted.items()},
                workdir=workdir,
                concurrency=c,
                time_limit_s=60 + total / 20,
            )
            for name, pool in made.items():
                pool_info[name] = {"range": pool.range, "size": pool.size, "seconds": pool.seconds}
            specs["check_wrong"].pool = workdir / "pool-wrong.txt"
            specs["check_right"].pool = workdir / "pool-right.txt"
            specs["mixed"].pool = workdir / "pool-mixed_right.txt"
            specs["mixed"].wrong_pool = workdir / "pool-mixed_wrong.txt"

        def run(name: str) -> None:
            if not stack.alive():
                raise RuntimeError(f"the service or the fake stopped; see {stack.service_log}")
            say(f"phase {name}: {args.driver}, {c} concurrent, {d:g} s")
            result = load.run_phase(
                stack,
                specs[name],
                driver=args.driver,
                duration=d,
                concurrency=c,
                workdir=workdir,
                probe_rate=args.probe_rate,
                wrk_threads=args.wrk_threads,
            )
            phases[name] = result
            say(
                f"phase {name}: {result['rps']:.0f} req/s, p99 {result['latency_ms']['percentiles'].get('99')} ms, "
                f"unintended {result['unintended']}, /health/live p99 {result['health_live'].get('p99_ms')} ms"
            )
            time.sleep(0.5)  # let the last in-flight requests finish before the next snapshot

        # Wrong checks: each verification takes MAX_ATTEMPTS of them; size for 1.5x the ceiling.
        wanted_wrong = math.ceil(verify_c * d * 1.5 / MAX_ATTEMPTS) + c
        if "check_wrong" in phase_names:
            make({"wrong": wanted_wrong})  # also warms up every worker (vendor login, connections)
        for name in ("send", "check_wrong"):
            if name in phase_names:
                run(name)
        # Right checks use each verification once: size from what wrong checks (same cost) achieved,
        # with room for a faster phase. Never below 80 % of the ceiling when the service is near it (a
        # phase slowed by other load must not starve the next one); far below it (the cheap profile,
        # where the ceiling is 10x the service's rate) that floor would mean minutes of pre-creation.
        measured = phases.get("check_wrong", {}).get("rps") or 0.8 * verify_c
        per_s = max(measured * 1.25, min(0.8 * verify_c, measured * 2))
        argon2_share = sum(MIXED_PATTERN.count(k) for k in "SRW") / len(MIXED_PATTERN)
        mixed_rps = per_s / argon2_share
        wanted: dict[str, int] = {}
        if "check_right" in phase_names:
            wanted["right"] = math.ceil(per_s * d) + 2 * c
        if "mixed" in phase_names:
            share = MIXED_PATTERN.count("R") / len(MIXED_PATTERN)
            wanted["mixed_right"] = math.ceil(mixed_rps * share * d) + 2 * c
            share = MIXED_PATTERN.count("W") / len(MIXED_PATTERN)
            wanted["mixed_wrong"] = math.ceil(mixed_rps * share * d / MAX_ATTEMPTS) + 2 * c
        if wanted:
            make(wanted)
        for name in ("check_right", "mixed", "floor"):
            if name in phase_names:
                run(name)
        count, first = stack.service_log_problems()
        service_log = {"problem_lines": count, "first": first}
        say("stopping the stack")

    # A ceiling is what the machine can do at best: other load only lowers a measurement, so the
    # best of the two (start and end of the run) is kept.
    hash_c, verify_c = ceil["argon2"]["hash_per_s"], ceil["argon2"]["verify_per_s"]
    say("ceiling: re-measuring argon2id on the idle machine")
    ceil["argon2_end"] = end = argon2_best(1.0 if args.quick else 3.0, argon2_params(service_env))
    hash_c, verify_c = max(hash_c, end["hash_per_s"]), max(verify_c, end["verify_per_s"])
    ceil["hash_per_s"], ceil["verify_per_s"] = round(hash_c, 1), round(verify_c, 1)
    ceil["ratio_basis"] = "best of start and end"
    cores = os.cpu_count() or 1
    for ph in phases.values():
        work = ph["hash_ops"] / hash_c + ph["verify_ops"] / verify_c
        ph["ceiling_ratio"] = round(work / ph["duration_s"], 3) if ph["duration_s"] else None
        # What argon2 alone would cost at the ceiling's rate, and what the service spent beyond it.
        argon2_ms = (ph["hash_ops"] * cores / hash_c + ph["verify_ops"] * cores / verify_c) * 1000
        per_request = argon2_ms / max(ph["requests"], 1)
        ph["argon2_cpu_ms_per_request_at_ceiling"] = round(per_request, 3)
        ph["service_cpu_ms_per_request_beyond_argon2"] = round(ph["service_cpu_ms_per_request"] - per_request, 3)
        # The same ratio from CPU time instead of wall time: argon2's cost at the ceiling over everything
        # this run's processes spent per request. Other load on the machine barely moves it, so it is
        # what the ratio would be on a quiet machine, as long as the phase kept every core busy.
        ours = sum(v for k, v in ph["cpu_s"].items() if k != "other_processes") * 1000 / max(ph["requests"], 1)
        ph["all_cpu_ms_per_request"] = round(ours, 3)
        ph["ceiling_ratio_cpu"] = round(per_request / ours, 3) if ours else None

    return {
        "service_env": service_env,
        "ceiling": ceil,
        "pools": pool_info,
        "phases": phases,
        "service_log": service_log,
    }


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What every profile shared, for the JSON file."""
    return {
        "quick": args.quick,
        "driver": args.driver + (f" ({args.wrk_threads} thread)" if args.driver == "wrk" else ""),
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "workers": args.workers,
        "provider_delay_s": args.provider_delay,
        "service_env": args.service_env,
        "probe_rate": args.probe_rate,
        "mixed_pattern": MIXED_PATTERN,
        "settings_patch": BENCH_SETTINGS,
    }
