"""The back office's billing settings: the discount a reseller gets on the plans it pays for its clients. Every
vendor role reads them; administrators and billing staff change them (audited)."""

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.backoffice.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.services.billing import settings
from portal.services.errors import DomainError
from portal.tenancy import client_address, roles

TEMPLATE = "backoffice/billing_settings.html"


def _page(status: int = 200, **context):
    return render(TEMPLATE, "billing_settings_form", status=status,
                  discount_percent=settings.reseller_discount_bp() // 100, **context)


@bp.get("/billing-settings")
def billing_settings():
    """Show the billing settings: the reseller discount."""
    return _page()


@bp.post("/billing-settings")
@roles("admin", "billing")
def billing_settings_save():
    """Keep the reseller discount (a whole percentage) for the subscriptions resellers pay from now on."""
    typed = request.form.get("reseller_discount", "")
    try:
        settings.set_reseller_discount(typed, current_user, client_address())
    except DomainError as error:
        db.session.rollback()
        return _page(status=422, error=str(error.message), typed=typed[:10])
    db.session.commit()
    flash(_("The billing settings were saved."), "success")
    return redirect_to(url_for("backoffice.billing_settings"))
