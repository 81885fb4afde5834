"""Views of the partner blueprint (administrators and sellers of a license partner)."""

from flask import Blueprint, g

from portal.activity import recent_activity
from portal.extensions import db
from portal.htmx import render
from portal.models import Membership
from portal.tenancy import gate

bp = Blueprint("partner", __name__, url_prefix="/partner")
# While the partner is blocked for an overdue balance only its invoices open (invoice_views.py), to pay it, and
# its cards (method_views.py), to pay it with one.
OPEN_WHEN_BLOCKED = frozenset({"partner.invoices", "partner.invoices_csv", "partner.invoice", "partner.invoice_pdf",
                               "partner.invoice_pay", "partner.invoice_reference",
                               "partner.payment_methods", "partner.payment_method_new", "partner.payment_method_added",
                               "partner.payment_method_auto_pay", "partner.payment_method_auto_pay_off",
                               "partner.payment_method_remove"})
bp.before_request(gate("partner", open_when_blocked=OPEN_WHEN_BLOCKED))


@bp.get("/")
def home():
    """Show the partner's home: the company, its people and recent activity."""
    org = g.organisation
    members = db.session.scalar(db.select(db.func.count()).where(Membership.organisation_id == org.id))
    return render("partner/home.html", members=members, activity=recent_activity(org.id))
