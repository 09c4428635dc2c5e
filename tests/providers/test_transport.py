"""The production vendor transport on real loopback sockets: every way a vendor connection fails
lands in the right class, because the chain decides from it whether a message may have been sent.

A connect failure means "never left" (the next provider may send); a timeout or a dropped
connection after the request was written means "may have delivered" (no second code). Each case is
driven by a tiny TCP server that misbehaves on purpose, through ``providers._http.call`` as every
adapter uses it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from otp_service.http_client import make_http_client
from providers import ProviderDeliveryUnknown, ProviderProtocolError, ProviderUnavailable, VendorSettings
from providers._http import call

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Settings(VendorSettings, frozen=True, kw_only=True):
    pass


FAST = Settings(connect_timeout_s=0.5, timeout_s=0.8)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + await reader.readexactly(length)


@pytest.fixture
async def vendor() -> AsyncIterator[Callable[[Behaviour], Awaitable[str]]]:
    servers: list[asyncio.Server] = []
    handlers: set[asyncio.Task[object]] = set()

    async def start(behaviour: Behaviour) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await behaviour(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
    for task in handlers:  # a handler still hanging on purpose ends with its test, not in a later one
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)


async def send(client: httpx.AsyncClient, url: str, *, delivers: bool = True) -> httpx.Response:
    return await call(client, "fake", FAST, "POST", f"{url}/send", json={"to": "34600"}, delivers=delivers)


async def post(url: str, *, delivers: bool = True) -> int:
    """One send on a client of its own."""
    async with make_http_client(None, total_timeout_s=FAST.timeout_s) as client:
        return (await send(client, url, delivers=delivers)).status_code


async def answers_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:  # a keep-alive connection: one answer per request until the client closes it
        try:
            request = await read_request(reader)
        except asyncio.IncompleteReadError:
            return
        assert b'{"to":"34600"}' in request
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"id":"m1"}')
        await writer.drain()


class CountsConnections:
    """A vendor that answers every request, counting the connections they came on."""

    def __init__(self) -> None:
        self.connections = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await answers_ok(reader, writer)


async def test_a_vendor_that_answers_is_read_in_full(vendor: Callable[[Behaviour], Awaitable[str]]) -> None:
    counted = CountsConnections()
    url = await vendor(counted)
    async with make_http_client(None, total_timeout_s=1) as client:
        response = await send(client, url)
        assert response.status_code == 200
        assert response.json() == {"id": "m1"}
        again = await send(client, url)
        assert again.json() == {"id": "m1"}
    assert counted.connections == 1  # the pooled connection was reused


async def test_a_connection_idle_for_3_s_is_not_reused(vendor: Callable[[Behaviour], Awaitable[str]]) -> None:
    """Servers that close idle connections soonest do so after 5 s; ours go first, so that a send never
    crosses the server's close on the wire."""
    counted = CountsConnections()
    url = await vendor(counted)
    async with make_http_client(None, total_timeout_s=1) as client:
        assert (await send(client, url)).is_success
        await asyncio.sleep(3.2)
        assert (await send(client, url)).is_success
    assert counted.connections == 2


async def test_a_refused_connection_never_left() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ProviderUnavailable, match="cannot connect"):
        await post(f"http://127.0.0.1:{port}")


async def test_a_vendor_that_reads_the_request_and_never_answers_may_have_delivered(
    vendor: Callable[[Behaviour], Awaitable[str]],
) -> None:
    async def hangs(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    url = await vendor(hangs)
    with pytest.raises(ProviderDeliveryUnknown, match="no answer"):
        await post(url)
    with pytest.raises(ProviderUnavailable, match="no answer"):  # a token fetch or a check delivers nothing
        await post(url, delivers=False)


@pytest.mark.parametrize(
    "reply",
    [
        b"",  # the connection closes with no answer: aiohttp's ServerDisconnectedError
        b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"id":',  # closes in the middle of the body
        b"NOT HTTP AT ALL\r\n\r\n",  # a reply that is not HTTP
    ],
    ids=["closed", "truncated", "garbage"],
)
async def test_a_connection_lost_after_the_request_was_written_may_have_delivered(
    vendor: Callable[[Behaviour], Awaitable[str]], reply: bytes
) -> None:
    async def drops(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()

    url = await vendor(drops)
    with pytest.raises(ProviderDeliveryUnknown):  # not "cannot connect": no second code may be sent
        await post(url)


async def test_no_error_text_carries_the_request_url(vendor: Callable[[Behaviour], Awaitable[str]]) -> None:
    async def drops(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    url = await vendor(drops)
    async with make_http_client(None, total_timeout_s=1) as client:
        with pytest.raises(ProviderDeliveryUnknown) as caught:
            await call(client, "fake", FAST, "GET", f"{url}/check", params={"code": "482913"}, delivers=True)
    ours = caught.value.__cause__  # the httpx error our transport raised; its cause is aiohttp's own
    assert ours is not None and type(ours).__module__.startswith("httpx")
    for error in (caught.value, ours):  # what reaches logs and the 503 body
        assert "482913" not in str(error)


class ClosesAfterFirstAnswer:
    """A vendor on its own thread (so its close cannot wait for our event loop) that answers the first
    request, closes that connection when told to, and answers on any later connection."""

    RESPONSE = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"id":"m1"}'

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.close_now = threading.Event()
        self.closed = threading.Event()
        self.requests_per_connection: list[int] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with self.listener:
            first = True
            while len(self.requests_per_connection) < 2:
                conn, _ = self.listener.accept()
                with conn:
                    conn.settimeout(5)
                    self.requests_per_connection.append(0)
                    self._answer(conn)
                    if first:
                        first = False
                        self.close_now.wait(5)
                        conn.shutdown(socket.SHUT_RDWR)
                        self.closed.set()

    def _answer(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
        while len(body) < length:
            body += conn.recv(4096)
        self.requests_per_connection[-1] += 1
        conn.sendall(self.RESPONSE)


async def test_a_pooled_connection_the_vendor_closed_is_not_reused_even_before_the_loop_noticed() -> None:
    """The second send must go out on a fresh connection, not into the closed one (where it would
    fail as "may have delivered", a 201 with no SMS)."""
    vendor = ClosesAfterFirstAnswer()
    async with make_http_client(None, total_timeout_s=FAST.timeout_s) as client:
        first = await send(client, vendor.url)
        assert first.status_code == 200
        vendor.close_now.set()
        # Blocks the event loop on purpose: the FIN reaches this process's kernel, but aiohttp, which
        # learns of it only from the loop, still holds the connection as idle and connected.
        assert vendor.closed.wait(5)
        time.sleep(0.05)  # noqa: ASYNC251 - the point: no loop iteration between the two sends
        second = await send(client, vendor.url)
        assert second.status_code == 200
    vendor.thread.join(5)
    assert vendor.requests_per_connection == [1, 1]


class Endless:
    """A vendor answering 200 with a 50 MB body (chunked, or with its length declared), counting what it
    managed to write before the client hung up."""

    def __init__(self, *, chunked: bool) -> None:
        self.chunked = chunked
        self.written = 0
        self.accept_encoding = b""

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        self.accept_encoding = next(
            (h.split(b":", 1)[1].strip() for h in request.split(b"\r\n") if h.lower().startswith(b"accept-encoding")),
            b"",
        )
        framing = b"Transfer-Encoding: chunked" if self.chunked else b"Content-Length: %d" % (50 * 1024 * 1024)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + framing + b"\r\n\r\n")
        chunk = b"7" * 65536
        try:
            for _ in range(50 * 16):
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.chunked else chunk)
                await writer.drain()
                self.written += len(chunk)
        except (ConnectionError, OSError):
            return


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content_length"])
async def test_a_50_mb_reply_is_a_bad_reply_read_no_further_than_the_cap(
    vendor: Callable[[Behaviour], Awaitable[str]], chunked: bool
) -> None:
    endless = Endless(chunked=chunked)
    url = await vendor(endless)
    async with make_http_client(None, total_timeout_s=5) as client:
        with pytest.raises(ProviderProtocolError, match="64 KiB") as caught:
            await send(client, url)
    assert caught.value.status_code == 200  # a 2xx: the dispatcher reads it as "may have delivered"
    await asyncio.sleep(0.1)
    # What the kernel buffers on both ends took (about 4 MB here), far from the 50 MB offered.
    assert endless.written < 16 * 1024 * 1024, f"the vendor wrote {endless.written} bytes"
    assert endless.accept_encoding == b"identity"  # no compressed reply that could expand past the cap
