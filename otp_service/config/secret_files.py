"""``<VARIABLE>_FILE``: a secret read from a file, the Docker and Kubernetes secrets convention.

Orchestrators mount secrets as files (``/run/secrets/...``) so they stay out of ``docker inspect``
and the process listing. The file's content is the value, minus one trailing newline (what
``echo`` or an editor adds). Errors name the variable and the path, never the content.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from .problems import Problems

__all__ = ("FILE_SUFFIX", "read_secret_files")

FILE_SUFFIX = "_FILE"


def _read(path: str) -> str:
    """The secret in ``path``; raises OSError or UnicodeDecodeError."""
    content = Path(path).read_text(encoding="utf-8")
    if content.endswith("\r\n"):
        return content[:-2]
    return content.removesuffix("\n")


def read_secret_files(
    environ: Mapping[str, str], secret_variables: Iterable[str], problems: Problems
) -> dict[str, str]:
    """A copy of ``environ`` where each set ``X_FILE`` became ``X`` (the ``_FILE`` names are removed)."""
    resolved = dict(environ)
    for name in secret_variables:
        file_variable = name + FILE_SUFFIX
        path = resolved.pop(file_variable, "")
        if not path:
            continue
        if resolved.get(name):
            problems.add(f"{file_variable}: {name} is set too; keep one of the two")
            continue
        try:
            value = _read(path)
        except UnicodeDecodeError:
            problems.add(f"{file_variable}: {path} is not UTF-8 text")
            continue
        except OSError as exc:
            problems.add(f"{file_variable}: cannot read {path} ({exc.strerror or type(exc).__name__})")
            continue
        if not value.strip():
            problems.add(f"{file_variable}: {path} is empty")
            continue
        resolved[name] = value
    return resolved
