"""What every template can use: money and date filters, the brand, the switchers' data."""

from datetime import date as datetime_date
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_decimal, format_percent, get_currency_precision
from flask import current_app, g, has_app_context, has_request_context, request, url_for
from flask_babel import format_date, format_datetime, get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from portal.activity import action_label
from portal.i18n import (
    LOCALE_NAMES,
    LOCALES,
    format_money,
    install_template_gettext,
    timezone_name,
    to_major,
    translations,
)
from portal.labels import (
    ADVISOR_REQUEST_STATUS_LABELS,
    CONTACT_LABELS,
    CONTRACT_STATUS_LABELS,
    INVOICE_KIND_LABELS,
    METRIC_LABELS,
    ORGANISATION_KIND_LABELS,
    PAYER_LABELS,
    PAYMENT_FAILURE_LABELS,
    PAYMENT_METHOD_LABELS,
    PAYMENT_METHOD_STATE_LABELS,
    PAYMENT_STATE_LABELS,
    PERIOD_LABELS,
    PRODUCT_KIND_LABELS,
    REFUND_DESTINATION_LABELS,
    REFUND_STATE_LABELS,
    REFUND_TO_LABELS,
    TEAM_ADMIN_ROLES,
    WALLET_ENTRY_LABELS,
    role_label,
)
from portal.orm import utcnow
from portal.services.accounts.taxid import format_tax_id, tax_id_label
from portal.services.billing.invoice_search import display_status, status_label
from portal.services.billing.pdf import invoice_timezone, local_date, taxes_by_rate
from portal.services.catalog.search import sorted_prices, sorted_quotas
from portal.services.payments.auto_pay import is_automatic
from portal.services.payments.offline import interleaved2of5, pix

LOCALE_CHOICES = [(code, LOCALE_NAMES[code]) for code in LOCALES]


def helpers() -> dict:
    """The helpers every template gets, the shell's too."""
    return {"kind_label": lambda kind: str(ORGANISATION_KIND_LABELS.get(kind, kind)), "role_label": role_label}


def _context() -> dict:
    membership = g.get("membership")
    return {
        "brand": current_app.config["BRAND_NAME"],
        "locales": LOCALE_CHOICES,
        "current_locale": str(get_locale()),
        "membership": membership,
        "organisation": g.get("organisation"),
        "memberships": memberships(),
        "can_manage_team": can_manage(membership),
        "action_label": action_label,
        "tax_id_label": tax_id_label,
        "csrf_token_value": generate_csrf,
        "current_path": current_path(),
        **helpers(),
    }


class Reader:
    """Who reads this request's page, resolved once per request rather than per value: the language, the
    time zone, the organisation's country (the territory of money) and the moment statuses are judged at."""

    __slots__ = ("babel_locale", "organisation", "language", "timezone", "country", "now", "invoice_zones")

    def __init__(self, babel_locale, organisation):
        self.babel_locale, self.organisation = babel_locale, organisation
        self.invoice_zones: dict = {}  # (the snapshot's time zone, organisation id) → its ZoneInfo
        self.language = str(babel_locale or "en")
        self.timezone = str(get_timezone())
        self.country = organisation.country if organisation is not None else None
        self.now = utcnow()


def reader() -> Reader:
    """This request's Reader, kept beside Flask-Babel's state: force_locale() and a switch of organisation
    give a new one. A list asks for it in every cell: once the locale is chosen, this is two lookups of `g`."""
    if not has_app_context():
        return Reader(get_locale(), None)
    globals_ = g._get_current_object()
    state = globals_.__dict__.get("_flask_babel")
    locale = getattr(state, "babel_locale", None) if state is not None else None
    if locale is None:  # not chosen yet in this request (get_locale() chooses it and makes the state)
        locale, state = get_locale(), globals_.__dict__.get("_flask_babel")
    organisation = globals_.__dict__.get("organisation")
    kept = getattr(state, "portal_reader", None)
    if kept is None or kept.babel_locale is not locale or kept.organisation is not organisation:
        kept = Reader(locale, organisation)
        if state is not None:
            state.portal_reader = kept
    return kept


def _formatted(formatter, value, fmt: str) -> str:
    """`value` formatted for the reader's locale and time zone (the key of the cache below)."""
    found = reader()
    return _formatted_in(formatter, value, fmt, found.language, found.timezone)


@lru_cache(maxsize=8192)
def _formatted_in(formatter, value, fmt: str, _locale: str, _timezone: str) -> str:
    """Babel's date formatting costs ~60 µs a call and pages repeat the same values: kept per value,
    format, locale and time zone (the formatter reads the last two from the request)."""
    return formatter(value, fmt)


def date(value, fmt: str = "medium") -> str:
    return _formatted(format_date, value, fmt) if value else ""


def iso_date(value: str | None, fmt: str = "medium") -> str:
    """A calendar date kept as ISO text (a boleto's due date) in the reader's language."""
    return date(datetime_date.fromisoformat(value), fmt) if value else ""


def boleto_svg(digits: str, label: str) -> Markup:
    """A boleto's (or any even-length) number as an Interleaved 2 of 5 barcode, in SVG."""
    return Markup(interleaved2of5.svg(digits, str(label)))  # noqa: S704 (digits only, the label escaped)


def pix_qr_svg(code: str, title: str) -> Markup:
    return Markup(pix.qr_svg(code, str(title)))  # noqa: S704 (segno escapes the code and the title)


def pix_qr_png(code: str) -> str:
    """The BR Code's QR as a PNG data URI, for the invoice PDF (xhtml2pdf draws no SVG)."""
    return pix.qr_png_data_uri(code)


def country_name(code: str | None) -> str:
    """A country's name in the page's language ("CL" → "Chile"); an unknown code is shown as it is."""
    if not code:
        return ""
    return get_locale().territories.get(code.upper(), code)


def money(amount: int, currency: str, country: str | None = None, code: bool = False) -> str:
    """An amount for the reader: the locale's territory is `country`, else the current organisation's;
    `code=True` on screens where currencies mix (the ISO code instead of a symbol)."""
    found = reader()
    return format_money(amount, currency, found.language, found.country if country is None else country, code)


def amount_input(amount: int, currency: str) -> str:
    """An amount as a person would type it back into a field: no symbol, no grouping ("47564", "141,55")."""
    digits = get_currency_precision(currency)
    pattern = "0." + "0" * digits if digits else "0"
    return format_decimal(to_major(amount, currency), format=pattern, locale=reader().language)


def number(value) -> str:
    """A whole number in the reader's language ("1.000" in Spanish)."""
    return format_decimal(value, locale=reader().language)


def percent(basis_points: int) -> str:
    """Basis points as a percentage in the reader's language: 1900 → "19%", 1250 → "12,5 %"."""
    return format_percent(Decimal(basis_points) / 10_000, "#,##0.##%", locale=reader().language)


def amount_example() -> str:
    """How the reader writes an amount ("1,234.56" in English, "1.234,56" in Spanish)."""
    return format_decimal(Decimal("1234.56"), format="#,##0.00", locale=reader().language)


# Presentation of the domain's data: which badge a status wears, what a row's cells look like. Python, not
# macros: a list calls them for every row, and a macro call costs as much as the rest of the row.
INVOICE_BADGES = {"draft": "", "open": "warn", "overdue": "bad", "paid": "ok", "void": "", "uncollectible": "bad"}


def badge(label, tone: str = "") -> Markup:
    return Markup('<span class="badge%s">%s</span>') % (f" {tone}" if tone else "", label)


def invoice_status(invoice) -> str:
    """The status a person reads (an open invoice past its due date is overdue), judged once per request."""
    return display_status(invoice, reader().now)


def invoice_badge(invoice) -> Markup:
    status = invoice_status(invoice)
    found = _invoice_badges(translations()).get(status)
    return found if found is not None else badge(status_label(status), INVOICE_BADGES.get(status, ""))


@lru_cache(maxsize=16)
def _invoice_badges(_catalog) -> dict[str, Markup]:
    """Every status's badge, made once per catalog (the key: made in a request that reads it)."""
    return {status: badge(status_label(status), tone) for status, tone in INVOICE_BADGES.items()}


def invoice_day(invoice, moment) -> str:
    """`moment`'s calendar date where the invoice's customer is (local_date's rule), or a dash; the time
    zone found once per request for the invoices of one customer."""
    if not moment:
        return "—"
    zones = reader().invoice_zones
    key = ((invoice.customer_snapshot or {}).get("timezone"), invoice.organisation_id)
    zone = zones.get(key)
    if zone is None:
        zone = zones[key] = invoice_timezone(invoice)
    return date(moment.astimezone(zone).date())


def invoice_number(invoice, endpoint: str) -> Markup:
    """The invoice's number linked to its page (`endpoint`), marked when it is a credit note."""
    link = Markup('<a href="%s">%s</a>') % (path_for(endpoint, invoice_id=invoice.id), invoice.display_number)
    if invoice.kind == "credit_note":
        link += Markup('\n<br><small class="muted">%s</small>') % INVOICE_KIND_LABELS["credit_note"]
    return link


class Labels:
    """A dict of lazily translated labels (portal/labels.py) as templates read it, `labels[code]`: translated
    once per language and kept, instead of through Flask-Babel's lookup for every row that shows one."""

    __slots__ = ("_labels", "_translated")

    def __init__(self, labels: dict):
        self._labels = labels
        self._translated: dict = {}

    def __getitem__(self, key) -> str:
        catalog = translations()
        found = self._translated.get(catalog)
        if found is None:
            found = self._translated[catalog] = {code: str(label) for code, label in self._labels.items()}
        return found[key]


PAYMENT_BADGES = {"pending": "warn", "processing": "info", "succeeded": "ok", "failed": "bad", "expired": "",
                  "cancelled": ""}
METHOD_BADGES = {"active": "ok", "expired": "bad", "failing": "warn", "removed": ""}


def payment_badge(payment) -> Markup:
    return badge(PAYMENT_STATE_LABELS[payment.state], PAYMENT_BADGES.get(payment.state, ""))


def method_badge(method) -> Markup:
    return badge(PAYMENT_METHOD_STATE_LABELS[method.state], METHOD_BADGES.get(method.state, ""))


def card_name(method) -> str:
    """A stored card as a person recognises it: "Visa •••• 4242"."""
    return f"{method.brand.title()} •••• {method.last4}"


def payment_method_text(payment) -> str:
    """How a payment was made: the card's name, or the kind of method; "automatic" when nobody made it (auto-pay
    at renewal, auto-recharge)."""
    if payment.method_kind == "card" and payment.payment_method is not None:
        text = card_name(payment.payment_method)
    else:
        text = str(PAYMENT_METHOD_LABELS[payment.method_kind])
    return _("%(method)s, automatic", method=text) if is_automatic(payment) else text


def payment_failure(payment) -> Markup:
    """Why a failed payment was not made, or a reference is no longer asked for, under its status ("" for any
    other payment)."""
    if payment.state != "failed" and not (payment.state == "expired" and payment.failure_code == "invoice_settled"):
        return Markup("")
    reason = str(PAYMENT_FAILURE_LABELS.get(payment.failure_code or "", PAYMENT_FAILURE_LABELS["card_declined"]))
    return Markup('<br><small class="muted reason">%s</small>') % (reason[:1].upper() + reason[1:])


CONTRACT_BADGES = {"active": "ok", "trial": "info", "blocked": "bad", "cancelled": ""}


ADVISOR_REQUEST_BADGES = {"open": "warn", "answered": "ok", "closed": ""}


def advisor_request_badge(status: str) -> Markup:
    """A request to the commercial advisor's status as a badge."""
    return badge(ADVISOR_REQUEST_STATUS_LABELS[status], ADVISOR_REQUEST_BADGES[status])


def contract_badge(status: str | None) -> Markup:
    """A reseller's client's contract status (Efetivado, Teste, Bloqueado, Cancelado) as a badge; "—" for none."""
    if status is None:
        return Markup("—")
    return badge(CONTRACT_STATUS_LABELS[status], CONTRACT_BADGES[status])


def catalog_badge(item) -> Markup:
    """Whether a software, category or product is on sale or retired (the two badges made once per language)."""
    return _catalog_badges(reader().language, translations())[item.retired_at is None]


@lru_cache(maxsize=16)
def _catalog_badges(_language: str, _catalog) -> tuple[Markup, Markup]:
    """Made in the request that first needs them, whose catalog (`_catalog`, the key) gettext reads."""
    return badge(_("Retired"), "bad"), badge(_("On sale"), "ok")


def path_for(endpoint: str, **values: int) -> str:
    """url_for() of a route whose values are all ids, built once per endpoint and names and then filled in:
    a list links every row, and url_for costs ~15 µs a call."""
    names = tuple(sorted(values))
    patterns = current_app.extensions["portal_paths"]
    key = (request.script_root if has_request_context() else "", endpoint, names)
    pattern = patterns.get(key)
    if pattern is None:
        markers = {name: 1_900_000_001 + index for index, name in enumerate(names)}
        pattern = url_for(endpoint, **markers).replace("{", "{{").replace("}", "}}")
        for name, marker in markers.items():
            pattern = pattern.replace(str(marker), "{" + name + "}")
        patterns[key] = pattern
    return pattern.format(**{name: int(value) for name, value in values.items()})

def can_manage(membership) -> bool:
    return membership is not None and (membership.kind, membership.role) in TEAM_ADMIN_ROLES


def memberships() -> list:
    """The user's memberships for the switcher: an invitation not accepted yet is not one of them."""
    if not (has_request_context() and current_user.is_authenticated):
        return []
    return [m for m in current_user.memberships if not m.is_pending]


def current_path() -> str:
    return request.full_path.rstrip("?") if has_request_context() else "/"



def init_app(app) -> None:
    app.context_processor(_context)
    app.extensions["portal_paths"] = {}
    app.jinja_env.globals.update(
        path_for=path_for, badge=badge,
        invoice_status=invoice_status, invoice_badge=invoice_badge, invoice_day=invoice_day,
        invoice_number=invoice_number, status_label=status_label, local_date=local_date,
        taxes_by_rate=taxes_by_rate, invoice_kind_labels=Labels(INVOICE_KIND_LABELS), timedelta=timedelta,
        catalog_badge=catalog_badge, product_kind_labels=Labels(PRODUCT_KIND_LABELS),
        period_labels=Labels(PERIOD_LABELS), metric_labels=Labels(METRIC_LABELS), sorted_prices=sorted_prices,
        sorted_quotas=sorted_quotas,
        amount_example=amount_example, percent=percent, reader_now=lambda: reader().now,
        boleto_svg=boleto_svg, pix_qr_svg=pix_qr_svg, pix_qr_png=pix_qr_png,
        amount_input=amount_input, payment_badge=payment_badge, method_badge=method_badge, card_name=card_name,
        payment_method_text=payment_method_text, payment_failure=payment_failure,
        wallet_entry_labels=Labels(WALLET_ENTRY_LABELS),
        contract_badge=contract_badge, payer_labels=Labels(PAYER_LABELS),
        refund_state_labels=Labels(REFUND_STATE_LABELS), refund_destination_labels=Labels(REFUND_DESTINATION_LABELS),
        refund_to_labels=Labels(REFUND_TO_LABELS),
        contract_labels=Labels(CONTRACT_STATUS_LABELS),
        advisor_request_badge=advisor_request_badge, contact_labels=Labels(CONTACT_LABELS),
        advisor_request_status_labels=Labels(ADVISOR_REQUEST_STATUS_LABELS),
    )
    app.jinja_env.filters.update(
        money=money,
        timezone_name=timezone_name,
        datetime=lambda value, fmt="medium": _formatted(format_datetime, value, fmt) if value else "",
        date=date,
        iso_date=iso_date,
        number=number,
        percent=percent,
        tax_id=lambda value, country: format_tax_id(country, value),
        country=country_name,
    )
    install_template_gettext(app.jinja_env)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
