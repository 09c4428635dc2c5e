"""Development-only sender that prints each message to the terminal instead of sending it.

It prints to stderr, not to the structured log, on purpose: the log is for operators and must never
carry a code, while a developer running ``otp-service dev`` needs to read the code somewhere. The
settings layer refuses this provider outside development mode.
"""

from __future__ import annotations

import itertools
import sys
from typing import TextIO

import httpx

from .base import DEFAULT_SEND_OPTIONS, Channel, Msisdn, SendOptions, SendReceipt, VendorSettings
from .registry import ProviderSpec

__all__ = ("SPEC", "ConsoleSender", "ConsoleSettings")


class ConsoleSettings(VendorSettings, frozen=True, kw_only=True):
    pass


class ConsoleSender:
    name = "console"
    max_length = 1600
    channels = frozenset({Channel.SMS, Channel.WHATSAPP})  # development: print either

    def __init__(self, settings: ConsoleSettings, client: httpx.AsyncClient, *, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._ids = itertools.count(1)

    async def send(
        self, to: Msisdn, text: str, *, reference: str, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> SendReceipt:
        stream = self._stream or sys.stderr
        print(f"[console {options.channel}] to={to.e164} ref={reference}: {text}", file=stream, flush=True)
        return SendReceipt(provider=self.name, message_id=f"console-{next(self._ids)}")


SPEC = ProviderSpec(
    name="console",
    env_prefix="CONSOLE",
    settings_type=ConsoleSettings,
    build=ConsoleSender,
    is_configured=lambda settings: True,
    dev_only=True,
)
