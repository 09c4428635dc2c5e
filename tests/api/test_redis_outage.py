"""Redis down: clear 503s; Redis back: service again without a restart (issue #2, point 9)."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from otp_service.devredis import RedisProcess
from tests.api.helpers import assert_problem, check, send
from tests.conftest import CLIENT, Vendors, build_app, make_settings


async def test_redis_down_gives_503_and_recovery_needs_no_restart(vendors: Vendors) -> None:
    redis = RedisProcess().start()
    port = redis.port
    try:
        settings = make_settings(OTP_REDIS_URL=redis.url, OTP_REDIS_TIMEOUT_S="0.5")
        async with AsyncTestClient(build_app(settings, vendors)) as client:
            created = await send(client)
            assert created.status_code == 201
            redis.stop()

            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert (await client.get("/health/live")).status_code == 200
            assert_problem(await send(client, "+34600100201"), 503, "store_unavailable")
            assert_problem(await check(client, "123456"), 503, "store_unavailable")
            response = await client.get(f"/v1/verifications/{created.json()['id']}", headers=CLIENT)
            assert_problem(response, 503, "store_unavailable")

            redis = RedisProcess(port=port).start()
            assert (await client.get("/health/ready")).status_code == 200
            assert (await send(client, "+34600100202")).status_code == 201
    finally:
        redis.stop()
