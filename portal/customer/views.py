"""Views of the customer blueprint (members of a customer organisation)."""

from flask import Blueprint, g

from portal.activity import recent_activity
from portal.htmx import render
from portal.labels import METRIC_LABELS, SUBSCRIPTION_STATUS_LABELS
from portal.orm import utcnow
from portal.services import trial_notices
from portal.services.billing import credit_notes
from portal.services.billing.entitlements import entitlements_for
from portal.tenancy import gate

# What a blocked organisation still opens: what it owes, how to pay it, how it is told (services/accounts/
# blocking.py), and its commercial advisor, whom the banner tells it to ask. Its home sends it to "Pay online".
OPEN_WHEN_BLOCKED = frozenset({
    "customer.pay", "customer.payments", "customer.payments_csv", "customer.payment",
    "customer.payment_instructions", "customer.invoice_pay_offline",
    "customer.invoices", "customer.invoices_csv", "customer.invoice", "customer.invoice_pdf",
    "customer.payment_methods", "customer.payment_method_new", "customer.payment_method_added",
    "customer.payment_method_auto_pay", "customer.payment_method_auto_pay_off", "customer.payment_method_remove",
    "customer.wallet", "customer.billing_preferences",
    "customer.advisor_request_new", "customer.advisor_requests", "customer.advisor_request",
})

bp = Blueprint("customer", __name__, url_prefix="/customer")
bp.before_request(gate("customer", open_when_blocked=OPEN_WHEN_BLOCKED, blocked_landing="customer.pay"))


@bp.get("/")
def home():
    """Show the customer's home: its plan with what it includes and uses, what it owes, the company, its people,
    its advisor and recent activity."""
    org = g.organisation
    plan = entitlements_for(org)
    members = plan.metrics["users"].used  # the organisation's memberships, counted once for both
    return render("customer/home.html", members=members, activity=recent_activity(org.id),
                  plan=plan, metric_labels=METRIC_LABELS, status_labels=SUBSCRIPTION_STATUS_LABELS,
                  amounts_due=credit_notes.amounts_due(org.id), trial=trial_notices.trial_ending(org, utcnow()))
