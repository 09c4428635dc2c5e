"""``python -m benchmarks pumping``: SMS a pumping attack gets out of the service, against a naive one.

Replays ``tests/pumping.py`` (an attack on a handful of number ranges from rotating addresses and
end-user ids, almost never checked, mixed with normal logins from 20 countries, most checked) against
the app in this process with a real Redis and the vendor fakes behind an in-memory transport, every
setting at its default but the per-app send limit. A naive service sends every request.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from litestar.testing import AsyncTestClient

from otp_service.devredis import RedisProcess
from tests.conftest import ADMIN, CLIENT, Vendors, build_app, make_settings
from tests.pumping import plan, replay


async def _run(url: str, attack: int, normal: int) -> None:
    vendors = Vendors()
    requests = plan(attack_sends=attack, normal_sends=normal)
    started = time.monotonic()
    async with AsyncTestClient(build_app(make_settings(OTP_REDIS_URL=url, OTP_LOG_LEVEL="ERROR"), vendors)) as client:
        patch = {"client_limit": {"count": 1_000_000, "window_seconds": 60}}
        response = await client.patch("/v1/admin/settings", json=patch, headers=ADMIN)
        response.raise_for_status()
        result = await replay(client, requests, CLIENT, vendors.last_code)
        holds = (await client.get("/v1/admin/holds", headers=ADMIN)).json()
    elapsed = time.monotonic() - started
    attack_total, normal_total = result.total(attack=True), result.total(attack=False)
    sent = result.sent(attack=True) + result.sent(attack=False)
    print(f"{'':24}{'requests':>10}{'SMS sent':>10}{'naive SMS':>11}{'429':>7}")
    print(f"{'attack':24}{attack_total:>10}{result.sent(attack=True):>10}{attack_total:>11}"
          f"{result.refused_429(attack=True):>7}")  # fmt: skip
    print(f"{'normal':24}{normal_total:>10}{result.sent(attack=False):>10}{normal_total:>11}"
          f"{result.refused_429(attack=False):>7}")  # fmt: skip
    print(f"{'total':24}{result.requests:>10}{sent:>10}{result.requests:>11}")
    print()
    for prefix, count in sorted(result.sms_by_range.items()):
        print(f"attacked range {prefix:<12} {count:>4} SMS before its hold")
    print(f"held now: {', '.join(h['prefix'] for h in holds) or 'none'}")
    rate = result.refused_429(attack=False) / max(normal_total, 1)
    saved = 1 - sent / max(result.requests, 1)
    print(f"normal traffic 429 rate {rate:.2%}; SMS saved against a naive service {saved:.1%}; {elapsed:.1f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pumping", description=__doc__)
    parser.add_argument("--attack", type=int, default=5000, help="attack sends (default 5000)")
    parser.add_argument("--normal", type=int, default=1000, help="normal sends (default 1000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="otp-pumping-") as workdir:
        redis = RedisProcess(data_dir=Path(workdir) / "redis")
        redis.start()
        try:
            asyncio.run(_run(redis.url, args.attack, args.normal))
        finally:
            redis.stop()
    return 0
