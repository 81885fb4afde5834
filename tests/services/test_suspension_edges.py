"""The suspension rules of seed 003 at their edges: a suspension on the last day of a month (monthly and
annual), at a month's exact boundary, an annual plan bought with a discount, and one whose plan changed
mid-year. Always whole unused months, never more than was paid."""

from datetime import timedelta

import pytest

from portal.services.billing import money
from portal.services.billing import subscriptions as subs
from portal.services.billing.rules import add_months
from portal.workflows.billing_run import run_sweep
from tests import factories
from tests.services.billing_helpers import JAN, assert_adds_up, invoices_of, pending_of

TAX_BP = 1_900  # Chile's IVA in the test catalog


def _with_tax(net: int) -> int:
    return net + money.tax_for(net, TAX_BP)


def _annual(cat, **kw):
    org = kw.pop("org", None) or factories.make_org("customer", "CL")
    return org, subs.start_subscription(org, cat.basic, "CLP", "annual", JAN, trial_days=0, **kw)


def test_a_monthly_plan_suspended_on_the_last_day_of_a_month_runs_to_its_period_end_and_is_not_charged_again(cat):
    org = factories.make_org("customer", "CL")
    sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN, trial_days=0)
    last_day = JAN.replace(day=31, hour=23, minute=59)  # the period runs 10 Jan → 10 Feb
    preview = subs.preview_suspension(sub, last_day)
    assert (preview.immediate, preview.effective_at, preview.refund) == (False, add_months(JAN, 1), 0)
    subs.suspend(sub, last_day)
    assert sub.status == "active"  # usable to the end of the period
    run_sweep(add_months(JAN, 2), render_pdfs=False)
    assert sub.status == "suspended" and sub.suspended_at == add_months(JAN, 1)
    assert len(invoices_of(org)) == 1


@pytest.mark.parametrize(("moment", "unused"), [
    (JAN.replace(day=31, hour=23, minute=59), 11),           # the first calendar month's last minute
    (add_months(JAN, 5) - timedelta(minutes=1), 7),          # the last minute of the plan's 5th month
    (add_months(JAN, 5), 7),                                 # the 6th month's first instant: not begun yet
    (add_months(JAN, 5) + timedelta(minutes=1), 6),          # a minute into the 6th month: it counts as used
    (add_months(JAN, 12) - timedelta(minutes=1), 0),         # the period's last minute: nothing left to refund
])
def test_an_annual_plan_is_refunded_exactly_its_whole_unused_months(cat, moment, unused):
    org, sub = _annual(cat)
    [invoice] = invoices_of(org)
    preview = subs.preview_suspension(sub, moment)
    refund = _with_tax(money.round_half_up(money.Fraction(100_000 * unused, 12))) if unused else 0
    assert (preview.unused_months, preview.refund) == (unused, refund)
    subs.suspend(sub, moment)
    notes = invoices_of(org, "credit_note")
    assert sum(note.total for note in notes) == refund <= invoice.total
    for note in notes:
        assert_adds_up(note)


def test_an_annual_plan_bought_with_a_discount_is_refunded_what_was_paid_for_the_months_left(cat):
    reseller = factories.make_org("reseller", "CL")
    org = factories.make_org("customer", "CL", reseller_id=reseller.id)
    _org, sub = _annual(cat, org=org, payer=reseller)
    [invoice] = invoices_of(reseller)
    assert invoice.total == _with_tax(50_000)  # 50 % off for a reseller that pays
    moment = add_months(JAN, 4) + timedelta(days=3)  # in the 5th month: 7 unused
    preview = subs.preview_suspension(sub, moment)
    expected = _with_tax(money.round_half_up(money.Fraction(50_000 * 7, 12)))
    assert preview.refund == expected
    subs.suspend(sub, moment)
    [note] = invoices_of(reseller, "credit_note")
    assert (note.total, note.credit_for_id) == (expected, invoice.id)
    assert note.total < invoice.total


def test_an_annual_plan_changed_mid_year_refunds_the_unused_months_of_the_plan_and_charges_the_upgrade_used(cat):
    org, sub = _annual(cat)
    changed = add_months(JAN, 2) + timedelta(days=2)  # in the 3rd month, Básico → Pro
    subs.change_plan(sub, cat.pro, changed)
    [upgrade] = pending_of(sub)
    assert upgrade.kind == "prorated" and upgrade.amount > 0
    moment = add_months(JAN, 4) + timedelta(days=3)  # in the 5th month: 7 unused, service ends at the 6th's start
    cut = add_months(JAN, 5)
    preview = subs.preview_suspension(sub, moment)
    used_upgrade = money.prorate(upgrade.amount, upgrade.period_start, cut, upgrade.period_start, upgrade.period_end)
    assert preview.unused_months == 7
    assert preview.refund == _with_tax(money.round_half_up(money.Fraction(100_000 * 7, 12)))
    assert preview.final_charge == _with_tax(used_upgrade)
    subs.suspend(sub, moment)
    first, final = invoices_of(org)
    [note] = invoices_of(org, "credit_note")
    assert (note.total, final.total) == (preview.refund, preview.final_charge)
    assert (final.period_start, final.period_end) == (JAN, cut)
    assert pending_of(sub) == []
    # Paid for the year, given back 7 months, charged the upgrade only up to the cut: never more than was paid.
    assert note.total <= first.total
    for document in (final, note):
        assert_adds_up(document)
