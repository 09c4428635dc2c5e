"""What this replica knows about each configured provider, for the admin console's providers page.

Everything comes from where the dispatcher already puts it: the circuit breaker's state (per
process, see ``breaker.py``) and the Prometheus metrics it records on every vendor call (sends by
outcome, failures by kind, latency). The figures are this process's since it started; with several
workers or replicas, ``/metrics`` summed by Prometheus is the fleet's view.
"""

from __future__ import annotations

from collections import defaultdict

import msgspec
from prometheus_client.metrics import MetricWrapperBase

from ..metrics import PROVIDER_ERRORS, PROVIDER_LATENCY, SENDS
from .dispatcher import Dispatcher

__all__ = ("ProviderHealth", "ProviderReport")


class ProviderReport(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: str  # "verification" (the vendor makes and checks the code) or "sms" (it carries ours)
    position: int | None  # 1-based place in the global fallback order; None: configured, not in it
    breaker: str  # closed | half_open | open
    calls: int
    failures: int
    error_rate: float | None  # failures / calls; None before the first call
    mean_latency_ms: float | None
    errors: dict[str, int]  # failures by kind (timeout, unavailable, rejected, ...)
    outcomes: dict[str, int]  # sends by outcome (accepted, circuit_open, ...)


def _samples(metric: MetricWrapperBase, suffix: str) -> list[tuple[dict[str, str], float]]:
    found = []
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith(suffix):
                found.append((dict(sample.labels), float(sample.value)))
    return found


class ProviderHealth:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    def report(self, order: list[str]) -> list[ProviderReport]:
        """Every configured provider: those in ``order`` first, in that order, then the others."""
        providers = self._dispatcher.providers
        outcomes: dict[str, dict[str, int]] = defaultdict(dict)
        for labels, value in _samples(SENDS, "_total"):
            outcomes[labels["provider"]][labels["outcome"]] = int(value)
        errors: dict[str, dict[str, int]] = defaultdict(dict)
        for labels, value in _samples(PROVIDER_ERRORS, "_total"):
            errors[labels["provider"]][labels["kind"]] = int(value)
        seconds: dict[str, float] = defaultdict(float)
        calls: dict[str, int] = defaultdict(int)
        for labels, value in _samples(PROVIDER_LATENCY, "_sum"):
            seconds[labels["provider"]] += value
        for labels, value in _samples(PROVIDER_LATENCY, "_count"):
            calls[labels["provider"]] += int(value)
        names = [n for n in order if n in providers.names()] + sorted(set(providers.names()) - set(order))
        reports = []
        for name in names:
            made, failed = calls[name], sum(errors[name].values())
            reports.append(
                ProviderReport(
                    name=name,
                    kind="verification" if name in providers.verifiers else "sms",
                    position=order.index(name) + 1 if name in order else None,
                    breaker=self._dispatcher.breakers[name].state,
                    calls=made,
                    failures=failed,
                    error_rate=failed / made if made else None,
                    mean_latency_ms=seconds[name] * 1000 / made if made else None,
                    errors=dict(sorted(errors[name].items())),
                    outcomes=dict(sorted(outcomes[name].items())),
                )
            )
        return reports
