"""uvicorn's httptools protocol with a cap on a request's head, so an 8 MB header is never buffered.

httptools (what uvicorn picks when it is installed, as ``serve`` and ``dev`` run) has no header
limit: a request head of any size is read into memory before the app sees it. This protocol counts
the bytes of a head still incomplete and, past :data:`MAX_HEAD_BYTES`, answers 431 problem JSON and
closes the connection. The app's own check (:mod:`otp_service.api.header_limit`, 16 KiB of headers)
still gives the exact limit under any server; this one bounds the memory under ours.
"""

from __future__ import annotations

import asyncio

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
