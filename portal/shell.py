"""The shell of every logged-in page: the top bar and the sidebar, rendered once per user, membership,
language (and section) and kept per process, with this request's CSRF token, address and cart count put in."""

from collections import OrderedDict
from functools import lru_cache
from threading import Lock

from flask import current_app, g, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from portal.services.store.carts import line_count
from portal.templating import LOCALE_CHOICES, can_manage, current_path, helpers, memberships

# The shell: the top bar and the sidebar are the same for every request of one user, membership and
# language (and, for the sidebar, the current section). Each is rendered once for them and kept per
# process; the key is made of everything they show, read from the rows loaded for the request, so a
# change of role, organisation, name, advisor or language is a new key and never a stale bar.
SHELL_ENTRIES = 2048
_CSRF_SLOT, _PATH_SLOT, _CART_SLOT = "\x00csrf\x00", "\x00path\x00", "\x00cart\x00"
# The sections whose link is current on every page under their address (an invoice is under Invoices).
_SECTIONS = ("customer.store", "customer.account_overview", "customer.invoices", "customer.integration_key",
             "customer.organisation", "customer.advisor_requests",
             "backoffice.organisations", "backoffice.invoices", "backoffice.catalog_index",
             "backoffice.reconciliation_index", "backoffice.advisor_requests", "backoffice.price_lists",
             "backoffice.partner_orders",
             "reseller.payment")


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
            "current_locale": str(get_locale()), **helpers()}
    return current_app.jinja_env.get_template(name).render(base | context)


def _topbar_key(locale: str) -> tuple:
    if not current_user.is_authenticated:
        return (locale,)
    membership, organisation = g.get("membership"), g.get("organisation")
    advisor = organisation.advisor if organisation is not None and organisation.kind == "customer" else None
    return (
        locale, current_user.id, current_user.name, current_user.email,
        tuple((m.id, m.role, m.organisation.kind, m.organisation.name, m.organisation.trade_name)
              for m in memberships()),
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
            "components/topbar.html", locales=LOCALE_CHOICES, membership=membership,
            organisation=g.get("organisation"), memberships=memberships(), can_manage_team=can_manage(membership),
            csrf_token=lambda: _CSRF_SLOT, current_path=_PATH_SLOT, cart_slot=_CART_SLOT)

    html = _shell_cache().get(("topbar", request.script_root, *_topbar_key(locale)), render)
    html = html.replace(_CSRF_SLOT, generate_csrf()) if _CSRF_SLOT in html else html
    html = html.replace(_CART_SLOT, _cart_badge()) if _CART_SLOT in html else html
    return Markup(html.replace(_PATH_SLOT, str(escape(current_path()))))  # noqa: S704 — rendered escaped


def _cart_badge() -> str:
    """The top bar's cart link with this request's count (a customer administrator's own cart)."""
    count = line_count(g.organisation, current_user)
    key = ("cart", str(get_locale()), request.script_root, count)
    return _shell_cache().get(key, lambda: current_app.jinja_env.get_template("components/cart_badge.html").render(
        count=count, oob=False))


@lru_cache(maxsize=64)
def _section_paths(script_root: str) -> tuple:
    return tuple((endpoint, url_for(endpoint)) for endpoint in _SECTIONS)


def current_sections() -> frozenset:
    """The endpoints whose sidebar link is the current page's: the page itself, and the section whose
    address the page is under (/reseller/payment/invoices/7 is under /reseller/payment, /reseller/payment-methods
    is not)."""
    path = request.path
    under = {endpoint for endpoint, prefix in _section_paths(request.script_root)
             if path == prefix or path.startswith(prefix.rstrip("/") + "/")}
    return frozenset({request.endpoint, *under} - {None})


def shell_nav() -> Markup:
    """The sidebar of the current membership, kept per kind, role, language and current section."""
    membership = g.membership
    manages_team = can_manage(membership)
    current = current_sections()
    key = ("nav", str(get_locale()), request.script_root, membership.kind, membership.role, manages_team, current)
    return Markup(_shell_cache().get(key, lambda: _shell_template(  # noqa: S704 — rendered escaped
        "components/nav.html", membership=membership, can_manage_team=manages_team, current=current)))



def init_app(app) -> None:
    app.extensions["portal_shell"] = ShellCache()
    app.jinja_env.globals.update(shell_topbar=shell_topbar, shell_nav=shell_nav)
