"""Installs a provider package for one test, the way pip would leave it, and leaves no trace.

A package on ``sys.path`` with a ``*.dist-info`` directory holding ``entry_points.txt`` is what
``importlib.metadata.entry_points`` reads after ``pip install``; writing that layout into ``tmp_path``
and prepending it to ``sys.path`` needs no network, no build backend and no change to the venv.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "example_sms_provider"
GROUP = "otp_service.providers"


@contextmanager
def installed(site: Path, modules: dict[str, str], entry_points: dict[str, str], dist: str) -> Iterator[None]:
    """``modules`` (name -> source) and a distribution ``dist`` declaring ``entry_points`` in GROUP."""
    site.mkdir(parents=True, exist_ok=True)
    for name, source in modules.items():
        (site / f"{name}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    lines = [f"[{GROUP}]", *(f"{name} = {target}" for name, target in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    sys.path.insert(0, str(site))
    try:
        yield
    finally:
        sys.path.remove(str(site))
        for name in modules:
            sys.modules.pop(name, None)


@contextmanager
def example_installed(site: Path) -> Iterator[None]:
    """The documented example package, with the entry points its own pyproject.toml declares."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())
    with installed(
        site,
        {"example_sms_provider": (EXAMPLE / "example_sms_provider.py").read_text()},
        project["project"]["entry-points"][GROUP],
        project["project"]["name"],
    ):
        yield
