"""A real event receiver on loopback: records every request and answers as the test says.

It runs ``http.server`` in a thread of the test process, so it is independent of the service's event
loop and of any process the test kills. ``mode``: ``ok`` (204), ``fail`` (500), ``flaky`` (500 to every
other request), ``hang`` (answers only after ``hang_s``). ``down()`` closes the socket (connections are
refused) and ``up()`` opens it again on the same port.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from otp_service.devredis import free_port


class Received:
    def __init__(self, headers: dict[str, str], body: bytes, status: int) -> None:
        self.headers, self.body, self.status = headers, body, status

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.mode = "ok"
        self.hang_s = 5.0
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._count = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def up(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = owner._answer()
                with owner._lock:
                    owner.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _answer(self) -> int:
        with self._lock:
            self._count += 1
            count = self._count
        if self.mode == "hang":
            time.sleep(self.hang_s)
            return 200
        if self.mode == "fail" or (self.mode == "flaky" and count % 2 == 1):
            return 500
        return 204

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def verified(self, secret: str) -> list[Any]:
        """Every accepted delivery's payload, each verified with ``standardwebhooks`` (raises if one fails)."""
        return [Webhook(secret).verify(r.body, r.headers) for r in self.accepted()]

    def wait_for(self, predicate: Any, timeout_s: float = 15.0) -> None:
        """Blocking wait (for tests whose service runs in other processes)."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            self._fail_after(deadline)
            time.sleep(0.02)

    async def until(self, predicate: Any, timeout_s: float = 15.0) -> None:
        """The same wait without blocking the test's event loop (the service's worker may run on it)."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            self._fail_after(deadline)
            await asyncio.sleep(0.02)

    def _fail_after(self, deadline: float) -> None:
        if time.monotonic() > deadline:
            types = [(r.status, r.payload.get("type")) for r in list(self.received)]
            raise AssertionError(f"the receiver did not get what was expected; got {types}")

    def types_for(self, subject_id: str) -> list[str]:
        """The accepted event types of one verification, in arrival order, duplicates (same webhook-id) once."""
        seen: set[str] = set()
        types = []
        for r in self.accepted():
            if r.payload["data"].get("id") == subject_id and r.headers["webhook-id"] not in seen:
                seen.add(r.headers["webhook-id"])
                types.append(r.payload["type"])
        return types
