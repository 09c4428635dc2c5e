"""uvicorn's httptools protocol with a cap on a request's head, so an 8 MB header is never buffered,
and a response's head and body sent together.

httptools (what uvicorn picks when it is installed, as ``serve`` and ``dev`` run) has no header
limit: a request head of any size is read into memory before the app sees it. This protocol counts
the bytes of a head still incomplete and, past :data:`MAX_HEAD_BYTES`, answers 431 problem JSON and
closes the connection. The app's own check (:mod:`otp_service.api.header_limit`, 16 KiB of headers)
still gives the exact limit under any server; this one bounds the memory under ours.

uvicorn writes a response's head and its body to the socket apart: two system calls and, with
TCP_NODELAY, two packets for every answer. Writes made in one turn of the event loop now leave
together (:class:`_OneSend`), which is what every answer of this service is (issue 14).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .api.problems import PROBLEM_MEDIA_TYPE, ProblemCode, problem_body

__all__ = ("MAX_HEAD_BYTES", "CappedHttpToolsProtocol")

MAX_HEAD_BYTES = 32 * 1024  # request line and headers; the app refuses headers over 16 KiB itself


class CappedHttpToolsProtocol(HttpToolsProtocol):
    """Counts the chunks that arrive while a head is incomplete. The chunk a request starts in is not
    counted (it may hold the end of the previous request's body too), so no request under the cap is
    ever refused; memory stays under the cap plus one read (asyncio reads at most 256 KiB)."""

    _head_bytes = 0
    _in_head = False  # from a request's first byte to the end of its headers

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        # Flow control keeps the socket's own transport; everything written goes through this one.
        self.transport = cast("asyncio.Transport", _OneSend(self.transport, self.loop))

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        transport: asyncio.Transport = self.transport
        if self._in_head and self._head_bytes > MAX_HEAD_BYTES and not transport.is_closing():
            self._in_head = False
            _refuse(transport)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()


class _OneSend:
    """A transport whose writes within one turn of the event loop go out in one ``write``.

    Everything else is the socket's transport's own; closing sends what is pending first, so nothing
    written before a close is lost or reordered.
    """

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _refuse(transport: asyncio.Transport) -> None:
    detail = f"The request head is larger than {MAX_HEAD_BYTES // 1024} KiB."
    body = msgspec.json.encode(problem_body(ProblemCode.VALIDATION_ERROR, detail, status=431))
    head = (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        + b"content-type: "
        + PROBLEM_MEDIA_TYPE.encode()
        + b"\r\n"
        + b"content-length: "
        + str(len(body)).encode()
        + b"\r\n"
        + b"connection: close\r\n\r\n"
    )
    transport.write(head + body)
    transport.close()
