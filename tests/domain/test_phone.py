"""Phone numbers: international form only, validated by phonenumbers, stored as E.164, masked in logs."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from otp_service.domain.errors import CountryNotAllowed, InvalidPhone
from otp_service.domain.phone import mask, parse_phone


@pytest.mark.parametrize(
    "raw",
    [
        "+34600100200",
        "+34 600 100 200",
        "+34-600-100-200",
        "+34 (600) 100-200",
        "+34.600.100.200",
        "  +34 600 100 200\n",
        "+３４６００１００２００",  # full-width digits, as some phone keyboards type them
    ],
)
def test_written_forms_normalise_to_e164(raw: str) -> None:
    phone = parse_phone(raw)
    assert phone.e164 == "+34600100200"
    assert phone.region == "ES"
    assert phone.msisdn.country_code == "34"
    assert phone.msisdn.national_number == "600100200"
    assert phone.msisdn.e164 == phone.e164


@pytest.mark.parametrize(
    ("raw", "e164", "region"),
    [
        ("+1 (650) 253-0000", "+16502530000", "US"),
        ("+55 11 98765-4321", "+5511987654321", "BR"),
        ("+44 20 7946 0958", "+442079460958", "GB"),
        ("+39 02 1234 5678", "+390212345678", "IT"),  # Italian leading zero is part of the number
    ],
)
def test_numbers_from_several_plans(raw: str, e164: str, region: str) -> None:
    phone = parse_phone(raw)
    assert phone.e164 == e164
    assert phone.region == region


@pytest.mark.parametrize("raw", ["34600100200", "600 100 200", "0034600100200", "(600) 100 200"])
def test_a_number_without_a_leading_plus_is_invalid(raw: str) -> None:
    with pytest.raises(InvalidPhone, match="international"):
        parse_phone(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "+",
        "+ ",
        "+abc",
        "+34",
        "+34 600",
        "+34 600 100 200 300 400",
        "+34 000 000 000",
        "+999 600 100 200",  # unassigned country code
        "+1 555 0100",  # too short for NANP
        "+34 600 100 2OO",  # letters O for zeros
    ],
)
def test_an_invalid_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        parse_phone(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "+34 6OO 1OO 24O",  # phonenumbers reads vanity letters as keypad digits: +34666166246
        "+1 800 FLOWERS",
        "+34600100200x",
        "+34 600 100 200 ext. 12",
        "+34\t600100200",
        "+34/600/100/200",
    ],
)
def test_letters_and_other_signs_in_a_number_are_refused_not_translated(raw: str) -> None:
    with pytest.raises(InvalidPhone, match="only digits"):
        parse_phone(raw)


def test_a_number_outside_the_allowed_countries_is_refused() -> None:
    with pytest.raises(CountryNotAllowed, match="ES"):
        parse_phone("+34600100200", allowed_countries=["BR", "PT"])


def test_a_number_inside_the_allowed_countries_is_accepted() -> None:
    assert parse_phone("+34600100200", allowed_countries=["BR", "ES"]).e164 == "+34600100200"


def test_an_empty_allow_list_refuses_every_country() -> None:
    with pytest.raises(CountryNotAllowed):
        parse_phone("+34600100200", allowed_countries=[])


def test_no_allow_list_accepts_every_country() -> None:
    assert parse_phone("+5511987654321", allowed_countries=None).region == "BR"


def test_an_invalid_number_is_invalid_even_when_its_country_is_not_allowed() -> None:
    with pytest.raises(InvalidPhone):
        parse_phone("+34 000", allowed_countries=["BR"])


def test_masked_form_keeps_country_code_and_last_three_digits() -> None:
    assert parse_phone("+34 600 100 200").masked() == "+34******200"
    assert parse_phone("+5511987654321").masked() == "+55********321"


@pytest.mark.parametrize(
    ("e164", "masked"),
    [("+34600100200", "+34******200"), ("+5511987654321", "+55********321"), ("+1234567", "+12**567")],
)
def test_mask_of_a_stored_number(e164: str, masked: str) -> None:
    assert mask(e164) == masked
    assert len(mask(e164)) == len(e164)


def test_mask_never_shows_the_middle_digits() -> None:
    masked = mask("+34600100200")
    assert "600100" not in masked
    assert "100" not in masked[3:-3]


phone_like = st.from_regex(r"\A\s?\+?[0-9 ()\-.]{0,20}\s?\Z", fullmatch=True)
allow_lists = st.none() | st.lists(st.sampled_from(["ES", "BR", "US", "GB", "IT", "001", ""]), max_size=3)


@settings(max_examples=400, deadline=None)
@given(raw=st.one_of(st.text(max_size=40), phone_like), allowed=allow_lists)
@example(raw="+34 600 100 200", allowed=None)
@example(raw="+800 1234 5678", allowed=["ES"])  # non-geographic: region "001"
@example(raw="+34600100200 ext. 12", allowed=None)
@example(raw="+" + "1" * 300, allowed=None)
def test_parse_phone_returns_a_stable_e164_or_a_domain_error(raw: str, allowed: list[str] | None) -> None:
    try:
        phone = parse_phone(raw, allowed_countries=allowed)
    except (InvalidPhone, CountryNotAllowed):
        return
    assert phone.e164.startswith("+")
    assert phone.e164[1:].isdigit()
    assert phone.e164.isascii()
    again = parse_phone(phone.e164, allowed_countries=allowed)
    assert again.e164 == phone.e164
    assert again.region == phone.region
    if allowed is not None:
        assert phone.region in allowed
