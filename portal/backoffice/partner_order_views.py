"""Views of the staff's approvals queue: every partner's orders of licenses waiting for approval, one order with
its items, and approving or cancelling it (once, whoever clicks at the same moment). Every vendor role reads
the queue; administrators and commercial advisors decide.
"""

from flask import abort, flash, g, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.backoffice.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render, wants_fragment
from portal.labels import ORDER_KIND_LABELS, ORDER_STATUS_LABELS, ORDER_STATUS_MARKS, ORDER_STATUS_TONES
from portal.orm import utcnow
from portal.services.errors import DomainError
from portal.services.partners import orders
from portal.templating import Labels
from portal.tenancy import client_address, roles

DECIDERS = ("admin", "advisor")
LABELS = dict(kind_labels=Labels(ORDER_KIND_LABELS), status_labels=Labels(ORDER_STATUS_LABELS),
              status_marks=Labels(ORDER_STATUS_MARKS), status_tones=ORDER_STATUS_TONES)


def _queue(status: int = 200, error: str | None = None):
    return render("backoffice/partner_orders/index.html", status=status, orders=orders.pending_orders(),
                  error=error, can_decide=g.membership.role in DECIDERS, **LABELS)


@bp.get("/partner-orders")
def partner_orders():
    """List every partner's orders waiting for approval, oldest first."""
    return _queue()


@bp.get("/partner-orders/<int:order_id>")
def partner_order(order_id: int):
    """Show one partner's order: its items, totals, who made it, what approving it invoices and adds to the
    partner's monthly subscription (once approved, what it did) and, once decided, who decided it."""
    found = orders.pending_order(order_id) or abort(404)
    return render("backoffice/partner_orders/order.html", order=found, can_decide=g.membership.role in DECIDERS,
                  billing=orders.billing_of(found, utcnow()), for_staff=True, **LABELS)


def _decide(order_id: int, verb, done: str):
    found = orders.pending_order(order_id) or abort(404)
    try:
        verb(found, current_user, utcnow(), client_address())
    except DomainError as error:  # decided meanwhile, by someone else: nothing was written
        db.session.rollback()
        if wants_fragment():
            flash(str(error.message), "error")
            return redirect_to(url_for("backoffice.partner_orders"))
        return _queue(error.status, str(error.message))
    db.session.commit()
    flash(done % {"number": found.id, "partner": found.partner.name}, "success")
    return redirect_to(url_for("backoffice.partner_orders"))


@bp.post("/partner-orders/<int:order_id>/approve")
@roles(*DECIDERS)
def partner_order_approve(order_id: int):
    """Approve a pending order: its licenses (bought + bonus) go to the partner's stock and its setup fees are
    invoiced once."""
    return _decide(order_id, orders.approve, _("Order %(number)s of %(partner)s was approved: its licenses are in "
                                               "the partner's stock and its setup fees, if any, are invoiced."))


@bp.post("/partner-orders/<int:order_id>/cancel")
@roles(*DECIDERS)
def partner_order_cancel(order_id: int):
    """Cancel a pending order: nothing is credited or invoiced."""
    return _decide(order_id, orders.cancel, _("Order %(number)s of %(partner)s was cancelled."))
