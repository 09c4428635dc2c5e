"""Domain errors. The API layer maps each one to a problem-JSON response in one place."""

from __future__ import annotations

__all__ = (
    "Conflict",
    "CountryNotAllowed",
    "DomainError",
    "InvalidPhone",
    "NotFound",
    "NumberNotAllowed",
    "ProviderUnavailableError",
    "RateLimited",
    "SettingsInvalid",
    "SettingsUnreadable",
    "StoreUnavailable",
    "ValidationFailed",
)


class DomainError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(DomainError):
    """A well-formed request that breaks a rule only known at run time (e.g. the code's length)."""

    def __init__(self, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class SettingsInvalid(ValidationFailed):
    pass


class InvalidPhone(DomainError):
    pass


class CountryNotAllowed(DomainError):
    pass


class NumberNotAllowed(DomainError):
    """A valid number of a type or prefix the live settings refuse; ``reason`` is ``type`` or ``prefix``."""

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class RateLimited(DomainError):
    """``limit`` names which limit tripped (metrics label); ``retry_after_s`` is whole seconds >= 1."""

    def __init__(self, detail: str, *, limit: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.limit = limit
        self.retry_after_s = max(1, retry_after_s)


class ProviderUnavailableError(DomainError):
    """Every provider in the chain failed; ``tried`` lists ``{"provider", "reason"}`` without secrets."""

    def __init__(self, detail: str, tried: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.tried = tried


class StoreUnavailable(DomainError):
    pass


class SettingsUnreadable(DomainError):
    """The live settings document cannot be read, so a change cannot be merged into it (503 until an
    admin replaces the document whole)."""
