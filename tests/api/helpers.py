"""Small request helpers so the API tests read as the contract does."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import ADMIN, CLIENT

Client = AsyncTestClient[Litestar]
NUMBER = "+34600100200"


async def send(client: Client, to: str = NUMBER, **body: Any) -> Any:
    headers = {**CLIENT, **body.pop("headers", {})}
    return await client.post("/v1/verifications", json={"to": to, **body}, headers=headers)


async def check(client: Client, code: str, *, to: str | None = NUMBER, id: str | None = None) -> Any:
    body: dict[str, Any] = {"code": code}
    if id is not None:
        body["id"] = id
    elif to is not None:
        body["to"] = to
    return await client.post("/v1/verifications/check", json=body, headers=CLIENT)


async def patch_settings(client: Client, **changes: Any) -> Any:
    response = await client.patch("/v1/admin/settings", json=changes, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def wrong(code: str) -> str:
    return "".join(str((int(d) + 1) % 10) for d in code)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"] and body["type"] and "detail" in body
    return body


async def all_keys(redis: Any, pattern: str) -> list[bytes]:
    """``KEYS pattern`` on a single Redis, or on every primary of a Redis Cluster (KEYS has no key to route by)."""
    from redis.asyncio import RedisCluster

    if isinstance(redis, RedisCluster):
        keys: list[bytes] = await redis.keys(pattern, target_nodes=RedisCluster.PRIMARIES)
    else:
        keys = await redis.keys(pattern)
    return keys
