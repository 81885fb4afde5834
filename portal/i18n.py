"""Languages, time zones and money: how every user-visible value is put into words."""

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision
from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

LOCALES = ("en", "es", "pt_BR")
LOCALE_NAMES = {"en": "English", "es": "Español", "pt_BR": "Português (Brasil)"}
_ALIASES = {"en": "en", "es": "es", "pt": "pt_BR", "pt_br": "pt_BR", "pt-br": "pt_BR"}


def normalise_locale(value: str | None) -> str | None:
    """Return one of LOCALES for a code such as 'pt-BR' or 'es_CL', or None when it is not offered."""
    if not value:
        return None
    value = value.strip().replace("-", "_")
    if value in LOCALES:
        return value
    lowered = value.lower()
    return _ALIASES.get(lowered) or _ALIASES.get(lowered.split("_")[0])


def select_locale() -> str:
    """The user's choice, then the browser's, then PORTAL_DEFAULT_LOCALE (the only one outside a request:
    jobs and commands choose theirs with force_locale)."""
    if not has_request_context():
        return normalise_locale(current_app.config["BABEL_DEFAULT_LOCALE"]) or "en"
    chosen = session.get("locale")
    if not chosen and current_user and current_user.is_authenticated:
        chosen = current_user.locale
    if normalise_locale(chosen):
        return normalise_locale(chosen)
    for code, _quality in request.accept_languages:
        found = normalise_locale(code)
        if found:
            return found
    return normalise_locale(current_app.config["BABEL_DEFAULT_LOCALE"]) or "en"


def select_timezone() -> str:
    """Dates and times are shown in the current organisation's time zone."""
    org = getattr(g, "organisation", None)
    return org.timezone if org is not None else current_app.config["DEFAULT_TIMEZONE"]


def to_major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-get_currency_precision(currency))


def to_minor(amount: Decimal | str, currency: str) -> int:
    """Major units (a decimal string or Decimal) to integer minor units, rounding half-up once."""
    digits = get_currency_precision(currency)
    return int((Decimal(amount).scaleb(digits)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(amount_minor: int, currency: str, locale: str | None = None) -> str:
    """Format integer minor units of a currency for the reader's locale (CLP has no decimals)."""
    return _format_money(amount_minor, currency, locale or str(get_locale() or "en"))


@lru_cache(maxsize=8192)
def _format_money(amount_minor: int, currency: str, locale: str) -> str:
    """Babel's formatting costs ~50 µs a call and pages repeat the same amounts: kept per value and locale."""
    return format_currency(to_major(amount_minor, currency), currency, locale=locale)
