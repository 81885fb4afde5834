"""What every template can use: money and date filters, the brand, the switchers' data."""

from collections import OrderedDict
from functools import lru_cache
from threading import Lock

from flask import current_app, g, has_request_context, request, url_for
from flask_babel import format_date, format_datetime, get_locale, get_timezone
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from portal.activity import action_label
from portal.i18n import LOCALE_NAMES, LOCALES, format_money, install_template_gettext, timezone_name
from portal.labels import ORGANISATION_KIND_LABELS, TEAM_ADMIN_ROLES, role_label
from portal.services.accounts.taxid import format_tax_id, tax_id_label

_LOCALE_CHOICES = [(code, LOCALE_NAMES[code]) for code in LOCALES]


def _helpers() -> dict:
    return {"kind_label": lambda kind: str(ORGANISATION_KIND_LABELS.get(kind, kind)), "role_label": role_label}


def _context() -> dict:
    membership = g.get("membership")
    return {
        "brand": current_app.config["BRAND_NAME"],
        "locales": _LOCALE_CHOICES,
        "current_locale": str(get_locale()),
        "membership": membership,
        "organisation": g.get("organisation"),
        "memberships": _memberships(),
        "can_manage_team": _can_manage(membership),
        "action_label": action_label,
        "tax_id_label": tax_id_label,
        "csrf_token_value": generate_csrf,
        "current_path": _current_path(),
        **_helpers(),
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


# The shell: the top bar and the sidebar are the same for every request of one user, membership and
# language (and, for the sidebar, the current section). Each is rendered once for them and kept per
# process; the key is made of everything they show, read from the rows loaded for the request, so a
# change of role, organisation, name, advisor or language is a new key and never a stale bar.
SHELL_ENTRIES = 2048
_CSRF_SLOT, _PATH_SLOT = "\x00csrf\x00", "\x00path\x00"
# The sections whose link is current on every page under their address (an invoice is under Invoices).
_SECTIONS = ("customer.invoices", "customer.integration_key", "backoffice.invoices", "backoffice.catalog_index")


class ShellCache:
    """Rendered top bars and sidebars, least recently used first out."""

    def __init__(self, size: int = SHELL_ENTRIES):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = Lock()

    def get(self, key, render) -> str:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        found = render()
        with self._lock:
            self._entries[key] = found
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _shell_cache() -> ShellCache:
    return current_app.extensions["portal_shell"]


def _shell_template(name: str, **context) -> str:
    base = {"brand": current_app.config["BRAND_NAME"], "current_user": current_user,
            "current_locale": str(get_locale()), **_helpers()}
    return current_app.jinja_env.get_template(name).render(base | context)


def _topbar_key(locale: str) -> tuple:
    if not current_user.is_authenticated:
        return (locale,)
    membership, organisation = g.get("membership"), g.get("organisation")
    advisor = organisation.advisor if organisation is not None and organisation.kind == "customer" else None
    return (
        locale, current_user.id, current_user.name, current_user.email,
        tuple((m.id, m.role, m.organisation.kind, m.organisation.name, m.organisation.trade_name)
              for m in _memberships()),
        membership.id if membership is not None else None,
        membership.role if membership is not None else None,
        (organisation.id, organisation.kind, organisation.name, organisation.trade_name) if organisation else None,
        (advisor.name, advisor.email) if advisor is not None else None,
    )


def shell_topbar() -> Markup:
    """The top bar of this request: kept per user, membership and language, with this request's CSRF
    token and address put in."""
    locale = str(get_locale())

    def render() -> str:
        membership = g.get("membership")
        return _shell_template(
            "components/topbar.html", locales=_LOCALE_CHOICES, membership=membership,
            organisation=g.get("organisation"), memberships=_memberships(), can_manage_team=_can_manage(membership),
            csrf_token=lambda: _CSRF_SLOT, current_path=_PATH_SLOT)

    html = _shell_cache().get(("topbar", *_topbar_key(locale)), render)
    html = html.replace(_CSRF_SLOT, generate_csrf()) if _CSRF_SLOT in html else html
    return Markup(html.replace(_PATH_SLOT, str(escape(_current_path()))))  # noqa: S704 — rendered escaped


@lru_cache(maxsize=64)
def _section_paths(script_root: str) -> tuple:
    return tuple((endpoint, url_for(endpoint)) for endpoint in _SECTIONS)


def current_sections() -> frozenset:
    """The endpoints whose sidebar link is the current page's: the page itself, and the section whose
    address the page is under."""
    path = request.path
    under = {endpoint for endpoint, prefix in _section_paths(request.script_root) if path.startswith(prefix)}
    return frozenset({request.endpoint, *under} - {None})


def shell_nav() -> Markup:
    """The sidebar of the current membership, kept per kind, role, language and current section."""
    membership = g.membership
    can_manage = _can_manage(membership)
    current = current_sections()
    key = ("nav", str(get_locale()), membership.kind, membership.role, can_manage, current)
    return Markup(_shell_cache().get(key, lambda: _shell_template(  # noqa: S704 — rendered escaped
        "components/nav.html", membership=membership, can_manage_team=can_manage, current=current)))


def _can_manage(membership) -> bool:
    return membership is not None and (membership.kind, membership.role) in TEAM_ADMIN_ROLES


def _memberships() -> list:
    """The user's memberships for the switcher: an invitation not accepted yet is not one of them."""
    if not (has_request_context() and current_user.is_authenticated):
        return []
    return [m for m in current_user.memberships if not m.is_pending]


def _current_path() -> str:
    return request.full_path.rstrip("?") if has_request_context() else "/"


def init_app(app) -> None:
    app.extensions["portal_shell"] = ShellCache()
    app.context_processor(_context)
    app.jinja_env.globals.update(shell_topbar=shell_topbar, shell_nav=shell_nav)
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
