"""Dependency providers: the routes get the service from app state, never a Redis client."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from ..domain.service import OtpService

__all__ = ("client_ip", "provide_otp_service")


def provide_otp_service(state: State) -> OtpService:
    service: OtpService = state.otp_service
    return service


def client_ip(request: Request[Any, Any, Any], trusted_hops: int) -> str:
    """The caller's address for the per-IP limit.

    ``X-Forwarded-For`` is only believed for as many hops as the operator says sit in front of the
    service; otherwise any client could pick its own address and dodge the limit.
    """
    if trusted_hops > 0:
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        if len(hops) >= trusted_hops:
            return hops[-trusted_hops]
    return request.client.host if request.client else "unknown"
