"""The customer's account area ("Mi cuenta > Facturación"): the billing overview, and the pages beside it."""

from flask import g

from portal.customer.views import bp
from portal.htmx import render
from portal.labels import SUBSCRIPTION_STATUS_LABELS
from portal.orm import utcnow
from portal.services.billing import account, estimate
from portal.services.billing.entitlements import subscriptions_in_force


@bp.get("/account")
def account_overview():
    """Show the billing overview: what is owed and overdue, each plan's billing cycle with an estimate of its next
    invoice, and the last purchase."""
    org, now = g.organisation, utcnow()
    return render("customer/account/overview.html", balances=account.balances(org.id, now),
                  overdue=account.overdue_invoices(org.id, now), subscriptions=subscriptions_in_force(org.id),
                  estimates=estimate.next_invoices(org.id), last=account.last_purchase(org.id),
                  status_labels=SUBSCRIPTION_STATUS_LABELS)
