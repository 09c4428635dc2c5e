"""Property-based contract check: schemathesis drives the live service from openapi/openapi.json.

Every operation gets generated requests (valid and invalid) with valid credentials; none may answer
500, and every response must match the documented status codes, content types and schemas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from otp_service.devredis import RedisProcess
from tests.conftest import ADMIN, CLIENT, WEBHOOK_SECRET, Vendors, build_app, make_settings
from tests.server import ServerThread

SPEC = json.loads((Path(__file__).parent.parent / "openapi" / "openapi.json").read_text())
schema = schemathesis.openapi.from_dict(SPEC)


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    redis = RedisProcess().start()
    settings_ = make_settings(OTP_REDIS_URL=redis.url, OTP_TEST_NUMBERS="enabled")
    server = ServerThread(build_app(settings_, Vendors())).start()
    try:
        yield server.url
    finally:
        server.stop()
        redis.stop()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_operation_breaks_the_contract(case: schemathesis.Case, live_url: str) -> None:
    headers = ADMIN if case.path.startswith("/v1/admin") else CLIENT
    if case.path.startswith("/v1/webhooks") and case.path_parameters:
        case.path_parameters["secret"] = WEBHOOK_SECRET
    response = case.call(base_url=live_url, headers=headers)
    assert response.status_code < 500 or response.status_code == 503, response.text
    # Business rules the schema cannot express (a digit string that is no real phone number, a
    # provider name this deployment lacks) are legitimately refused, and extra query parameters or
    # OPTIONS are not part of the contract: those checks are left out, every other one runs. The
    # automatic OPTIONS answer lists only the first handler of a path (litestar#4169, fixed in 3.0).
    case.validate_response(
        response,
        excluded_checks=[
            schemathesis.checks.positive_data_acceptance,
            schemathesis.checks.negative_data_rejection,
            schemathesis.checks.unsupported_method,
            schemathesis.checks.allow_header_conformance,
        ],
    )
