"""The one place where httpx failures become provider errors.

Adapters call :func:`call` and :func:`decode` and never catch httpx exceptions themselves, so every
vendor maps network trouble the same way (STYLE.md rule 3). The distinction that matters is whether
the request may have reached the vendor: a connect failure certainly did not, a read timeout after a
send may have delivered the message and must not be retried on another provider with a new code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from .base import (
    ProviderAuthError,
    ProviderDeliveryUnknown,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    VendorSettings,
)

__all__ = ("call", "decode", "raise_for_status", "snippet")

T = TypeVar("T")

_SNIPPET_LEN = 200


def snippet(response: httpx.Response) -> str:
    """A bounded, single-line excerpt of a vendor reply for error details (never the request)."""
    text = response.text[:_SNIPPET_LEN].replace("\n", " ").replace("\r", " ")
    return text


async def call(
    client: httpx.AsyncClient,
    provider: str,
    settings: VendorSettings,
    method: str,
    url: str,
    *,
    delivers: bool,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    data: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send one request with the adapter's connect and total timeouts.

    ``delivers`` says whether a request that left but got no answer may have delivered a message
    (a send or a verification start): then a read timeout is :class:`ProviderDeliveryUnknown`,
    otherwise (a token fetch, a code check) it is :class:`ProviderUnavailable`.
    """
    timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
    content: bytes | None = None
    send_headers = dict(headers or {})
    if json is not None:
        content = msgspec.json.encode(json)
        send_headers.setdefault("Content-Type", "application/json")
    try:
        async with asyncio.timeout(settings.timeout_s):
            return await client.request(
                method,
                url,
                params=params,
                content=content,
                data=data,
                headers=send_headers,
                timeout=timeout,
            )
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProviderUnavailable(provider, f"cannot connect ({type(exc).__name__})") from exc
    except (TimeoutError, httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        reason = f"no answer ({type(exc).__name__})"
        if delivers:
            raise ProviderDeliveryUnknown(provider, reason) from exc
        raise ProviderUnavailable(provider, reason) from exc
    except httpx.HTTPError as exc:  # anything else httpx raises: treat as unreachable
        raise ProviderUnavailable(provider, f"transport error ({type(exc).__name__})") from exc


def raise_for_status(provider: str, response: httpx.Response, *, vendor_code: str | None = None) -> None:
    """Map a non-2xx status to the error tree; adapters read business codes before calling this."""
    status = response.status_code
    if status < 300:
        return
    detail = f"HTTP {status}"
    if status == 429 or status >= 500:
        raise ProviderUnavailable(provider, detail, status_code=status, vendor_code=vendor_code)
    if status in (401, 403):
        raise ProviderAuthError(provider, detail, status_code=status, vendor_code=vendor_code)
    raise ProviderRejected(provider, f"{detail}: {snippet(response)}", status_code=status, vendor_code=vendor_code)


def decode(decoder: msgspec.json.Decoder[T], response: httpx.Response, provider: str) -> T:
    """Decode a vendor reply into the declared shape or raise :class:`ProviderProtocolError`."""
    try:
        return decoder.decode(response.content)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ProviderProtocolError(
            provider,
            f"unexpected response shape (HTTP {response.status_code}): {exc}",
            status_code=response.status_code,
        ) from exc
