"""Configuration errors, collected rather than raised one at a time.

An operator who fixes one variable per run needs as many runs as there are mistakes; the loader
records each problem and raises :class:`ConfigErrors` once with all of them. Each message starts
with the variable it is about and never contains a secret's value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ("ConfigErrors", "Problems", "SettingsError")

T = TypeVar("T")


class SettingsError(ValueError):
    """One bad setting; the message starts with the variable's name."""


class ConfigErrors(SettingsError):
    """Every problem found in one pass over the environment, in the order they were found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


class Problems:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def __len__(self) -> int:
        return len(self.errors)

    def mentions(self, variable: str) -> bool:
        """Whether a problem about ``variable`` (or its ``_FILE`` form) is recorded already."""
        return any(error.startswith((f"{variable}:", f"{variable}_FILE:")) for error in self.errors)

    def add(self, message: str) -> None:
        self.errors.append(message)

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Record a SettingsError raised inside the block instead of letting it stop the loader."""
        try:
            yield
        except ConfigErrors as exc:
            self.errors.extend(exc.errors)
        except SettingsError as exc:
            self.errors.append(str(exc))

    def value(self, fallback: T, read: Callable[[], T]) -> T:
        """``read()``, or ``fallback`` with the problem recorded when it raises SettingsError."""
        with self.collecting():
            return read()
        return fallback

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConfigErrors(self.errors)
