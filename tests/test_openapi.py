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
    assert doc["components"]["schemas"]["CheckIn"]["properties"]["code"]["pattern"] == r"^[0-9]{4,10}$(?!\n)"
    assert "OTP_PEPPER" not in COMMITTED.read_text()
    assert "documentation-only" not in COMMITTED.read_text()


def test_every_operation_has_a_clean_operation_id_and_a_tag() -> None:
    doc = json.loads(COMMITTED.read_text())
    ids = {(path, method): op["operationId"] for path, ops in doc["paths"].items() for method, op in ops.items()}
    assert ids == {
        ("/v1/verifications", "post"): "sendVerification",
        ("/v1/verifications/check", "post"): "checkVerification",
        ("/v1/verifications/{verification_id}", "get"): "getVerification",
        ("/v1/verifications/{verification_id}/cancel", "post"): "cancelVerification",
        ("/v1/admin/settings", "get"): "getSettings",
        ("/v1/admin/settings", "patch"): "updateSettings",
        ("/v1/admin/settings", "put"): "replaceSettings",
        ("/v1/admin/audit", "get"): "getAuditLog",
        ("/v1/admin/apps", "get"): "listApps",
        ("/v1/admin/apps/{app}/settings", "get"): "getAppSettings",
        ("/v1/admin/apps/{app}/settings", "patch"): "updateAppSettings",
        ("/v1/admin/stats", "get"): "getSendStats",
        ("/v1/admin/budgets", "get"): "getBudgets",
        ("/v1/admin/holds", "get"): "getHeldPrefixes",
        ("/v1/admin/holds/{prefix}", "delete"): "releasePrefix",
        ("/v1/admin/apps/{app}/event-endpoints", "post"): "createEventEndpoint",
        ("/v1/admin/apps/{app}/event-endpoints", "get"): "listEventEndpoints",
        ("/v1/admin/apps/{app}/event-endpoints/{endpoint_id}", "patch"): "updateEventEndpoint",
        ("/v1/admin/apps/{app}/event-endpoints/{endpoint_id}", "delete"): "deleteEventEndpoint",
        ("/v1/admin/apps/{app}/event-endpoints/{endpoint_id}/rotate-secret", "post"): "rotateEventEndpointSecret",
        ("/v1/admin/apps/{app}/event-dead-letters", "get"): "listEventDeadLetters",
        ("/v1/admin/apps/{app}/event-dead-letters/replay", "post"): "replayEventDeadLetters",
        ("/v1/webhooks/{provider}/{secret}", "post"): "receiveDeliveryReceipt",
        ("/health/live", "get"): "live",
        ("/health/ready", "get"): "ready",
    }
    tags = {path: op["tags"] for path, ops in doc["paths"].items() for op in ops.values()}
    assert tags["/v1/admin/settings"] == ["admin"]
    assert tags["/v1/webhooks/{provider}/{secret}"] == ["webhooks"]
    assert {tag["name"] for tag in doc["tags"]} == {"verifications", "admin", "webhooks", "operations"}


def test_every_error_response_is_documented_as_problem_json() -> None:
    """Litestar's own 400 shape (``status_code``, ``extra``) must not leak into the document."""
    doc = json.loads(COMMITTED.read_text())
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if int(status) < 400 or path == "/health/ready":
                    continue
                assert list(response["content"]) == ["application/problem+json"], (path, method, status)
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (path, method, status)
                assert "`" in response["description"], (path, method, status)  # names its codes


def test_limits_and_outages_document_retry_after_and_401_its_challenge() -> None:
    doc = json.loads(COMMITTED.read_text())
    for path, ops in doc["paths"].items():
        for op in ops.values():
            responses = op["responses"]
            success = next(status for status in ("200", "201", "204") if status in responses)
            assert "x-request-id" in responses[success]["headers"]
            for status, header in [("429", "Retry-After"), ("503", "Retry-After"), ("401", "WWW-Authenticate")]:
                if status in responses and path != "/health/ready":
                    assert responses[status]["headers"][header]["required"] is True, (path, status)
    send = doc["paths"]["/v1/verifications"]["post"]["responses"]
    assert send["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}


def test_readiness_documents_its_503() -> None:
    doc = json.loads(COMMITTED.read_text())
    ready = doc["paths"]["/health/ready"]["get"]["responses"]
    assert ready["503"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Readiness"}
    readiness = doc["components"]["schemas"]["Readiness"]["properties"]
    assert readiness["redis"]["enum"] == ["up", "down"]
