"""Who is acting for which organisation: the current membership, and the role gates of the blueprints.

Every tenant-scoped query uses `g.organisation` (set here once per request) and never an id taken
from the request alone.
"""

from functools import wraps

from flask import abort, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.services.accounts.organisations import membership_for
from portal.sessions import login_redirect

LANDING = {
    "customer": "customer.home",
    "reseller": "reseller.home",
    "partner": "partner.home",
    "vendor": "backoffice.home",
}


def load_membership() -> None:
    """Set g.membership and g.organisation for a logged-in user (the one chosen in the switcher)."""
    g.membership = g.organisation = None
    if request.endpoint == "static" or not current_user.is_authenticated:
        return
    membership = membership_for(current_user, session.get("membership_id"))
    if membership is not None:
        g.membership = membership
        g.organisation = membership.organisation
        g.log_user_id, g.log_organisation_id = membership.user_id, membership.organisation_id
        if session.get("membership_id") != membership.id:  # rewriting the cookie on every request would race
            session["membership_id"] = membership.id


def landing_url() -> str:
    if g.get("membership") is None:
        return url_for("auth.no_membership")
    return url_for(LANDING[g.membership.kind])


def gate(kind: str, open_when_blocked: frozenset[str] = frozenset(), blocked_landing: str | None = None):
    """A blueprint's before_request: only members of a `kind` organisation pass. While the organisation is
    blocked only the endpoints `open_when_blocked` (its billing screens) open; its home sends it to
    `blocked_landing`, anything else is refused with a page that says why."""

    def check():
        if not current_user.is_authenticated:
            return login_redirect()
        if g.membership is None or g.membership.kind != kind:
            abort(403)
        if g.organisation.status == "blocked" and request.endpoint not in open_when_blocked:
            if blocked_landing is not None and request.endpoint == LANDING[kind]:
                return redirect(url_for(blocked_landing), 303)
            abort(403, description=blocked_explanation(g.organisation))
        return None

    return check


def blocked_explanation(organisation) -> str:
    """Why a blocked organisation cannot open a page, and what lifts the block."""
    if organisation.blocked_reason == "unpaid":
        return _("Your account is blocked because a balance is overdue. Only your invoices and payments are "
                 "open; pay what is overdue and everything opens again at once.")
    if organisation.blocked_reason == "reseller":
        return _("Your reseller has blocked your account. Only your invoices and payments are open; ask your "
                 "reseller to unblock it.")
    return _("Your account is blocked. Only your invoices and payments are open; ask your advisor or our "
             "support team to unblock it.")


def roles(*allowed: str):
    """Restrict a view to some roles of the blueprint's organisation kind."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.membership is None or g.membership.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def client_address() -> str | None:
    return request.remote_addr
