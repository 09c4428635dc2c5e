"""The one shared HTTP client of the provider adapters, and the transport under it.

Adapters speak httpx and nothing else; the transport is the seam (tests hand in a
``MockTransport``). In production the transport is aiohttp's connection pool, through
``httpx-aiohttp``: measured on the benchmark machine, httpx's own pool (httpcore over anyio) cost
about 2.9 ms of CPU per vendor call at 8 concurrent calls and 5 ms at 32, aiohttp about 0.9 ms, and a
send makes one vendor call (see the README, "Performance").

What the adapters must be able to rely on is the failure class (``providers/_http.py``): a connect
failure means the request never left, anything after that may have delivered a message. httpx-aiohttp
maps aiohttp's errors for the common cases but reports a dropped connection (``ServerDisconnectedError``,
a reset) as a *connect* timeout, which would make the chain send a second, different code through
the next provider, and lets some aiohttp errors through unmapped. :class:`VendorTransport` classifies
every aiohttp error itself, conservatively: only errors raised before the request was written count
as "never left".
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx
from aiohttp.client_proto import ResponseHandler
from httpx_aiohttp import AiohttpTransport

__all__ = ("VendorTransport", "make_http_client")


def classify(exc: BaseException) -> httpx.TransportError:
    """The httpx error that says what an aiohttp failure means for delivery.

    The message is the class name only: aiohttp's own text can hold the URL, and some vendor URLs
    carry a code or a token in the query string.
    """
    name = type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # no connection (or pool slot) in time
        return httpx.ConnectTimeout(name)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake: nothing was sent
        return httpx.ConnectError(name)
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):  # sent, no answer in time
        return httpx.ReadTimeout(name)
    # Dropped or reset connections, malformed replies, anything else: the request may have arrived.
    return httpx.RemoteProtocolError(name)


@contextlib.contextmanager
def _classified() -> Iterator[None]:
    try:
        yield
    except httpx.TransportError as exc:  # httpx-aiohttp's own mapping: redo it from the cause
        cause = exc.__cause__
        if isinstance(cause, aiohttp.ClientError | TimeoutError):
            raise classify(cause) from cause
        raise
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise classify(exc) from exc


class _ClassifiedStream(httpx.AsyncByteStream):
    """The response body, with the same classification for failures while it is read."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _classified():
            async for chunk in self._inner:
                yield chunk

    async def aclose(self) -> None:
        with _classified():
            await self._inner.aclose()


def _closed_by_peer(proto: ResponseHandler) -> bool:
    """Whether an idle pooled connection has something to read: the server's FIN (it closed the
    connection) or bytes nobody asked for. Either way it must not carry another request."""
    transport = proto.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return False  # nothing to poll: aiohttp's own check decides
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):  # already closed
        return True
    return bool(readable)


class _CheckedPoolConnector(aiohttp.TCPConnector):
    """aiohttp reuses a pooled connection while its protocol says "connected", and learns that the
    server closed it only when the event loop next reads from that socket. A busy worker can take a
    connection whose FIN is already in the kernel, write a send into it and get "disconnected": for a
    send that means "may have delivered", so the user gets a 201 and no SMS (seen in the benchmark,
    against a vendor fake that closes idle connections after 5 s, like uvicorn, Node and Apache do).
    Before reuse, the socket itself is polled, as httpcore does: a readable idle connection is closed
    instead, and the request goes out on a fresh one."""

    async def _get(self, key: Any, *args: Any, **kwargs: Any) -> Any:
        # aiohttp takes the oldest idle connection first: poll from there up to the first one that
        # is still good (one poll per request as a rule), closing the ones the vendor closed.
        for proto, _ in self._conns.get(key, ()):
            if not _closed_by_peer(proto):
                break
            proto.close()  # aiohttp then sees it closed and drops it
        return await super()._get(key, *args, **kwargs)


class VendorTransport(AiohttpTransport):
    """httpx-aiohttp's transport with delivery-safe failure classes (see the module docstring) and a
    pool that never reuses a connection the vendor already closed."""

    def get_client(self) -> aiohttp.ClientSession:
        if self.client is not None:
            return super().get_client()
        connector = _CheckedPoolConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            limit=self.limits.max_connections or 0,
        )
        return aiohttp.ClientSession(connector=connector)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _classified():
            response = await super().handle_async_request(request)
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        response.stream = _ClassifiedStream(stream)
        return response


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


_NO_COOKIES = _NoCookies()  # never holds anything, so one serves every client


class _VendorClient(httpx.AsyncClient):
    """httpx's client without a cookie jar. Vendors authenticate with tokens, never cookies, and one
    client serves every adapter: a ``Set-Cookie`` from one vendor (or a proxy on the way) has no
    business in later requests. It is also work saved on every call: httpx parses each response's
    cookies through ``http.cookiejar`` (2.5 % of a send's CPU, issue 14)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None


def make_http_client(
    transport: httpx.AsyncBaseTransport | None, *, total_timeout_s: float, connect_timeout_s: float = 2.0
) -> httpx.AsyncClient:
    """One pooled client for every adapter; ``transport`` replaces the network (tests)."""
    # Idle connections are dropped after 3 s, before the servers that close theirs soonest (5 s:
    # Apache, Node, uvicorn) do: with equal timeouts a send can cross the server's close on the wire,
    # and that send fails as "may have delivered" although the vendor never read it.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=3)
    return _VendorClient(  # pool limits belong to the transport: httpx ignores its own with one
        transport=transport or VendorTransport(limits=limits),
        timeout=httpx.Timeout(total_timeout_s, connect=connect_timeout_s),
        follow_redirects=False,
    )
