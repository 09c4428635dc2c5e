"""A client generated from openapi/openapi.json (openapi-python-client) sends and checks a code.

This is what a client team does with the committed document: generate, import, call. Clean
operation ids give clean function names (``send_verification``, not ``v1_verifications_start``);
the generator runs offline (no project metadata, no post-hooks) into a temporary directory.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import API_KEY, Vendors

SPEC = Path(__file__).parent.parent / "openapi" / "openapi.json"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "otp_service_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("client")
    config = root / "config.yaml"
    config.write_text("post_hooks: []\n")
    out = root / "out"
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(SPEC),
            "--meta",
            "none",
            "--output-path",
            str(out / PACKAGE),
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield out / PACKAGE
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_client_api_is_named_by_the_operation_ids(generated: Path) -> None:
    modules = {p.stem for p in (generated / "api").rglob("*.py") if p.stem != "__init__"}
    assert {"send_verification", "check_verification", "get_verification", "cancel_verification"} <= modules
    assert {"get_settings", "update_settings", "get_audit_log", "live", "ready"} <= modules
    assert not [m for m in modules if m.startswith("v1_")]
    # Client generators may leave the operator's and the vendors' routes out by tag.
    assert sorted(p.name for p in (generated / "api").iterdir() if p.is_dir()) == [
        "admin",
        "operations",
        "verifications",
        "webhooks",
    ]


async def test_a_send_and_a_check_through_the_generated_client(generated: Path, server: str, vendors: Vendors) -> None:
    client_module: Any = _module("client")
    models: Any = _module("models")
    send: Any = _module("api.verifications.send_verification")
    check: Any = _module("api.verifications.check_verification")
    get: Any = _module("api.verifications.get_verification")

    async with client_module.AuthenticatedClient(base_url=server, token=API_KEY) as client:
        sent = await send.asyncio_detailed(client=client, body=models.StartIn(to="+34 600 100 200"))
        assert sent.status_code == 201, sent.content
        verification = sent.parsed
        assert verification.to == "+34600100200"
        assert verification.status == "pending"

        code = vendors.last_code()
        checked = await check.asyncio(client=client, body=models.CheckIn(code=code, id=verification.id))
        assert (checked.status, checked.valid) == ("approved", True)

        read = await get.asyncio(client=client, verification_id=verification.id)
        assert read.status == "approved"


async def test_a_problem_comes_back_as_the_documented_problem_model(
    generated: Path, server: str, vendors: Vendors
) -> None:
    client_module: Any = _module("client")
    models: Any = _module("models")
    check: Any = _module("api.verifications.check_verification")

    async with client_module.AuthenticatedClient(base_url=server, token=API_KEY) as client:
        missing = await check.asyncio_detailed(client=client, body=models.CheckIn(code="123456", to="+34600100200"))
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.Problem)
    assert missing.parsed.code == "not_found"
