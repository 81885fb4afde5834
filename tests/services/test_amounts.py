"""Amounts and counts typed by people in their own number format, read into minor units or refused with a
reason."""

import pytest

from portal.services.billing import amounts
from portal.services.errors import DomainError


@pytest.fixture(autouse=True)
def reader(app):
    """Messages are lazy translations: reading one needs a request (here in English)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def _refused(error_code: str, call, *args) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args)
    assert caught.value.code == error_code, (caught.value.code, str(caught.value.message))
    return caught.value


@pytest.mark.parametrize(
    ("text", "currency", "locale", "minor"),
    [
        ("19.990", "CLP", "es", 19_990),
        ("19990", "CLP", "es", 19_990),
        ("19.990,00", "CLP", "es", 19_990),
        ("49,90", "BRL", "pt_BR", 4_990),
        ("R$ 1.199,00", "BRL", "pt_BR", 119_900),
        ("1,234.56", "USD", "en", 123_456),
        ("449", "MXN", "es", 44_900),
        ("0", "CLP", "es", 0),
        ("1.000.000.000.000", "CLP", "es", 10**12),
    ],
)
def test_amounts_are_read_in_the_readers_format(app, text, currency, locale, minor):
    assert amounts.parse_amount(text, currency, locale) == minor


@pytest.mark.parametrize(
    ("text", "currency", "locale", "code"),
    [
        ("19990,5", "CLP", "es", "too_many_decimals"),
        ("10,555", "BRL", "pt_BR", "too_many_decimals"),
        ("-5", "CLP", "es", "negative_amount"),
        ("1e5", "CLP", "en", "invalid_amount"),
        ("NaN", "USD", "en", "invalid_amount"),
        ("diez", "CLP", "es", "invalid_amount"),
        ("12.50", "BRL", "pt_BR", "invalid_amount"),
        ("", "CLP", "es", "required"),
        ("1.000.000.000.001", "CLP", "es", "amount_too_large"),
        ("10", "EUR", "es", "invalid_currency"),
    ],
)
def test_wrong_amounts_are_refused_with_a_reason(app, text, currency, locale, code):
    _refused(code, amounts.parse_amount, text, currency, locale)


def test_the_message_for_a_malformed_amount_shows_an_example_in_the_readers_format(app):
    error = _refused("invalid_amount", amounts.parse_amount, "abc", "BRL", "pt_BR")
    assert "1.234,56" in str(error.message)
    assert "19.990" in str(_refused("required", amounts.parse_amount, "", "CLP", "es").message)


def test_units_are_whole_numbers_in_the_readers_format(app):
    assert amounts.parse_units("1.000", "es") == 1000
    assert amounts.parse_units("2,000", "en") == 2000
    _refused("invalid_number", amounts.parse_units, "1,5", "es")
    _refused("negative_number", amounts.parse_units, "-1", "es")
    _refused("number_too_large", amounts.parse_units, "10.000.000.000", "es")


def test_amounts_given_by_code_in_minor_units_are_checked_too(app):
    assert amounts.minor_units(19_990) == 19_990
    _refused("negative_amount", amounts.minor_units, -1)
    _refused("amount_too_large", amounts.minor_units, 10**12 + 1)
    _refused("invalid_amount", amounts.minor_units, 19.99)
    _refused("invalid_amount", amounts.minor_units, True)
