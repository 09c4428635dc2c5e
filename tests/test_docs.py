"""The documents in the repository stay true: docs/api.md against the OpenAPI, links inside the repository.

``openapi/openapi.json`` is what the code generates (tests/test_openapi.py keeps it so), so an endpoint,
header, request field or problem code that the code has and docs/api.md does not is a page gone stale.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_DOC = ROOT / "docs" / "api.md"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "SECURITY.md", ROOT / "CHANGELOG.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _openapi() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    return loaded


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in _openapi()["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _schema(ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = _openapi()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def _problem_codes() -> set[str]:
    codes: set[str] = set()
    for name, schema in _openapi()["components"]["schemas"].items():
        if name.startswith("Problem") and "code" in schema.get("properties", {}):
            codes.update(schema["properties"]["code"].get("enum", []))
    return codes


def _request_fields() -> set[str]:
    fields: set[str] = set()
    for _, _, operation in _operations():
        for content in operation.get("requestBody", {}).get("content", {}).values():
            ref = content.get("schema", {}).get("$ref")
            if ref:
                fields.update(_schema(ref).get("properties", {}))
    return fields


def _api_doc() -> str:
    return API_DOC.read_text()


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in _operations()], ids=lambda v: str(v))
def test_every_operation_is_documented(method: str, path: str) -> None:
    doc = _api_doc()
    assert re.search(rf"{method}\s+{re.escape(path)}(?![\w/{{])", doc), (
        f"{method} {path} is in openapi/openapi.json but not in docs/api.md"
    )


def test_every_problem_code_is_documented() -> None:
    codes = _problem_codes()
    assert "rate_limited" in codes, "the OpenAPI document no longer lists the problem codes: update this test"
    missing = sorted(code for code in codes if f"`{code}`" not in _api_doc())
    assert not missing, f"problem codes missing from docs/api.md: {missing}"


def test_every_header_parameter_is_documented() -> None:
    headers = {
        parameter["name"]
        for _, _, operation in _operations()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header"
    }
    assert headers
    missing = sorted(name for name in headers | {"Retry-After", "X-Request-ID"} if f"`{name}`" not in _api_doc())
    assert not missing, f"headers missing from docs/api.md: {missing}"


def test_every_request_field_is_documented() -> None:
    fields = _request_fields()
    assert {"to", "code"} <= fields
    missing = sorted(name for name in fields if f'"{name}"' not in _api_doc() and f"`{name}`" not in _api_doc())
    assert not missing, f"request fields missing from docs/api.md: {missing}"


def test_an_undocumented_operation_would_be_caught() -> None:
    assert not re.search(r"DELETE\s+/v1/verifications/\{verification_id\}(?![\w/{])", _api_doc())


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_links_stay_inside_the_repository_and_resolve(document: Path) -> None:
    for target in LINK.findall(document.read_text()):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        path = (document.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{document.name} links outside the repository: {target}"
        assert path.exists(), f"{document.name} links to a missing file: {target}"


def test_readme_links_the_contract_in_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "](docs/api.md)" in readme
    assert "shared/" not in readme


def test_license_is_the_apache_license_that_pyproject_names() -> None:
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
