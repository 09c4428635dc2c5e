"""The table of problem codes is the one place a code, its status and its title are written."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from otp_service.api.problems import ProblemCode

DOC = json.loads((Path(__file__).parent.parent / "openapi" / "openapi.json").read_text())


def test_each_status_of_litestars_own_errors_answers_one_code() -> None:
    claimed = Counter(status for code in ProblemCode for status in code.router_statuses)
    assert [status for status, count in claimed.items() if count > 1] == []
    assert {400, 401, 403, 404, 405, 413, 415, 429} <= set(claimed)


def test_the_documented_codes_are_the_tables_codes_in_its_order() -> None:
    documented = DOC["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert documented == [code.value for code in ProblemCode]


def test_every_code_has_a_title_and_a_client_facing_explanation() -> None:
    for code in ProblemCode:
        assert code.heading and code.doc, code
        assert 400 <= code.status < 600, code
