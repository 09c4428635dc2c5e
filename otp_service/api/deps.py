"""The routes' dependencies, declared once on the app: routes name what they need as parameters.

The service objects are built in the app's lifespan (they need the Redis client) and read from the
app's state here, and only here; everything else is fixed when the app is built. No route gets a
Redis client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from providers import ReceiptParser

from ..domain.app_settings import AppSettings
from ..domain.event_endpoints import EndpointBook
from ..domain.event_store import EventStore
from ..domain.fraud import FraudGuard
from ..domain.operations import Operations
from ..domain.service import OtpService
from .auth import Authenticator

__all__ = ("Caller", "ReceiptParsers", "client_ip", "dependencies", "from_state")

T = TypeVar("T")


class ReceiptParsers:
    """The delivery-receipt parser of each provider that sends receipts (a class Litestar can check)."""

    def __init__(self, parsers: Mapping[str, ReceiptParser]) -> None:
        self._parsers = dict(parsers)

    def get(self, provider: str) -> ReceiptParser | None:
        return self._parsers.get(provider)


@dataclass(frozen=True, slots=True)
class Caller:
    """Everything a client route needs, as one dependency: the service, the API key's name, whether
    the key is public, and the caller's address.

    One and not four because Litestar resolves several dependencies of a route in an anyio task
    group, one task each: on a wrong-code check that was 6.5 % of the request's CPU (issue 14).
    """

    service: OtpService
    client: str
    key_public: bool
    ip: str


def from_state(attr: str, kind: type[T]) -> Provide:
    """A dependency that is an object start-up put on ``app.state``, typed as ``kind`` for the route's
    signature (one definition instead of one accessor function per object)."""

    def provide(state: State) -> Any:
        return getattr(state, attr)

    provide.__annotations__ = {"state": State, "return": kind}
    return Provide(provide, sync_to_thread=False)


def _client(request: Request[Any, Any, Any]) -> str:
    """The API key's name (or ``admin``), set by the access guard before any route runs."""
    client: str = request.state.client
    return client


def _key_public(request: Request[Any, Any, Any]) -> bool:
    """Whether the API key is marked ``:public`` (set by the access guard, like ``client``)."""
    public: bool = request.state.key_public
    return public


def client_ip(request: Request[Any, Any, Any], trusted_hops: int) -> str:
    """The caller's address for the per-IP limit.

    ``X-Forwarded-For`` is only believed for as many hops as the operator says sit in front of the
    service; otherwise any client could pick its own address and dodge the limit. Several header
    lines are one list joined in order (RFC 9110 5.3): a proxy that adds its own line after the
    client's must still be the one counted from the end.
    """
    if trusted_hops > 0:
        joined = ",".join(request.headers.getall("x-forwarded-for", []))
        hops = [h.strip() for h in joined.split(",") if h.strip()]
        if len(hops) >= trusted_hops:
            return hops[-trusted_hops]
    return request.client.host if request.client else "unknown"


def dependencies(
    auth: Authenticator, receipt_parsers: Mapping[str, ReceiptParser], trusted_proxy_hops: int
) -> dict[str, Provide]:
    """Every dependency a route may ask for, by parameter name."""

    def provide_auth() -> Authenticator:
        return auth

    parsers = ReceiptParsers(receipt_parsers)

    def provide_receipt_parsers() -> ReceiptParsers:
        return parsers

    def provide_client_ip(request: Request[Any, Any, Any]) -> str:
        return client_ip(request, trusted_proxy_hops)

    def provide_caller(request: Request[Any, Any, Any]) -> Caller:
        state = request.state
        service: OtpService = request.app.state.otp_service
        return Caller(service, state.client, state.key_public, client_ip(request, trusted_proxy_hops))

    return {
        "caller": Provide(provide_caller, sync_to_thread=False),
        "otp_service": from_state("otp_service", OtpService),
        "operations": from_state("operations", Operations),
        "app_settings": from_state("app_settings", AppSettings),
        "fraud": from_state("fraud", FraudGuard),
        "client": Provide(_client, sync_to_thread=False),
        "client_ip": Provide(provide_client_ip, sync_to_thread=False),
        "key_public": Provide(_key_public, sync_to_thread=False),
        "auth": Provide(provide_auth, sync_to_thread=False),
        "receipt_parsers": Provide(provide_receipt_parsers, sync_to_thread=False),
        "event_endpoints": from_state("event_endpoints", EndpointBook),
        "event_store": from_state("event_store", EventStore),
    }
