"""The estimate of the next invoice is the invoice the billing sweep then issues, to the minor unit.

For random subscriptions (monthly or annual, trial or not, add-ons, Chile or Brazil), random usage and a random
change made during the period (more or fewer users, a module added or removed, an upgrade, a downgrade, a
suspension or a cancellation), the estimate taken at a random moment of the period, once nothing else happens,
equals line by line and in its totals the invoice the sweep issues when the period ends.
"""

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import Invoice
from portal.services.billing import estimate, usage
from portal.services.billing import subscriptions as subs
from portal.services.billing.rules import period_key
from portal.services.errors import DomainError
from portal.workflows.billing_run import run_sweep
from tests import factories
from tests.services.billing_helpers import JAN

LINE_FIELDS = ("kind", "description", "product_id", "quantity", "unit_amount", "amount", "tax_rate_bp",
               "tax_amount", "total")
CHANGES = ("none", "more_users", "fewer_users", "add_module", "remove_module", "upgrade", "downgrade", "suspend",
           "cancel")


def _change(cat, sub, change: str, now) -> None:
    users = next((item.quantity for item in sub.items if item.product_id == cat.user.id), 0)
    if change == "more_users":
        subs.change_quantity(sub, cat.user, users + 2, now)
    elif change == "fewer_users" and users > 1:
        subs.change_quantity(sub, cat.user, users - 1, now)
    elif change == "add_module":
        subs.add_addon(sub, cat.module, now)
    elif change == "remove_module":
        subs.remove_addon(sub, cat.module, now)
    elif change == "upgrade":
        subs.change_plan(sub, cat.pro, now)
    elif change == "downgrade":
        subs.change_plan(sub, cat.pro, now)
        subs.change_plan(sub, cat.basic, now + timedelta(hours=1))
    elif change == "suspend":
        subs.suspend(sub, now)
    elif change == "cancel":
        subs.cancel(sub, now)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(period=st.sampled_from(["monthly", "annual"]), trial=st.sampled_from([0, 0, 14]),
       country=st.sampled_from(["CL", "BR"]), users=st.integers(0, 3), module=st.booleans(),
       change=st.sampled_from(CHANGES), change_day=st.integers(1, 12),
       documents=st.lists(st.tuples(st.integers(0, 13), st.integers(1, 400)), max_size=4),
       look_day=st.integers(13, 14))
def test_the_estimate_is_the_invoice_the_sweep_issues(cat, period, trial, country, users, module, change, change_day,
                                                       documents, look_day):
    org = factories.make_org("customer", country)
    currency = "CLP" if country == "CL" else "BRL"
    items = ([(cat.user, users)] if users else []) + ([(cat.module, 1)] if module else [])
    sub = subs.start_subscription(org, cat.basic, currency, period, JAN, trial_days=trial, items=items)
    db.session.commit()
    try:
        _change(cat, sub, change, JAN + timedelta(days=change_day))
        db.session.commit()
    except DomainError:
        db.session.rollback()
    events = [usage.Event(f"e{n}", "documents", quantity, JAN + timedelta(days=day, hours=1))
              for n, (day, quantity) in enumerate(documents)]
    if events:
        usage.record_events(org, events, JAN + timedelta(days=14))
        db.session.commit()
    db.session.refresh(sub)
    end = sub.current_period_end

    estimates = estimate.next_invoices(org.id)
    db.session.commit()
    run_sweep(end, render_pdfs=False)
    db.session.expire_all()
    issued = db.session.scalar(db.select(Invoice).where(Invoice.period_key == period_key(sub.id, end)))

    expected = estimates.get(sub.id)
    if expected is None or not expected.lines:
        assert issued is None, "the sweep invoiced what the estimate said it would not"
        return
    assert expected.issue_at == end
    assert issued is not None, "the estimate announced an invoice the sweep did not issue"
    assert [tuple(line[name] for name in LINE_FIELDS) for line in expected.lines] == [
        tuple(getattr(line, name) for name in LINE_FIELDS) for line in issued.lines]
    assert (expected.subtotal, expected.tax_total, expected.total) == (issued.subtotal, issued.tax_total,
                                                                       issued.total)
    assert expected.currency == issued.currency


def test_the_estimate_counts_the_overage_so_far_and_taxes(cat):
    org = factories.make_org("customer", "CL")
    sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN, trial_days=0, items=[(cat.user, 2)])
    usage.record_events(org, [usage.Event("d1", "documents", 130, JAN + timedelta(days=3))], JAN + timedelta(days=3))
    db.session.flush()
    found = estimate.next_invoices(org.id)[sub.id]
    assert found.action == "renewed" and found.issue_at == sub.current_period_end
    assert [(line["kind"], line["quantity"], line["amount"]) for line in found.lines] == [
        ("recurring", 1, 10_000), ("recurring", 2, 6_000), ("overage", 30, 1_500)]
    assert (found.subtotal, found.tax_total, found.total) == (17_500, 3_325, 20_825)  # CL 19 % per line
