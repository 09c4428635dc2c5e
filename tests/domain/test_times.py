"""The contract's one timestamp format, from the milliseconds Redis records hold."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from otp_service.domain.times import rfc3339


def test_a_timestamp_is_utc_to_the_second_with_a_z() -> None:
    assert rfc3339(1_764_677_000_999) == "2025-12-02T12:03:20Z"
    assert rfc3339(0) == "1970-01-01T00:00:00Z"


@given(st.integers(min_value=0, max_value=4_102_444_800_000))  # up to 2100
def test_every_millisecond_reads_as_its_utc_second(ms: int) -> None:
    expected = dt.datetime.fromtimestamp(ms // 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rfc3339(ms) == expected
