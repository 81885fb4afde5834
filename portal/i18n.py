"""Languages, time zones and money: how every user-visible value is put into words."""

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property, lru_cache

import flask_babel
from babel import Locale, UnknownLocaleError
from babel.dates import get_timezone_location
from babel.numbers import format_currency, get_currency_precision
from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

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


def _kept_catalog(load):
    """The request's catalog, loaded once per request and locale with `load` and kept beside Flask-Babel's
    own state. Flask-Babel looks it up again for every string (~5 µs: about ten context-local lookups
    and the locale turned into a string) and a page asks for a few hundred; this costs one lookup.
    force_locale() and refresh() give the state a new locale object, so the catalog follows them."""
    try:
        state = g.get("_flask_babel")
    except RuntimeError:  # outside an application context: Flask-Babel answers with no translation
        return load()
    locale = getattr(state, "babel_locale", None)
    if locale is None:
        return load()
    kept = state.__dict__.get("portal_translations")
    if kept is None or kept[0] is not locale:
        kept = state.portal_translations = (locale, load())
    return kept[1]


def translations():
    """The request's catalog (flask_babel.get_translations(), kept)."""
    return _kept_catalog(get_translations)


class Domain(flask_babel.Domain):
    """Flask-Babel's message domain with the catalog kept per request: gettext(), lazy_gettext() labels."""

    def get_translations(self):
        return _kept_catalog(super().get_translations)


class Babel(flask_babel.Babel):
    @cached_property
    def domain_instance(self):
        return Domain(domain=self.domain)


def one_full_stop(translated: str, variables: dict) -> str:
    """`translated` without the full stop that follows a value already ending in one: "the clients of
    %(org)s." with "Contadores del Sur Ltda." reads "…Ltda.", not "…Ltda..", the name's stop ending the sentence."""
    for key, value in variables.items():
        if isinstance(value, str) and value.endswith("."):
            translated = re.sub(rf"(%\({re.escape(key)}\)s)\.(?!\.)", r"\1", translated)
    return translated


def _formatted(eval_ctx, translated: str, variables: dict):
    """A translation as Jinja's newstyle gettext gives it: our catalog's text is trusted as markup where the
    template escapes, and the variables put into it are escaped by Markup's % operator."""
    if variables:
        translated = one_full_stop(translated, variables)
    result = Markup(translated) if eval_ctx.autoescape else translated  # noqa: S704
    return result % variables if variables or "%" in translated else result  # "%" alone: nothing to fill


def install_template_gettext(jinja_env) -> None:
    """Templates' _(), gettext(), ngettext() and pgettext() through translations(), called directly.

    They behave as Jinja's "newstyle" gettext that Flask-Babel installs (the translation is Markup when
    the template escapes, and always a format string: %(name)s, %(num)d, %%), without its three nested
    context.call()s per string (`_` → `gettext` → Flask-Babel's lookup)."""

    @pass_eval_context
    def gettext(eval_ctx, string, **variables):
        return _formatted(eval_ctx, translations().ugettext(string), variables)

    @pass_eval_context
    def ngettext(eval_ctx, singular, plural, num, **variables):
        variables.setdefault("num", num)
        return _formatted(eval_ctx, translations().ungettext(singular, plural, num), variables)

    @pass_eval_context
    def pgettext(eval_ctx, context, string, **variables):
        variables.setdefault("context", context)
        return _formatted(eval_ctx, translations().upgettext(context, string), variables)

    @pass_eval_context
    def npgettext(eval_ctx, context, singular, plural, num, **variables):
        variables.setdefault("context", context)
        variables.setdefault("num", num)
        return _formatted(eval_ctx, translations().unpgettext(context, singular, plural, num), variables)

    jinja_env.newstyle_gettext = True  # {% trans %} blocks pass their variables as keywords
    jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext, pgettext=pgettext, npgettext=npgettext)


def select_timezone() -> str:
    """Dates and times are shown in the current organisation's time zone."""
    org = getattr(g, "organisation", None)
    return org.timezone if org is not None else current_app.config["DEFAULT_TIMEZONE"]


@lru_cache(maxsize=256)
def currency_digits(currency: str) -> int:
    """The digits after the point of `currency`'s minor unit (CLP 0, BRL 2): Babel's table, read once per code."""
    return get_currency_precision(currency)


def to_major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-currency_digits(currency))


def to_minor(amount: Decimal | str, currency: str) -> int:
    """Major units (a decimal string or Decimal) to integer minor units, rounding half-up once."""
    digits = currency_digits(currency)
    return int((Decimal(amount).scaleb(digits)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(amount_minor: int, currency: str, locale: str | None = None, country: str | None = None,
                 code: bool = False) -> str:
    """Format integer minor units of a currency for the reader (CLP has no decimals).

    `country` is the organisation's country, taken as the locale's territory: es + MX reads "$899.00",
    es + CL "$83.597", pt_BR "R$ 141,55" (a language Babel has no such territory for keeps its own
    conventions). `code` shows the ISO code instead of the symbol ("MXN 899,00"), for screens where
    currencies mix and a bare "$" could be any of them."""
    return _format_money(amount_minor, currency, regional_locale(locale or str(get_locale() or "en"), country),
                         code)


@lru_cache(maxsize=256)
def regional_locale(language: str, country: str | None) -> str:
    """`language` with `country` as its territory where Babel knows that pair ("es", "MX" → "es_MX")."""
    if not country:
        return language
    regional = f"{Locale.parse(language).language}_{country.upper()}"
    try:
        Locale.parse(regional)
    except (UnknownLocaleError, ValueError):
        return language
    return regional


@lru_cache(maxsize=8192)
def _format_money(amount_minor: int, currency: str, locale: str, code: bool = False) -> str:
    """Babel's formatting costs ~50 µs a call and pages repeat the same amounts: kept per value and locale."""
    amount = to_major(amount_minor, currency)
    if not code:
        return format_currency(amount, currency, locale=locale)
    return format_currency(amount, currency, format=_code_pattern(locale), locale=locale)


@lru_cache(maxsize=64)
def _code_pattern(locale: str) -> str:
    """The locale's currency pattern with the ISO code ("¤¤") for the sign, a no-break space between code
    and digits as CLDR's currency spacing asks (Babel leaves it out: "CLP83.597")."""
    pattern = Locale.parse(locale).currency_formats["standard"].pattern.replace("¤", "¤¤")
    pattern = re.sub(r"¤¤(?=-?[#0-9])", "¤¤\u00a0", pattern)
    return re.sub(r"(?<=[#0-9])¤¤", "\u00a0¤¤", pattern)


def timezone_name(zone: str | None, locale: str | None = None) -> str:
    """A time zone as people name it, in the reader's language: "America/Sao_Paulo" → "hora de Brasil
    (São Paulo)"; an id Babel does not know is shown as it is."""
    if not zone:
        return ""
    return _timezone_name(zone, locale or str(get_locale() or "en"))


@lru_cache(maxsize=512)
def _timezone_name(zone: str, locale: str) -> str:
    if zone.upper() in ("UTC", "ETC/UTC", "GMT", "ETC/GMT"):
        return "UTC"
    try:
        return get_timezone_location(zone, locale=locale)
    except LookupError:
        return zone
