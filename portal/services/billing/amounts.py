"""Amounts and counts typed by people, read in their own number format and checked before they are stored.

"19.990" is nineteen thousand nine hundred and ninety pesos in Spanish, "49,90" is forty-nine reais and
ninety centavos in Portuguese; both become integer minor units (portal/i18n.py `to_minor`).
"""

import re
from decimal import Decimal

from babel.numbers import NumberFormatError, format_decimal, get_currency_precision, get_currency_symbol
from babel.numbers import parse_decimal as babel_parse_decimal
from flask_babel import lazy_gettext as _l

from portal.i18n import to_minor
from portal.models.catalog import CURRENCIES
from portal.services.errors import DomainError

# Anything above this is a typing mistake, not a price (10^12 minor units is a billion pesos or reais).
MAX_MINOR = 10**12
MAX_UNITS = 10**9


def parse_amount(text: str | None, currency: str, locale: str, field: str = "amount") -> int:
    """Minor units from an amount typed as the reader writes numbers ('19.990' in es, '49,90' in pt_BR).

    Refuses what is not a plain number, a negative amount, more decimals than the currency has (CLP
    has none) and anything absurdly large.
    """
    if currency not in CURRENCIES:
        raise DomainError(_l("Choose one of the offered currencies."), code="invalid_currency", field="currency")
    cleaned = (text or "").strip()
    for prefix in (currency, get_currency_symbol(currency, locale=locale), "$"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix):].strip()
    digits = get_currency_precision(currency)
    example = format_decimal(Decimal("1234.56") if digits else Decimal(19990),
                             format="#,##0." + "0" * digits if digits else "#,##0", locale=locale)
    if not cleaned:
        raise DomainError(_l("Enter an amount, e.g. %(example)s.", example=example), code="required", field=field)
    if cleaned.startswith("-"):
        raise DomainError(_l("The amount cannot be negative."), code="negative_amount", field=field)
    try:
        value = babel_parse_decimal(cleaned, locale=locale, strict=True)
    except NumberFormatError:
        value = None
    if value is None or not value.is_finite() or re.search(r"[eE]", cleaned):
        raise DomainError(_l("Write the amount as a number, e.g. %(example)s.", example=example),
                          code="invalid_amount", field=field)
    if value < 0:
        raise DomainError(_l("The amount cannot be negative."), code="negative_amount", field=field)
    if value != value.quantize(Decimal(1).scaleb(-digits)):
        if digits == 0:
            message = _l("Amounts in %(currency)s have no decimals.", currency=currency)
        else:
            message = _l("Amounts in %(currency)s have at most %(digits)d decimals.", currency=currency,
                         digits=digits)
        raise DomainError(message, code="too_many_decimals", field=field)
    if value > Decimal(MAX_MINOR).scaleb(-digits):
        raise DomainError(_l("This amount is too large. Check the number of digits."), code="amount_too_large",
                          field=field)
    return to_minor(value, currency)


def parse_units(text: str | None, locale: str, field: str = "included") -> int:
    """A whole number of units (documents, users, …) typed in the reader's format ('1.000' in es)."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise DomainError(_l("Enter a whole number, 0 or more."), code="required", field=field)
    try:
        value = babel_parse_decimal(cleaned, locale=locale, strict=True)
    except NumberFormatError:
        value = None
    if value is None or not value.is_finite() or re.search(r"[eE]", cleaned) or value != value.to_integral_value():
        raise DomainError(_l("Enter a whole number, 0 or more."), code="invalid_number", field=field)
    if value < 0:
        raise DomainError(_l("The number cannot be negative."), code="negative_number", field=field)
    if value > MAX_UNITS:
        raise DomainError(_l("This number is too large. Check the number of digits."), code="number_too_large",
                          field=field)
    return int(value)


def minor_units(value: int, field: str = "amount") -> int:
    """Check an amount already in minor units (given by code, not typed): an int, 0 or more, not absurd."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise DomainError(_l("Write the amount as a number."), code="invalid_amount", field=field)
    if value < 0:
        raise DomainError(_l("The amount cannot be negative."), code="negative_amount", field=field)
    if value > MAX_MINOR:
        raise DomainError(_l("This amount is too large. Check the number of digits."), code="amount_too_large",
                          field=field)
    return value
