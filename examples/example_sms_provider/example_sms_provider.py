"""An otp-service provider in its own package: POSTs each message as JSON to EXAMPLE_SMS_URL."""

import httpx

from providers import DEFAULT_SEND_OPTIONS, Msisdn, ProviderSpec, SendOptions, SendReceipt, VendorSettings, http


class ExampleSettings(VendorSettings, frozen=True, kw_only=True):
    url: str = ""  # EXAMPLE_SMS_URL; the timeouts come from VendorSettings (EXAMPLE_SMS_TIMEOUT_S, ...)


class ExampleSender:
    name = "example_sms"
    max_length = 612

    def __init__(self, settings: ExampleSettings, client: httpx.AsyncClient) -> None:
        self.settings, self.client = settings, client

    async def send(
        self, to: Msisdn, text: str, *, reference: str, options: SendOptions = DEFAULT_SEND_OPTIONS
    ) -> SendReceipt:
        body = {"to": to.e164, "text": text, "reference": reference}
        reply = await http.call(
            self.client, self.name, self.settings, "POST", self.settings.url, delivers=True, json=body
        )
        http.raise_for_status(self.name, reply, to=to, text=text)  # 429/5xx, 401/403 and 4xx: the shared error classes
        return SendReceipt(provider=self.name, message_id=reply.headers.get("X-Message-Id"))


SPEC = ProviderSpec(
    name="example_sms",
    env_prefix="EXAMPLE_SMS",
    settings_type=ExampleSettings,
    build=ExampleSender,
    is_configured=lambda settings: bool(settings.url),
)
