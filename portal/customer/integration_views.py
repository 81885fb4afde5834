"""The customer's integration key: see it masked, show it whole, generate a new one (administrators only)."""

from flask import flash, g, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.customer.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.models import User
from portal.services.accounts import integration
from portal.tenancy import client_address, roles

TEMPLATE = "customer/integration.html"
# The prefix of a key just generated: the page after the redirect shows that key whole, once.
FRESH_KEY = "integration_key_fresh"


def _page(block: str | None = None, revealed: str | None = None, confirming: bool = False):
    row = integration.current_key(g.organisation)
    fresh = session.pop(FRESH_KEY, None)
    if row is not None and revealed is None and fresh == row.prefix:
        revealed = integration.reveal_key(g.organisation)  # its generation is in the audit log already
    created_by = db.session.get(User, row.created_by_id) if row is not None and row.created_by_id else None
    response = render(TEMPLATE, block, key=row, created_by=created_by, revealed=revealed,
                      confirming=confirming and row is not None,
                      masked=integration.masked(row) if row is not None else "",
                      api_base=url_for("api.me", _external=True).removesuffix("/me"),
                      openapi_url=url_for("api.openapi", _external=True))
    # The page may carry the key in the clear: no cache keeps it, neither the browser's nor a proxy's.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/integration")
@roles("admin")
def integration_key():
    """Show the organisation's integration key (masked) and how the software sends it."""
    return _page("integration_key")


@bp.post("/integration/reveal")
@roles("admin")
def integration_key_reveal():
    """Show the whole key, recorded in the audit log; answered in place, since a secret has no URL to go to."""
    raw = integration.reveal_key(g.organisation, current_user, client_address())
    if raw is None:
        return redirect_to(url_for("customer.integration_key"))
    db.session.commit()
    return _page("integration_key", revealed=raw)


@bp.route("/integration/generate", methods=["GET", "POST"])
@roles("admin")
def integration_key_generate():
    """Ask to confirm, then generate a new key; the previous one stops working at once."""
    if request.method == "POST":
        had_key = integration.current_key(g.organisation) is not None
        raw = integration.generate_key(g.organisation, current_user, client_address())
        db.session.commit()
        session[FRESH_KEY] = raw[:integration.SHOWN_PREFIX]
        flash(_("A new integration key was generated and the previous one no longer works. Copy the new key "
                "into your software now.") if had_key else
              _("Your integration key was generated. Copy it into your software."), "success")
        return redirect_to(url_for("customer.integration_key"))
    return _page(confirming=True)  # GET, and HEAD and OPTIONS with it, only ask
