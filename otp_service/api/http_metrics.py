"""Litestar's Prometheus middleware with its per-request bookkeeping done once per label set.

The parent builds a ``Request``, two label dictionaries and four ``labels(...)`` lookups (each takes
prometheus-client's lock and builds a tuple) for every request: about 6 % of a wrong-code check's CPU
(issue 14). The metrics, their names, labels and values are the parent's, unchanged (it creates
them); only the children of each label set are kept, per process, after their first use. The label
sets are bounded: method and route template (``group_path``) come from the app's own routes, the
status from the answers it gives.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

__all__ = ("HttpMetrics",)

_SERVER_ERROR = 500


class HttpMetrics(PrometheusMiddleware):
    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        super().__init__(app, config)
        self._in_progress: dict[tuple[str, str], Gauge] = {}
        self._finished: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._errors: dict[tuple[str, str, int], Counter] = {}
        # What the parent handles that this one does not: then the parent does all of it.
        self._plain = not (config.labels or config.exemplars or config.excluded_http_methods) and config.group_path

    def _labels(self, method: str, path: str, status: int) -> dict[str, str | int | float]:
        """The parent's label dictionary, in its order (the metrics are created with these names)."""
        return {"method": method, "path": path, "status_code": status, "app_name": self._config.app_name}

    def _started(self, method: str, path: str) -> Gauge:
        key = (method, path)
        gauge = self._in_progress.get(key)
        if gauge is None:
            labels = self._labels(method, path, 200)  # the parent counts in-progress requests as 200
            gauge = self._in_progress[key] = self.requests_in_progress(labels).labels(*labels.values())
        return gauge

    def _done(self, method: str, path: str, status: int) -> tuple[Counter, Histogram]:
        key = (method, path, status)
        children = self._finished.get(key)
        if children is None:
            labels = self._labels(method, path, status)
            values = [*labels.values()]
            children = (self.request_count(labels).labels(*values), self.request_time(labels).labels(*values))
            self._finished[key] = children
        return children

    def _error(self, method: str, path: str, status: int) -> Counter:
        key = (method, path, status)
        counter = self._errors.get(key)
        if counter is None:
            labels = self._labels(method, path, status)
            counter = self._errors[key] = self.requests_error_count(labels).labels(*labels.values())
        return counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._plain or scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        http: Any = scope
        method: str = http["method"]
        path: str = http["path_template"]
        started = time.perf_counter()
        span = [200, 0.0]  # status, duration (until the last body message, as the parent measures)

        async def measured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                span[0] = message["status"]
            elif message["type"] == "http.response.body":
                span[1] = time.perf_counter() - started
            await send(message)

        in_progress = self._started(method, path)
        in_progress.inc()
        try:
            await self.app(scope, receive, measured_send)
        finally:
            in_progress.dec()
            status = int(span[0])
            if status >= _SERVER_ERROR:
                self._error(method, path, status).inc()
            count, duration = self._done(method, path, status)
            count.inc()
            duration.observe(span[1])
