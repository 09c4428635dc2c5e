"""The one place where httpx failures become provider errors.

Adapters call :func:`call` and :func:`decode` and never catch httpx exceptions themselves, so every
vendor maps network trouble the same way. The distinction that matters is whether
the request may have reached the vendor: a connect failure certainly did not, a read timeout after a
send may have delivered the message and must not be retried on another provider with a new code.

A reply is read up to :data:`MAX_VENDOR_BODY_BYTES` and no further: a vendor (or whatever answers in its
place) cannot make us download or decode an unbounded body. A longer reply, a body nested past the
decoder's recursion limit or one that is not UTF-8 is a *bad reply* (:class:`ProviderProtocolError`
carrying the status), which the dispatcher reads as "may have delivered" when the status was 2xx.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, TypeVar

import httpx
import msgspec

from .base import (
    MAX_VENDOR_BODY_BYTES,
    Msisdn,
    ProviderAuthError,
    ProviderDeliveryUnknown,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ReceiptError,
    VendorSettings,
)

__all__ = (
    "UNREADABLE",
    "call",
    "decode",
    "decode_or_none",
    "decode_receipt",
    "raise_for_status",
    "reason",
    "scrub",
    "snippet",
    "unavailable",
)

T = TypeVar("T")

# What a decoder raises on a body it cannot read. RecursionError: msgspec refuses nesting deeper than
# Python's recursion limit that way, also inside fields it skips.
UNREADABLE = (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError)

_SNIPPET_LEN = 200
_DIGIT_RUN = re.compile(r"\d{4,}")  # a code, or part of a number in a format we did not send


def unavailable(status: int) -> bool:
    """Whether an HTTP status says the vendor cannot serve anyone right now (429, 5xx).

    Such a reply is :class:`ProviderUnavailable` whatever its body says: nothing was accepted, so
    another provider may be tried. Every adapter asks this before reading a body.
    """
    return status == 429 or status >= 500


def scrub(text: str, *, secrets: Iterable[str] = (), to: Msisdn | None = None, message: str | None = None) -> str:
    """Vendor text made fit for ``ProviderError.detail``: replies may echo what we sent them.

    Removes our message ``message`` (it holds the code) and every secret, masks the number ``to`` in
    each form we send it, replaces any remaining run of 4+ digits, and returns one bounded line.
    """
    if message:  # as sent, and as a JSON reply would quote it
        for form in (message, msgspec.json.encode(message).decode()[1:-1]):
            text = text.replace(form, "<text>")
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    if to is not None:
        for form in (to.e164, to.digits, to.national_number):
            text = text.replace(form, to.masked())
    text = _DIGIT_RUN.sub("#", text)
    return text.replace("\n", " ").replace("\r", " ")[:_SNIPPET_LEN]


def snippet(
    response: httpx.Response, *, secrets: Iterable[str] = (), to: Msisdn | None = None, text: str | None = None
) -> str:
    """A bounded, scrubbed, single-line excerpt of a vendor reply for error details (never the request)."""
    return scrub(response.text, secrets=secrets, to=to, message=text)


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
    content: bytes | None = None,
) -> httpx.Response:
    """Send one request with the adapter's connect and total timeouts.

    ``delivers`` says whether a request that left but got no answer may have delivered a message
    (a send or a verification start): then a read timeout is :class:`ProviderDeliveryUnknown`,
    otherwise (a token fetch, a code check) it is :class:`ProviderUnavailable`. ``content`` is a body
    sent exactly as given (a signed body must not be re-encoded).
    """
    timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
    # Compressed replies could expand past the cap inside one chunk: ask for none (replies are tiny).
    send_headers = {"Accept-Encoding": "identity", **(headers or {})}
    if json is not None:
        content = msgspec.json.encode(json)
        send_headers.setdefault("Content-Type", "application/json")
    request = client.build_request(
        method, url, params=params, content=content, data=data, headers=send_headers, timeout=timeout
    )
    try:
        async with asyncio.timeout(settings.timeout_s):
            response = await client.send(request, stream=True)
            try:
                body = await _read_capped(response, provider)
            finally:
                await response.aclose()
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProviderUnavailable(provider, f"cannot connect ({type(exc).__name__})") from exc
    except (TimeoutError, httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        reason = f"no answer ({type(exc).__name__})"
        if delivers:
            raise ProviderDeliveryUnknown(provider, reason) from exc
        raise ProviderUnavailable(provider, reason) from exc
    except httpx.HTTPError as exc:  # anything else httpx raises: treat as unreachable
        raise ProviderUnavailable(provider, f"transport error ({type(exc).__name__})") from exc
    # The body as read (already decoded from any content encoding), in a response that holds it.
    kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_FRAMING]
    return httpx.Response(response.status_code, headers=kept, content=body, request=request)


_BODY_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})


async def _read_capped(response: httpx.Response, provider: str) -> bytes:
    """The reply body, or a bad reply as soon as it grows past :data:`MAX_VENDOR_BODY_BYTES` (no more is read)."""
    status = response.status_code
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_VENDOR_BODY_BYTES:
                _bad_reply(provider, status, f"reply over {MAX_VENDOR_BODY_BYTES // 1024} KiB")
            chunks.append(chunk)
    except httpx.DecodingError as exc:  # a content encoding that does not decode: the vendor did answer
        _bad_reply(provider, status, f"reply not decodable ({type(exc).__name__})", exc)
    return b"".join(chunks)


def _bad_reply(provider: str, status: int, reason: str, cause: BaseException | None = None) -> NoReturn:
    detail = f"{reason} (HTTP {status})"
    if unavailable(status):  # the status alone says nothing was accepted
        raise ProviderUnavailable(provider, detail, status_code=status) from cause
    raise ProviderProtocolError(provider, detail, status_code=status) from cause


def raise_for_status(
    provider: str,
    response: httpx.Response,
    *,
    vendor_code: str | None = None,
    to: Msisdn | None = None,
    text: str | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Map a non-2xx status to the error tree; adapters read business codes before calling this.

    The reply excerpt in a rejection's detail is scrubbed of ``text``, ``secrets`` and the number ``to``.
    """
    status = response.status_code
    if status < 300:
        return
    detail = f"HTTP {status}"
    if unavailable(status):
        raise ProviderUnavailable(provider, detail, status_code=status, vendor_code=vendor_code)
    if status in (401, 403):
        raise ProviderAuthError(provider, detail, status_code=status, vendor_code=vendor_code)
    excerpt = snippet(response, secrets=secrets, to=to, text=text)
    raise ProviderRejected(provider, f"{detail}: {excerpt}", status_code=status, vendor_code=vendor_code)


def decode_or_none(decoder: msgspec.json.Decoder[T], response: httpx.Response) -> T | None:
    """The reply in the declared shape, or None when it has another shape (error bodies are guesses)."""
    try:
        return decoder.decode(response.content)
    except UNREADABLE:
        return None


def decode(decoder: msgspec.json.Decoder[T], response: httpx.Response, provider: str) -> T:
    """Decode a vendor reply into the declared shape or raise :class:`ProviderProtocolError`."""
    try:
        return decoder.decode(response.content)
    except UNREADABLE as exc:
        raise ProviderProtocolError(
            provider,
            f"unexpected response shape (HTTP {response.status_code}): {reason(exc)}",
            status_code=response.status_code,
        ) from exc


def decode_receipt(decoder: msgspec.json.Decoder[T], body: bytes, what: str) -> T:
    """A vendor callback body in the declared shape, or :class:`ReceiptError` saying it is not ``what``."""
    if len(body) > MAX_VENDOR_BODY_BYTES:  # the webhook route caps bodies too; this keeps parsers safe on their own
        raise ReceiptError(f"{what}: body over {MAX_VENDOR_BODY_BYTES // 1024} KiB")
    try:
        return decoder.decode(body)
    except UNREADABLE as exc:
        raise ReceiptError(f"{what}: {reason(exc)}") from None


def reason(exc: BaseException) -> str:
    """A decoder's complaint, short: RecursionError's text would only say "maximum recursion depth"."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    return str(exc)
