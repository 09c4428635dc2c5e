"""Where ``/metrics`` is served from when it is not the public port, and the multi-worker folder.

With several workers, prometheus-client aggregates through files in ``PROMETHEUS_MULTIPROC_DIR``.
``serve`` makes that folder and removes it when it exits; a folder left by a killed run is removed
by the next start, once its owner (recorded inside) is gone. ``OTP_METRICS_PORT`` serves the
metrics on their own port (prometheus-client's server, in the parent process), so the public port
need not expose them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ("PREFIX", "multiprocess_dir", "serve_metrics")

PREFIX = "otp-metrics-"
OWNER = "owner.pid"  # not a *.db file, so prometheus-client ignores it


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale(root: Path | None = None) -> list[Path]:
    """Remove the folders of our earlier runs whose owner process is gone (a crash or SIGKILL)."""
    removed = []
    for path in (root or Path(tempfile.gettempdir())).glob(PREFIX + "*"):
        try:
            if path.stat().st_uid != os.getuid():
                continue
            pid = int((path / OWNER).read_text())
        except (OSError, ValueError):
            continue  # not one of ours (or not readable): leave it
        if not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def multiprocess_dir(workers: int) -> Iterator[Path | None]:
    """A fresh ``PROMETHEUS_MULTIPROC_DIR`` for a multi-worker run, removed when the run ends.

    A folder the operator chose (the variable already set) is theirs: used, never removed.
    """
    if workers == 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield None
        return
    remove_stale()
    path = Path(tempfile.mkdtemp(prefix=PREFIX))
    try:
        (path / OWNER).write_text(str(os.getpid()))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
        yield path
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(path, ignore_errors=True)


def serve_metrics(host: str, port: int) -> None:
    """Prometheus text on ``host:port`` from a daemon thread: every worker's metrics when there are several."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(port, addr=host, registry=registry)
