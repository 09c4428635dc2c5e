"""Pre-created verifications for the check phases, made the way a client would make them.

Each pool is a range of numbers (``+34<range><7 digits>``): every number gets one send through the
service, the vendor fake records the message, and the code is read back from ``GET /__fake/messages``.
A pool is written as a text file, one ``phone code id`` line per verification, which both the wrk
scripts and the Python driver read.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = ("Pool", "create_pools", "phone_in")

_CODE = re.compile(r"\b(\d{4,10})\b")


def phone_in(range_: str, index: int) -> str:
    """The index-th number of a range: ``+34`` + two range digits + seven digits (a valid ES mobile)."""
    return f"+34{range_}{index:07d}"


@dataclass
class Pool:
    name: str
    range: str
    path: Path
    size: int
    seconds: float


async def _send_all(url: str, api_key: str, phones: list[str], concurrency: int, deadline: float) -> dict[str, str]:
    """POST a send for every number; returns number -> verification id."""
    ids: dict[str, str] = {}
    failures: list[str] = []
    todo = iter(phones)
    headers = {"Authorization": f"Bearer {api_key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for phone in todo:
                if time.monotonic() > deadline:
                    raise TimeoutError("pre-creating verifications took too long")
                for attempt in range(3):
                    try:
                        response = await client.post("/v1/verifications", json={"to": phone})
                    except httpx.HTTPError as exc:
                        if attempt == 2:
                            failures.append(f"{phone}: {exc!r}")
                        continue
                    if response.status_code == 201:
                        ids[phone] = response.json()["id"]
                        break
                    if attempt == 2 or response.status_code not in (429, 503):
                        failures.append(f"{phone}: {response.status_code} {response.text[:200]}")
                        break
                    await asyncio.sleep(0.2)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failures:
        raise RuntimeError(f"{len(failures)} pre-creation sends failed, e.g. {failures[:3]}")
    return ids


def create_pools(
    *,
    url: str,
    api_key: str,
    fake_messages: Callable[[], list[dict[str, Any]]],
    wanted: dict[str, tuple[str, int]],
    workdir: Path,
    concurrency: int,
    time_limit_s: float,
) -> dict[str, Pool]:
    """Create each pool ``name -> (range, size)``; codes come from the fake's message log."""
    pools: dict[str, Pool] = {}
    ids_by_pool: dict[str, dict[str, str]] = {}
    deadline = time.monotonic() + time_limit_s
    for name, (range_, size) in wanted.items():
        began = time.monotonic()
        phones = [phone_in(range_, i) for i in range(size)]
        ids_by_pool[name] = asyncio.run(_send_all(url, api_key, phones, concurrency, deadline))
        pools[name] = Pool(name, range_, workdir / f"pool-{name}.txt", size, round(time.monotonic() - began, 2))
    codes: dict[str, str] = {}
    for message in fake_messages():
        found = _CODE.search(str(message.get("text", "")))
        if found:
            codes["+" + str(message["to"])] = found.group(1)  # the last message to a number wins
    for name, pool in pools.items():
        lines = []
        for phone, vid in ids_by_pool[name].items():
            if phone not in codes:
                raise RuntimeError(f"the vendor fake has no message for {phone}")
            lines.append(f"{phone} {codes[phone]} {vid}\n")
        pool.path.write_text("".join(lines))
    return pools
