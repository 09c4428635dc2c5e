"""The committed OpenAPI document is what the code generates (regenerate: `otp-service openapi`)."""

from __future__ import annotations

import json
from pathlib import Path

from otp_service.openapi_doc import openapi_document

COMMITTED = Path(__file__).parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_code() -> None:
    generated = json.loads(openapi_document())
    committed = json.loads(COMMITTED.read_text())
    assert generated == committed, "openapi/openapi.json is stale: run `otp-service openapi` and commit it"


def test_openapi_documents_every_contract_route_and_problem_json() -> None:
    doc = json.loads(COMMITTED.read_text())
    paths = doc["paths"]
    for path, method in [
        ("/v1/verifications", "post"),
        ("/v1/verifications/check", "post"),
        ("/v1/verifications/{verification_id}", "get"),
        ("/v1/verifications/{verification_id}/cancel", "post"),
        ("/v1/admin/settings", "get"),
        ("/v1/admin/settings", "patch"),
        ("/v1/admin/audit", "get"),
        ("/v1/webhooks/{provider}/{secret}", "post"),
        ("/health/live", "get"),
        ("/health/ready", "get"),
    ]:
        assert method in paths[path], (path, method)
    start = paths["/v1/verifications"]["post"]
    assert "application/problem+json" in start["responses"]["429"]["content"]
    assert doc["components"]["schemas"]["CheckIn"]["properties"]["code"]["pattern"] == "^[0-9]{4,10}$"
    assert "OTP_PEPPER" not in COMMITTED.read_text()
    assert "documentation-only" not in COMMITTED.read_text()
