"""SMS rendering: locale fallback, placeholders, platform hints and GSM-7 / UCS-2 segment counting."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from otp_service.domain.errors import SettingsInvalid
from otp_service.domain.messages import pick_template, render
from otp_service.domain.policy import LiveSettings, PolicyContext, SettingsPatch, apply_patch, default_settings
from providers.text import Encoding, encoding_of, segment_count

CODE = "048213"
APP_HASH = "FA+9qCX9VSu"
CTX = PolicyContext(available_providers=frozenset({"gatum"}))


def live(**changes: object) -> LiveSettings:
    return msgspec.structs.replace(default_settings(["gatum"]), **changes)


TEMPLATES = {
    "en": "EN {code}",
    "es": "ES {code}",
    "pt-BR": "PT-BR {code}",
    "pt": "PT {code}",
}


# -- template choice ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("es", "ES {code}"),
        ("es-MX", "ES {code}"),
        ("es-419", "ES {code}"),
        ("ES-mx", "ES {code}"),
        ("pt-BR", "PT-BR {code}"),
        ("pt-br", "PT-BR {code}"),
        ("pt-PT", "PT {code}"),
        ("fr", "EN {code}"),
        ("fr-CA", "EN {code}"),
        ("", "EN {code}"),
        (None, "EN {code}"),
    ],
)
def test_template_falls_back_from_region_to_language_to_english(locale: str | None, expected: str) -> None:
    assert pick_template(TEMPLATES, locale) == expected


def test_render_uses_the_spanish_template_for_es_mx() -> None:
    message = render(live(), CODE, locale="es-MX", app_hash=None, webotp_host=None)
    assert message.text == f"Tu código de Acme es {CODE}. Caduca en 10 minutos."


def test_render_uses_english_for_an_unknown_locale() -> None:
    message = render(live(), CODE, locale="de-AT", app_hash=None, webotp_host=None)
    assert message.text == f"Your Acme code is {CODE}. It expires in 10 minutes."


# -- placeholders ---------------------------------------------------------------------------------


def test_brand_and_code_are_filled_in() -> None:
    message = render(live(brand="Globex"), "0001", locale="en", app_hash=None, webotp_host=None)
    assert "Globex" in message.text
    assert "0001" in message.text  # leading zeros survive rendering
    assert "{" not in message.text


@pytest.mark.parametrize(
    ("ttl_seconds", "minutes"),
    [(30, 1), (60, 1), (61, 2), (90, 2), (300, 5), (599, 10), (600, 10), (601, 11), (86400, 1440)],
)
def test_minutes_is_the_ttl_rounded_up(ttl_seconds: int, minutes: int) -> None:
    message = render(live(ttl_seconds=ttl_seconds), CODE, locale="en", app_hash=None, webotp_host=None)
    assert f"It expires in {minutes} minutes." in message.text


def test_a_code_that_looks_like_a_placeholder_is_not_reformatted() -> None:
    settings = live(templates={"en": "{code} / {brand}"}, brand="{code}")
    assert render(settings, CODE, locale=None, app_hash=None, webotp_host=None).text == f"{CODE} / {{code}}"


# -- platform hints -------------------------------------------------------------------------------


def test_webotp_line_is_the_last_line() -> None:
    message = render(live(), CODE, locale="en", app_hash=None, webotp_host="login.example.com")
    lines = message.text.split("\n")
    assert lines[-1] == f"@login.example.com #{CODE}"
    assert lines[0] == f"Your Acme code is {CODE}. It expires in 10 minutes."


def test_no_webotp_line_without_a_host() -> None:
    message = render(live(), CODE, locale="en", app_hash=None, webotp_host=None)
    assert "@" not in message.text
    assert "#" not in message.text


def test_app_hash_ends_the_message() -> None:
    message = render(live(), CODE, locale="en", app_hash=APP_HASH, webotp_host=None)
    assert message.text.endswith(APP_HASH)
    assert message.text.startswith(f"Your Acme code is {CODE}.")


def test_app_hash_comes_after_the_webotp_line_when_both_are_set() -> None:
    message = render(live(), CODE, locale="en", app_hash=APP_HASH, webotp_host="example.com")
    assert message.text.endswith(APP_HASH)
    lines = message.text.split("\n")
    assert f"@example.com #{CODE}" in lines
    assert lines.index(f"@example.com #{CODE}") == len(lines) - 2


# -- encoding and segments ------------------------------------------------------------------------


def test_english_default_template_is_gsm7_in_one_segment() -> None:
    message = render(live(), CODE, locale="en", app_hash=None, webotp_host=None)
    assert message.encoding is Encoding.GSM7
    assert message.segments == 1


def test_spanish_default_template_needs_ucs2() -> None:
    # "ó" is not in the GSM 03.38 alphabet ("ò" is), so "código" forces UCS-2.
    message = render(live(), CODE, locale="es", app_hash=None, webotp_host=None)
    assert message.encoding is Encoding.UCS2
    assert message.segments == 1


def test_a_long_template_is_counted_in_segments() -> None:
    message = render(live(templates={"en": "{code} " + "x" * 200}), CODE, locale=None, app_hash=None, webotp_host=None)
    assert message.encoding is Encoding.GSM7
    assert message.segments == 2


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("plain ascii 123", Encoding.GSM7),
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà", Encoding.GSM7),
        ("extension ^{}\\[~]|€", Encoding.GSM7),
        ("código", Encoding.UCS2),
        ("emoji 😀", Encoding.UCS2),
        ("Привет", Encoding.UCS2),
        ("`backtick", Encoding.UCS2),
        ("", Encoding.GSM7),
    ],
)
def test_encoding_detection(text: str, encoding: Encoding) -> None:
    assert encoding_of(text) is encoding


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 459, 3),
        ("a" * 460, 4),
        ("€" * 80, 1),  # 80 extension characters = 160 septets
        ("€" * 80 + "a", 2),
        ("a" * 159 + "€", 2),  # 161 septets
        ("a" * 158 + "€", 1),  # 160 septets
        ("€" * 153, 2),  # 306 septets
        ("€" * 153 + "a", 3),
        ("ó" * 70, 1),
        ("ó" * 71, 2),
        ("ó" * 134, 2),
        ("ó" * 135, 3),
        ("😀" * 35, 1),  # each emoji is two UTF-16 units: 70 units
        ("😀" * 35 + "a", 2),
        ("", 1),
    ],
    ids=lambda v: v if isinstance(v, int) else f"{v[:1]!r}x{len(v)}",
)
def test_segment_count_boundaries(text: str, segments: int) -> None:
    assert segment_count(text) == segments


def test_one_non_gsm_character_switches_the_whole_text_to_ucs2_limits() -> None:
    assert segment_count("a" * 100) == 1
    assert segment_count("a" * 99 + "ó") == 2  # 100 UCS-2 units > 70


# -- property: any template the admin API accepts renders with the code -----------------------------


template_pieces = st.sampled_from(["{code}", "{brand}", "{minutes}", "{", "}", "{{", "}}", "Code ", "ó", "€", "\n"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(template_pieces, min_size=1, max_size=8).map("".join))
def test_any_accepted_template_renders_with_the_code(template: str) -> None:
    try:
        accepted, _ = apply_patch(default_settings(["gatum"]), SettingsPatch(templates={"en": template}), CTX)
    except SettingsInvalid:
        assume(False)
        return
    message = render(accepted, CODE, locale="en", app_hash=None, webotp_host=None)
    assert CODE in message.text
