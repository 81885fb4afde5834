"""What every template can use: money and date filters, the brand, the switchers' data."""

from functools import lru_cache

from flask import current_app, g, has_request_context, request
from flask_babel import format_date, format_datetime, get_locale, get_timezone
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from portal.activity import action_label
from portal.i18n import LOCALE_NAMES, LOCALES, format_money, install_template_gettext, timezone_name
from portal.labels import KIND_LABELS, TEAM_ADMIN_ROLES, role_label
from portal.services.accounts.taxid import format_tax_id, tax_id_label


def _context() -> dict:
    membership = g.get("membership")
    return {
        "brand": current_app.config["BRAND_NAME"],
        "locales": [(code, LOCALE_NAMES[code]) for code in LOCALES],
        "current_locale": str(get_locale()),
        "membership": membership,
        "organisation": g.get("organisation"),
        "memberships": current_user.memberships if has_request_context() and current_user.is_authenticated else [],
        "can_manage_team": membership is not None and (membership.kind, membership.role) in TEAM_ADMIN_ROLES,
        "kind_label": lambda kind: str(KIND_LABELS.get(kind, kind)),
        "role_label": role_label,
        "action_label": action_label,
        "tax_id_label": tax_id_label,
        "csrf_token_value": generate_csrf,
        "current_path": request.full_path.rstrip("?") if has_request_context() else "/",
    }


def _formatted(formatter, value, fmt: str) -> str:
    """`value` formatted for the reader's locale and time zone (the key of the cache below)."""
    return _formatted_in(formatter, value, fmt, str(get_locale()), str(get_timezone()))


@lru_cache(maxsize=8192)
def _formatted_in(formatter, value, fmt: str, _locale: str, _timezone: str) -> str:
    """Babel's date formatting costs ~60 µs a call and pages repeat the same values: kept per value,
    format, locale and time zone (the formatter reads the last two from the request)."""
    return formatter(value, fmt)


def country_name(code: str | None) -> str:
    """A country's name in the page's language ("CL" → "Chile"); an unknown code is shown as it is."""
    if not code:
        return ""
    return get_locale().territories.get(code.upper(), code)


def money(amount: int, currency: str, country: str | None = None, code: bool = False) -> str:
    """An amount for the reader: the locale's territory is `country`, else the current organisation's;
    `code=True` on screens where currencies mix (the ISO code instead of a symbol)."""
    if country is None:
        organisation = g.get("organisation")
        country = organisation.country if organisation is not None else None
    return format_money(amount, currency, country=country, code=code)


def init_app(app) -> None:
    app.context_processor(_context)
    app.jinja_env.filters.update(
        money=money,
        timezone_name=timezone_name,
        datetime=lambda value, fmt="medium": _formatted(format_datetime, value, fmt) if value else "",
        date=lambda value, fmt="medium": _formatted(format_date, value, fmt) if value else "",
        tax_id=lambda value, country: format_tax_id(country, value),
        country=country_name,
    )
    install_template_gettext(app.jinja_env)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
