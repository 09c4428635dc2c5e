"""Serve any vendor fake over a real loopback socket (for multi-process tests and the benchmark).

The fakes are written as ``httpx.MockTransport`` handlers; this wraps one in a tiny ASGI app so a
service running in another process (``otp-service serve``) can reach it at ``http://127.0.0.1:port``.
An optional delay makes it answer like a real vendor (~20 ms). ``GET /__fake/messages`` returns what
the fake received (the benchmark reads codes from it).

    python -m tests.fakes.serve gatum --port 9001 --delay 0.02
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import httpx
import uvicorn

from tests.fakes import conectaline, gatum, instasent, message_central, wavy

FAKES: dict[str, Any] = {
    "message_central": message_central.FakeMessageCentral,
    "gatum": gatum.FakeGatum,
    "wavy": wavy.FakeWavy,
    "instasent": instasent.FakeInstasent,
    "conectaline": conectaline.FakeConectaline,
}
MODULES: dict[str, Any] = {
    "message_central": message_central,
    "gatum": gatum,
    "wavy": wavy,
    "instasent": instasent,
    "conectaline": conectaline,
}


class FakeApp:
    """ASGI app forwarding every request to ``fake.handler``."""

    def __init__(self, fake: Any, delay_s: float = 0.0) -> None:
        self.fake = fake
        self.delay_s = delay_s
        self.hang_s = 0.0  # tests set this to make the vendor hang

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/__fake/messages":
            payload = json.dumps(
                [{k: v for k, v in m.items() if isinstance(v, str | int | list)} for m in self.fake.messages]
            )
            response = httpx.Response(200, content=payload.encode(), headers={"content-type": "application/json"})
        else:
            if self.hang_s:
                await asyncio.sleep(self.hang_s)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            query = scope.get("query_string", b"").decode()
            url = f"http://{scope['server'][0]}:{scope['server'][1]}{scope['path']}" + (f"?{query}" if query else "")
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
            request = httpx.Request(scope["method"], url, headers=headers, content=body)
            response = self.fake.handler(request)
            if asyncio.iscoroutine(response):
                response = await response
        content = response.read() if hasattr(response, "read") else response.content
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (k.lower().encode(), v.encode())
                    for k, v in response.headers.items()
                    if k.lower() != "content-length"
                ]
                + [(b"content-length", str(len(content)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": content})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("vendor", choices=sorted(FAKES))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to every vendor answer")
    args = parser.parse_args()
    app = FakeApp(FAKES[args.vendor](), args.delay)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
