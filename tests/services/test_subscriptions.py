"""Subscriptions: starting with or without a trial, prorated changes, plan changes, suspension, cancellation."""

from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import Subscription, SubscriptionEvent
from portal.services.billing import subscriptions as subs
from portal.services.billing.rules import add_months, next_period
from portal.services.errors import DomainError
from portal.workflows.billing_run import run_sweep
from tests import factories
from tests.services.billing_helpers import JAN, assert_adds_up, invoices_of, lines_of, pending_of


def _customer(**fields):
    return factories.make_org("customer", "CL", **fields)


def _events(sub) -> list[str]:
    return list(db.session.scalars(db.select(SubscriptionEvent.action).where(
        SubscriptionEvent.subscription_id == sub.id).order_by(SubscriptionEvent.id)))


# Periods


def test_monthly_periods_keep_the_day_they_started_on_through_short_months():
    start = JAN.replace(day=31)
    periods = [(start, add_months(start, 1))]
    for _ in range(4):
        periods.append(next_period(*periods[-1], "monthly"))
    assert [end.strftime("%m-%d") for _start, end in periods] == ["02-28", "03-31", "04-30", "05-31", "06-30"]


# Starting


def test_a_trial_costs_nothing_until_it_ends(cat):
    org = _customer()
    sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN)
    assert (sub.status, sub.current_period_end, sub.trial_ends_at) == ("trial", JAN + timedelta(days=30),
                                                                      JAN + timedelta(days=30))
    assert invoices_of(org) == []
    assert _events(sub) == ["trial_started"]


def test_without_trial_the_first_month_is_invoiced_at_once_with_tax(cat):
    org = _customer()
    sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN, trial_days=0, items=[(cat.user, 2)])
    [invoice] = invoices_of(org)
    assert [(line.kind, line.quantity, line.unit_amount, line.tax_amount) for line in lines_of(invoice)] == [
        ("recurring", 1, 10_000, 1_900), ("recurring", 2, 3_000, 1_140)]
    assert (invoice.total, invoice.status, invoice.period_start, invoice.period_end) == (
        19_040, "open", JAN, add_months(JAN, 1))
    assert invoice.due_at == JAN + timedelta(days=10)
    assert invoice.customer_snapshot["name"] == org.name and invoice.vendor_snapshot["name"] == "Vitrine Software SpA"
    assert sub.status == "active"
    assert_adds_up(invoice)


def test_the_setup_fee_of_a_module_is_charged_once_on_the_first_invoice(cat):
    org = _customer()
    subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN, trial_days=0, items=[(cat.module, 1)])
    [invoice] = invoices_of(org)
    assert [(line.kind, line.amount) for line in lines_of(invoice)] == [
        ("recurring", 10_000), ("recurring", 6_000), ("setup", 20_000)]


def test_a_reseller_that_pays_gets_half_price_and_the_invoice(cat):
    reseller = factories.make_org("reseller", "BR")
    org = factories.make_org("customer", "BR", reseller_id=reseller.id)
    sub = subs.start_subscription(org, cat.basic, "BRL", "monthly", JAN, trial_days=0, payer=reseller)
    assert sub.discount_bp == 5000
    assert invoices_of(org) == []
    [invoice] = invoices_of(reseller)
    [line] = lines_of(invoice)
    assert (line.unit_amount, line.tax_rate_bp, line.tax_amount) == (2_995, 500, 150)
    assert "50" in line.description and invoice.customer_snapshot["country"] == "BR"


def test_a_stranger_cannot_pay_for_a_customer(cat):
    with pytest.raises(DomainError) as error:
        subs.start_subscription(_customer(), cat.basic, "CLP", "monthly", JAN, payer=factories.make_org("reseller"))
    assert error.value.code == "invalid_payer"


@pytest.mark.parametrize(("change", "code"), [
    (dict(plan="old"), "product_retired"),
    (dict(currency="MXN"), "no_price"),
    (dict(period="weekly"), "invalid_period"),
    (dict(items=[("user", 0)]), "invalid_quantity"),
    (dict(items=[("user", 10_001)]), "quantity_too_large"),
    (dict(items=[("pro", 1)]), "not_an_addon"),
    (dict(trial_days=-1), "invalid_trial"),
])
def test_starting_with_bad_input_writes_nothing(cat, change, code):
    org = _customer()
    args = {"plan": cat.basic, "currency": "CLP", "period": "monthly", "trial_days": 0, "items": []}
    for key, value in change.items():
        if key == "plan":
            value = getattr(cat, value)
        if key == "items":
            value = [(getattr(cat, name), quantity) for name, quantity in value]
        args[key] = value
    with pytest.raises(DomainError) as error:
        subs.start_subscription(org, args.pop("plan"), args.pop("currency"), args.pop("period"), JAN, **args)
    assert error.value.code == code
    assert db.session.scalar(db.select(db.func.count(Subscription.id))) == 0
    assert invoices_of(org) == []


def test_one_plan_per_software(cat):
    org = _customer()
    subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN)
    with pytest.raises(DomainError) as error:
        subs.start_subscription(org, cat.pro, "CLP", "monthly", JAN)
    assert error.value.code == "already_subscribed"


# Quantities and add-ons


def _active(cat, org=None, period="monthly", **kw):
    org = org or _customer()
    return org, subs.start_subscription(org, cat.basic, "CLP", period, JAN, trial_days=0, **kw)


def test_more_users_mid_month_are_charged_for_the_days_left_on_the_next_invoice(cat):
    org, sub = _active(cat, items=[(cat.user, 1)])
    # 31 days from 10 Jan to 10 Feb; on 25 Jan, 16 days are left
    subs.change_quantity(sub, cat.user, 3, JAN + timedelta(days=15))
    [charge] = pending_of(sub)
    assert (charge.kind, charge.amount) == ("prorated", round(6_000 * 16 / 31))
    assert len(invoices_of(org)) == 1  # nothing invoiced yet
    run_sweep(add_months(JAN, 1), render_pdfs=False)
    renewal = invoices_of(org)[-1]
    assert [(line.kind, line.amount) for line in lines_of(renewal)] == [
        ("recurring", 10_000), ("recurring", 9_000), ("prorated", 3_097)]
    assert pending_of(sub) == []


def test_fewer_users_give_a_credit_on_the_next_invoice(cat):
    org, sub = _active(cat, items=[(cat.user, 4)])
    subs.change_quantity(sub, cat.user, 1, JAN + timedelta(days=15))
    [charge] = pending_of(sub)
    assert (charge.kind, charge.amount) == ("credit", -round(9_000 * 16 / 31))
    run_sweep(add_months(JAN, 1), render_pdfs=False)
    renewal = invoices_of(org)[-1]
    assert [(line.kind, line.amount) for line in lines_of(renewal)] == [
        ("recurring", 10_000), ("recurring", 3_000), ("credit", -4_645)]
    assert_adds_up(renewal)


def test_up_then_down_on_the_same_day_costs_nothing(cat):
    _org, sub = _active(cat, items=[(cat.user, 1)])
    day = JAN + timedelta(days=3)
    subs.change_quantity(sub, cat.user, 5, day)
    subs.change_quantity(sub, cat.user, 1, day + timedelta(hours=2))
    assert sum(charge.amount for charge in pending_of(sub)) == 0


def test_an_add_on_added_and_removed_is_prorated_both_ways(cat):
    _org, sub = _active(cat)
    subs.add_addon(sub, cat.module, JAN + timedelta(days=10))
    subs.remove_addon(sub, cat.module, JAN + timedelta(days=20))
    amounts = sorted((c.reason, c.amount) for c in pending_of(sub))
    assert amounts == [("addon_added", round(6_000 * 21 / 31)), ("addon_removed", -round(6_000 * 11 / 31)),
                       ("setup", 20_000)]
    assert sub.items == []


def test_an_add_on_paid_up_front_is_invoiced_at_once(cat):
    org, sub = _active(cat)
    subs.add_addon(sub, cat.user, JAN + timedelta(days=10), quantity=2, invoice_now=True)
    first, upfront = invoices_of(org)
    assert [(line.kind, line.amount) for line in lines_of(upfront)] == [("prorated", round(6_000 * 21 / 31))]
    assert upfront.period_key is None and pending_of(sub) == []


def test_changes_during_a_trial_are_free_until_the_first_invoice(cat):
    org = _customer()
    sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN)
    subs.change_quantity(sub, cat.user, 2, JAN + timedelta(days=5))
    assert pending_of(sub) == []
    run_sweep(JAN + timedelta(days=30), render_pdfs=False)
    [invoice] = invoices_of(org)
    assert [(line.kind, line.quantity, line.amount) for line in lines_of(invoice)] == [
        ("recurring", 1, 10_000), ("recurring", 2, 6_000)]
    db.session.refresh(sub)
    assert sub.status == "active" and sub.current_period_start == JAN + timedelta(days=30)


@pytest.mark.parametrize(("quantity", "code"), [(0, "invalid_quantity"), (-3, "invalid_quantity"),
                                                (10_001, "quantity_too_large"), ("2", "invalid_quantity"),
                                                (True, "invalid_quantity")])
def test_bad_quantities_are_refused_and_nothing_changes(cat, quantity, code):
    _org, sub = _active(cat, items=[(cat.user, 1)])
    with pytest.raises(DomainError) as error:
        subs.change_quantity(sub, cat.user, quantity, JAN + timedelta(days=2))
    assert error.value.code == code
    assert sub.items[0].quantity == 1 and pending_of(sub) == []


def test_a_retired_add_on_cannot_be_bought_more_but_can_be_reduced(cat):
    from portal.services import catalog

    _org, sub = _active(cat, items=[(cat.user, 3)])
    catalog.retire_product(cat.user)
    with pytest.raises(DomainError) as error:
        subs.change_quantity(sub, cat.user, 4, JAN + timedelta(days=2))
    assert error.value.code == "product_retired"
    subs.change_quantity(sub, cat.user, 2, JAN + timedelta(days=2))
    assert sub.items[0].quantity == 2


def test_an_add_on_without_a_price_in_the_currency_is_refused(cat):
    reseller = factories.make_org("reseller", "BR")
    org = factories.make_org("customer", "BR", reseller_id=reseller.id)
    sub = subs.start_subscription(org, cat.basic, "BRL", "monthly", JAN, trial_days=0)
    lonely = factories.make_product("module", cat.basic.software, name="Solo CLP",
                                    prices=(("CLP", "monthly", 1_000, 0),))
    with pytest.raises(DomainError) as error:
        subs.add_addon(sub, lonely, JAN + timedelta(days=1))
    assert error.value.code == "no_price" and sub.items == []


# Plans


def test_an_upgrade_applies_now_with_the_prorated_difference(cat):
    org, sub = _active(cat)
    subs.change_plan(sub, cat.pro, JAN + timedelta(days=15))
    assert sub.plan_id == cat.pro.id and sub.pending_plan_id is None
    [charge] = pending_of(sub)
    assert (charge.reason, charge.amount) == ("upgrade", round(20_000 * 16 / 31))


def test_a_downgrade_waits_for_the_end_of_the_period(cat):
    org = _customer()
    sub = subs.start_subscription(org, cat.pro, "CLP", "monthly", JAN, trial_days=0)
    subs.change_plan(sub, cat.basic, JAN + timedelta(days=3))
    assert (sub.plan_id, sub.pending_plan_id) == (cat.pro.id, cat.basic.id)
    assert pending_of(sub) == []
    run_sweep(add_months(JAN, 1) - timedelta(hours=1), render_pdfs=False)
    db.session.refresh(sub)
    assert sub.plan_id == cat.pro.id  # not yet
    run_sweep(add_months(JAN, 1), render_pdfs=False)
    db.session.refresh(sub)
    assert (sub.plan_id, sub.pending_plan_id) == (cat.basic.id, None)
    assert [line.amount for line in lines_of(invoices_of(org)[-1])] == [10_000]


def test_choosing_the_current_plan_again_cancels_a_waiting_downgrade(cat):
    _org, sub = _active(cat, period="monthly")
    subs.change_plan(sub, cat.pro, JAN + timedelta(days=1))
    subs.change_plan(sub, cat.basic, JAN + timedelta(days=2))
    subs.change_plan(sub, cat.pro, JAN + timedelta(days=3))
    assert sub.pending_plan_id is None
    assert _events(sub)[-1] == "plan_change_cancelled"


def test_no_plan_change_on_a_cancelled_subscription(cat):
    _org, sub = _active(cat)
    subs.cancel(sub, JAN + timedelta(days=1), at_period_end=False)
    with pytest.raises(DomainError) as error:
        subs.change_plan(sub, cat.pro, JAN + timedelta(days=2))
    assert error.value.code == "subscription_cancelled" and sub.plan_id == cat.basic.id


def test_no_plan_of_another_software(cat):
    _org, sub = _active(cat)
    other = factories.make_product("plan", name="Otro", prices=(("CLP", "monthly", 1_000, 0),))
    with pytest.raises(DomainError) as error:
        subs.change_plan(sub, other, JAN + timedelta(days=2))
    assert error.value.code == "other_software"


# Suspending, resuming, cancelling


def test_a_monthly_suspension_stops_at_the_end_of_the_month_with_no_new_invoice(cat):
    org, sub = _active(cat)
    assert subs.preview_suspension(sub, JAN + timedelta(days=5)).refund == 0
    subs.suspend(sub, JAN + timedelta(days=5))
    assert (sub.status, sub.suspend_at_period_end) == ("active", True)
    run_sweep(add_months(JAN, 3), render_pdfs=False)
    db.session.refresh(sub)
    assert (sub.status, sub.suspended_at) == ("suspended", add_months(JAN, 1))
    assert len(invoices_of(org)) == 1


def test_an_annual_suspension_refunds_the_whole_unused_months_as_previewed(cat):
    org, sub = _active(cat, period="annual")
    [invoice] = invoices_of(org)
    assert invoice.total == 119_000
    moment = add_months(JAN, 4) + timedelta(days=3)  # in the 5th month: 7 whole months unused
    preview = subs.preview_suspension(sub, moment)
    assert (preview.immediate, preview.unused_months) == (True, 7)
    assert preview.refund == round(100_000 * 7 / 12) + round(round(100_000 * 7 / 12) * 0.19)
    subs.suspend(sub, moment)
    assert (sub.status, sub.suspended_at) == ("suspended", moment)
    [note] = invoices_of(org, "credit_note")
    assert (note.total, note.credit_for_id, note.status) == (preview.refund, invoice.id, "paid")
    assert note.series.code == "NC" and note.number == 1
    assert_adds_up(note)


def test_resuming_starts_a_new_period_invoiced_in_advance(cat):
    org, sub = _active(cat)
    subs.suspend(sub, JAN + timedelta(days=2))
    run_sweep(add_months(JAN, 1), render_pdfs=False)
    back = add_months(JAN, 2) + timedelta(days=4)
    db.session.refresh(sub)
    subs.resume(sub, back)
    assert (sub.status, sub.current_period_start) == ("active", back)
    assert invoices_of(org)[-1].period_key == f"sub:{sub.id}:{back:%Y-%m-%dT%H:%M:%S}"
    assert _events(sub)[-1] == "resumed"


def test_resume_undoes_a_scheduled_suspension(cat):
    _org, sub = _active(cat)
    subs.suspend(sub, JAN + timedelta(days=2))
    subs.resume(sub, JAN + timedelta(days=3))
    assert not sub.suspend_at_period_end and sub.status == "active"


def test_cancelling_waits_for_the_end_of_the_period(cat):
    org, sub = _active(cat)
    subs.cancel(sub, JAN + timedelta(days=2))
    assert sub.status == "active" and sub.cancel_at_period_end
    run_sweep(add_months(JAN, 2), render_pdfs=False)
    db.session.refresh(sub)
    assert (sub.status, sub.cancelled_at) == ("cancelled", add_months(JAN, 1))
    assert len(invoices_of(org)) == 1


def test_suspending_a_cancelled_subscription_is_refused_and_writes_nothing(cat):
    from flask_babel import force_locale

    from portal.models import Invoice, SubscriptionCharge

    org, sub = _active(cat, items=[(cat.user, 2)])
    subs.cancel(sub, JAN + timedelta(days=2), at_period_end=False)
    db.session.commit()

    def written():
        return tuple(db.session.scalar(db.select(db.func.count(model.id)))
                     for model in (Invoice, SubscriptionCharge, SubscriptionEvent))

    before = written()
    with pytest.raises(DomainError) as refused:
        subs.suspend(sub, JAN + timedelta(days=3))
    db.session.rollback()
    assert refused.value.code == "subscription_cancelled" and 400 <= refused.value.status < 500
    with force_locale("es"):
        assert str(refused.value.message) == "Esta suscripción está cancelada: ya no se puede cambiar."
    db.session.refresh(sub)
    assert written() == before
    assert (sub.status, sub.suspended_at, sub.suspend_at_period_end) == ("cancelled", None, False)
    assert _events(sub)[-1] == "cancelled"


def test_a_credit_left_when_the_subscription_ends_is_refunded_by_credit_note(cat):
    org, sub = _active(cat, items=[(cat.user, 5)])
    subs.change_quantity(sub, cat.user, 1, JAN + timedelta(days=1))
    subs.cancel(sub, JAN + timedelta(days=2))
    run_sweep(add_months(JAN, 1), render_pdfs=False)
    [_first] = invoices_of(org)
    [note] = invoices_of(org, "credit_note")
    credit = round(12_000 * 30 / 31)
    assert note.total == credit + round(credit * 0.19)
    assert pending_of(sub) == []


def test_a_change_after_the_period_ended_closes_the_period_first(cat):
    org, sub = _active(cat, items=[(cat.user, 1)])
    late = add_months(JAN, 1) + timedelta(days=2)  # the sweep has not run yet
    subs.change_quantity(sub, cat.user, 2, late)
    assert sub.current_period_start == add_months(JAN, 1)
    assert len(invoices_of(org)) == 2
    [charge] = pending_of(sub)
    assert charge.period_start == late
