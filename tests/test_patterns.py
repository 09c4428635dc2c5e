"""Every ``pattern`` matches whole strings only, in Python (msgspec) and in the OpenAPI document's ECMA-262.

Python's ``$`` also matches before a final newline, so ``"123456\\n"`` passed ``^[0-9]{4,10}$``.
The document's readers use ECMA-262 regexes, where ``\\Z`` does not exist: ``jsonschema_rs`` checks
each pattern as an ECMA-262 ``regex`` and matches it with a non-Python engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Annotated, Any

import jsonschema_rs
import msgspec
import pytest

from otp_service.domain import policy
from otp_service.openapi_doc import openapi_document

# One string each pattern must accept whole; the test fails when a pattern has no sample here.
SAMPLES = {
    "[0-9]{4,10}": "123456",
    "[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}": "pt-BR",
    "[A-Za-z0-9+/]{11}": "FA+9qCX9VSu",
    "vf_[0-9a-f]{32}": "vf_" + "0" * 32,
    "[A-Z]{2}": "ES",
    "[a-z][a-z0-9_]{1,31}": "gatum",
    "[A-Za-z0-9_][A-Za-z0-9_.:@=+/-]{0,127}": "user_8f14e45f",
    r"\+[1-9][0-9]{0,14}": "+4490",
    "([A-Z]{2}|default)": "default",
    r"\+[1-9][0-9]{5,11}": "+34600100",
}


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def _sample(pattern: str) -> str:
    body = re.sub(r"^\^|\$\(\?!\\n\)$|\$$", "", pattern)
    assert body in SAMPLES, f"no sample for the pattern {pattern!r}: add one to SAMPLES"
    return SAMPLES[body]


DOCUMENT_PATTERNS = sorted(set(_patterns(json.loads(openapi_document()))))
SETTINGS_PATTERNS = sorted(
    {
        meta.pattern
        for alias in (policy.Country, policy.ProviderName, policy.Locale, policy.Digits)
        for meta in alias.__metadata__
        if meta.pattern
    }
)


def test_the_document_has_patterns_to_check() -> None:
    assert len(DOCUMENT_PATTERNS) >= 3


@pytest.mark.parametrize("pattern", sorted({*DOCUMENT_PATTERNS, *SETTINGS_PATTERNS}))
def test_msgspec_refuses_a_trailing_newline(pattern: str) -> None:
    kind: Any = Annotated[str, msgspec.Meta(pattern=pattern)]
    sample = _sample(pattern)
    assert msgspec.convert(sample, kind) == sample
    for bad in (sample + "\n", "\n" + sample, sample + "\n\n", sample + " "):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, kind)


@pytest.mark.parametrize("pattern", DOCUMENT_PATTERNS)
def test_the_document_patterns_are_ecma_regexes_with_the_same_meaning(pattern: str) -> None:
    validator = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})  # refuses a non-ECMA regex
    sample = _sample(pattern)
    assert validator.is_valid(sample)
    assert not validator.is_valid(sample + "\n")
    assert not validator.is_valid("-" + sample)
