"""Replies and receipts that cannot be read: capped at 64 KiB, never a crash, never a download.

The shared battery (``test_contract.py``) maps each bad reply to its error type for every adapter;
here: that a long reply is not read past the cap, that a vendor *check* answered badly is a bad
response (the service answers 503 and charges no attempt), and that every receipt parser refuses
the same bodies with :class:`ReceiptError` (the webhook answers 400) instead of raising anything else.
"""

from __future__ import annotations

import pytest

from providers import ProviderProtocolError, ReceiptError, discover
from tests.providers.conftest import BY_ID, INVALID_UTF8, NESTED, TO, Adapter, Connect, Endless, Failure, assert_clean
from tests.providers.test_contract import answering

JSON = "application/json"


async def test_a_reply_over_64_kib_is_not_read_past_the_cap(case: Adapter, connect: Connect) -> None:
    endless = Endless()
    adapter, _ = connect(case, endless)
    with pytest.raises(ProviderProtocolError, match="64 KiB"):
        await case.exercise(adapter)
    assert endless.pulled <= 2, f"read {endless.pulled} chunks of 64 KiB"


@pytest.mark.parametrize(
    "reply",
    [answering(200, NESTED, JSON), answering(200, INVALID_UTF8, JSON), Endless()],
    ids=["nested_3000_deep", "invalid_utf8", "50_mb"],
)
async def test_a_message_central_check_with_an_unreadable_reply_is_a_bad_response(
    connect: Connect, reply: Failure
) -> None:
    """A check answered with a reply we cannot read says nothing about the code: the service answers 503."""
    case = BY_ID["message_central-verify_now"]
    adapter, network = connect(case)
    started = await adapter.start(TO, code_length=6)
    network.login_failure = reply  # the check is not a delivering request; the token is already cached
    with pytest.raises(ProviderProtocolError) as info:
        await adapter.check(TO, network.fake.code_for(started.reference), reference=started.reference)
    assert info.value.retryable is False
    assert_clean(info.value, case.forbidden())


RECEIPT_PARSERS = {name: spec.receipts for name, spec in discover().items() if spec.receipts is not None}
BAD_RECEIPTS = {
    "nested_3000_deep": NESTED,
    "nested_3000_deep_in_a_list": b"[" + NESTED + b"]",
    "invalid_utf8": INVALID_UTF8,
    "invalid_utf8_in_a_list": b"[" + INVALID_UTF8 + b"]",
    "over_64_kib": b'{"id": "m1", "status": "delivered", "padding": "' + b"x" * 64 * 1024 + b'"}',
}


def test_every_vendor_with_receipts_has_a_parser_under_test() -> None:
    assert set(RECEIPT_PARSERS) == {"message_central", "gatum", "wavy", "instasent", "conectaline", "webhook"}


@pytest.mark.parametrize("body", BAD_RECEIPTS.values(), ids=BAD_RECEIPTS.keys())
@pytest.mark.parametrize("provider", sorted(RECEIPT_PARSERS))
def test_an_unreadable_receipt_is_a_receipt_error(provider: str, body: bytes) -> None:
    parser = RECEIPT_PARSERS[provider]
    assert parser is not None
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        with pytest.raises(ReceiptError):
            parser(body, {"Content-Type": content_type})
