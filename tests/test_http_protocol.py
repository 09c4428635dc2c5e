"""The server protocol's transport: a response's head and body leave in one write, and nothing
written before a close is lost or reordered (``otp_service/http_protocol.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

from otp_service.http_protocol import _OneSend


class Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1234) if name == "peername" else default


async def test_writes_of_one_loop_turn_leave_in_one_write() -> None:
    socket = Recorder()
    transport = _OneSend(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert socket.writes == []
    await asyncio.sleep(0)
    assert socket.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert socket.writes[1:] == [b"next"]


async def test_a_close_sends_what_was_written_first() -> None:
    socket = Recorder()
    transport = _OneSend(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"head")
    transport.write(b"body")
    transport.close()
    assert socket.writes == [b"headbody"]
    assert socket.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing left
    assert socket.writes == [b"headbody"]


async def test_everything_else_is_the_socket_transports_own() -> None:
    socket = Recorder()
    transport = _OneSend(socket, asyncio.get_running_loop())  # type: ignore[arg-type]
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1234)
    assert transport.is_closing() is False
