"""The log redactor, called directly as the structlog processor it is: the last line of defence."""

from __future__ import annotations

from typing import Any

import pytest

from otp_service.logging import Redactor

API_KEY = "web-key-0123456789abcdef"
PEPPER = "pepper-0123456789abcdef-0123456789"
VENDOR_PASSWORD = "gatum-password-0123456789"


def run(redactor: Redactor, **event: Any) -> dict[str, Any]:
    return dict(redactor(None, "info", dict(event)))


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([API_KEY, PEPPER, VENDOR_PASSWORD])


# -- fields dropped by name -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["code", "otp", "text", "body", "password", "token", "secret", "pepper", "authorization", "api_key", "code_hash"],
)
def test_secret_fields_are_dropped_whatever_they_hold(redactor: Redactor, field: str) -> None:
    event = run(redactor, event="sms.sent", **{field: "123456"})
    assert event[field] == "***"
    assert "123456" not in repr(event)


def test_non_secret_values_in_a_dropped_field_are_still_dropped(redactor: Redactor) -> None:
    event = run(redactor, event="x", code=123456, text=["Your code is 123456"], token={"nested": "v"})
    assert event["code"] == event["text"] == event["token"] == "***"


def test_secret_fields_nested_in_dicts_are_dropped(redactor: Redactor) -> None:
    event = run(redactor, event="vendor.request", request={"json": {"text": "Your code is 482913", "to": "x"}})
    assert event["request"]["json"]["text"] == "***"
    assert event["request"]["json"]["to"] == "x"
    assert "482913" not in repr(event)


def test_secret_fields_inside_lists_of_dicts_are_dropped(redactor: Redactor) -> None:
    event = run(redactor, event="batch", messages=[{"text": "code 111222"}, {"password": "hunter2"}])
    assert event["messages"] == [{"text": "***"}, {"password": "***"}]


def test_ordinary_fields_are_kept(redactor: Redactor) -> None:
    event = run(redactor, event="check.done", outcome="wrong", attempts_left=3, provider="gatum", ok=True)
    assert event == {"event": "check.done", "outcome": "wrong", "attempts_left": 3, "provider": "gatum", "ok": True}


# -- configured secrets replaced anywhere ---------------------------------------------------------------


@pytest.mark.parametrize("secret", [API_KEY, PEPPER, VENDOR_PASSWORD])
def test_a_configured_secret_is_replaced_inside_any_string(redactor: Redactor, secret: str) -> None:
    event = run(
        redactor,
        event=f"auth failed for Bearer {secret}",
        detail=f"prefix{secret}suffix",
        nested={"headers": {"X-Auth": f"Basic {secret}"}},
        items=[f"{secret}", ("tuple", secret)],
    )
    assert secret not in repr(event)
    assert event["event"] == "auth failed for Bearer ***"
    assert event["detail"] == "prefix***suffix"
    assert event["nested"]["headers"]["X-Auth"] == "Basic ***"


def test_every_occurrence_is_replaced(redactor: Redactor) -> None:
    event = run(redactor, event="x", detail=f"{API_KEY} and {API_KEY} and {PEPPER}")
    assert event["detail"] == "*** and *** and ***"


def test_a_secret_containing_regex_characters_is_matched_literally() -> None:
    secret = "a.b*c+d(e)[f]$"
    redactor = Redactor([secret])
    event = run(redactor, event="x", detail=f"key={secret};", other="aXbbbcd(e)[f]$")
    assert event["detail"] == "key=***;"
    assert event["other"] == "aXbbbcd(e)[f]$"


def test_the_longer_of_two_overlapping_secrets_is_removed_whole() -> None:
    redactor = Redactor(["abcd1234", "abcd1234-extended-secret"])
    event = run(redactor, event="x", detail="v=abcd1234-extended-secret")
    assert event["detail"] == "v=***"
    assert "extended" not in event["detail"]


def test_a_short_secret_is_redacted_where_it_stands_alone_and_left_inside_words() -> None:
    # Production refuses such secrets; in development a 1-character one must still not leak.
    redactor = Redactor(["ab", "", "x"])
    event = run(redactor, event="request", detail="abc ab cab x xylophone /v1/webhooks/gatum/x", auth="Bearer ab")
    assert event["detail"] == "abc *** cab *** xylophone /v1/webhooks/gatum/***"
    assert event["auth"] == "Bearer ***"
    assert event["event"] == "request"


def test_a_secret_of_eight_characters_or_more_is_replaced_even_inside_a_word() -> None:
    event = run(Redactor(["s3cr3t-8"]), event="x", detail="prefixs3cr3t-8suffix")
    assert event["detail"] == "prefix***suffix"


def test_secrets_can_be_replaced_at_run_time(redactor: Redactor) -> None:
    redactor.set_secrets(["brand-new-secret-value"])
    event = run(redactor, event="x", old=API_KEY, new="brand-new-secret-value")
    assert event["new"] == "***"
    assert event["old"] == API_KEY  # no longer configured


def test_no_secrets_configured_leaves_strings_alone() -> None:
    event = run(Redactor(), event="hello world", detail="nothing to hide")
    assert event == {"event": "hello world", "detail": "nothing to hide"}


# -- phone numbers masked ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+34600100200", "+34******200"),
        ("+5511987654321", "+55********321"),
        ("+16502530000", "+16******000"),
        ("+1234567", "+12**567"),
    ],
)
def test_an_e164_number_in_a_string_is_masked(redactor: Redactor, raw: str, masked: str) -> None:
    event = run(redactor, event=f"send to {raw} failed", to=raw)
    assert event["event"] == f"send to {masked} failed"
    assert event["to"] == masked


def test_every_number_in_a_string_is_masked(redactor: Redactor) -> None:
    event = run(redactor, event="x", detail="from +34600100200 to +5511987654321, ref 12345")
    assert event["detail"] == "from +34******200 to +55********321, ref 12345"


def test_numbers_inside_nested_values_are_masked(redactor: Redactor) -> None:
    event = run(redactor, event="x", vendor={"numbers": ["+34600100200"], "reply": {"msg": "bad +34600100200"}})
    assert event["vendor"] == {"numbers": ["+34******200"], "reply": {"msg": "bad +34******200"}}


def test_things_that_are_not_phone_numbers_are_left_alone(redactor: Redactor) -> None:
    event = run(redactor, event="x", detail="+123456 is too short; 34600100200 has no plus; vf_abc+1")
    assert event["detail"] == "+123456 is too short; 34600100200 has no plus; vf_abc+1"


def test_a_secret_and_a_number_in_one_string_are_both_removed(redactor: Redactor) -> None:
    event = run(redactor, event=f"key {API_KEY} used for +34600100200")
    assert event["event"] == "key *** used for +34******200"


def test_non_string_values_pass_through(redactor: Redactor) -> None:
    event = run(redactor, event="x", count=34600100200, ratio=0.5, none=None)
    assert event["count"] == 34600100200
    assert event["ratio"] == 0.5
    assert event["none"] is None


def test_the_processor_returns_the_event_it_was_given(redactor: Redactor) -> None:
    event: dict[str, Any] = {"event": "x", "code": "123456"}
    assert redactor(None, "info", event) is event
    assert event["code"] == "***"
