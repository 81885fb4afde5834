"""Starting a subscription, resuming it, cancelling it, and the charges waiting for its next invoice.
"""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Organisation, Product, Subscription, SubscriptionCharge
from portal.models.catalog import CURRENCIES
from portal.models.subscriptions import BILLING_PERIODS, SubscriptionItem
from portal.services.billing.refunds import refund
from portal.services.billing.rules import (
    LIVE_STATUSES,
    SUBSCRIBED_STATUSES,
    TRIAL_DAYS,
    PriceBook,
    first_period,
    period_key,
)
from portal.services.billing.settings import reseller_discount_bp
from portal.services.billing.subscriptions.common import (
    check_for_sale,
    check_plan,
    check_quantity,
    invoice_charges,
    lock,
    period_lines,
    record_event,
    setup_charge,
    uncollected,
    unit_price,
)
from portal.services.errors import DomainError

MAX_TRIAL_DAYS = 90


# Starting


def start_subscription(org: Organisation, plan: Product, currency: str, period: str, now: datetime,
                       trial_days: int = TRIAL_DAYS, payer: Organisation | None = None,
                       items: list[tuple[Product, int]] = (), actor=None) -> Subscription:
    """Subscribe a customer to a plan (and add-ons). With a trial, nothing is charged until it ends; without,
    the first period is invoiced now. A reseller that pays gets the reseller discount (a billing setting) off the
    plan and its add-ons."""
    if org.kind != "customer":
        raise DomainError(_l("Only customer organisations subscribe to plans."), code="not_a_customer")
    if currency not in CURRENCIES:
        raise DomainError(_l("Choose one of the offered currencies."), code="invalid_currency", field="currency")
    if period not in BILLING_PERIODS:
        raise DomainError(_l("Choose monthly or annual billing."), code="invalid_period", field="period")
    if isinstance(trial_days, bool) or not isinstance(trial_days, int) or not 0 <= trial_days <= MAX_TRIAL_DAYS:
        raise DomainError(_l("A trial lasts from 0 to %(max)d days.", max=MAX_TRIAL_DAYS), code="invalid_trial",
                          field="trial_days")
    payer = payer or org
    if payer.id not in (org.id, org.reseller_id):
        raise DomainError(_l("The subscription is paid by the customer or by its reseller."),
                          code="invalid_payer", field="payer")
    discount = reseller_discount_bp() if payer.id != org.id else 0
    book = PriceBook.load()
    check_plan(book, plan)
    unit_price(book, plan, currency, period, discount)
    taken = db.session.scalar(
        db.select(db.func.count(Subscription.id)).join(Product, Product.id == Subscription.plan_id)
        .where(Subscription.organisation_id == org.id, Subscription.status.in_(SUBSCRIBED_STATUSES),
               Product.software_id == plan.software_id))
    if taken:
        raise DomainError(_l("This organisation already has a plan of this software: change that plan instead."),
                          code="already_subscribed", field="plan")
    chosen: dict[int, tuple[Product, int]] = {}
    for product, quantity in items:
        check_quantity(quantity)
        if product.kind == "plan" or product.software_id != plan.software_id:
            raise DomainError(_l("%(product)s is not an add-on of this plan.", product=product.name),
                              code="not_an_addon", field="product")
        check_for_sale(book, product)
        unit_price(book, product, currency, period, discount)
        chosen[product.id] = (product, chosen.get(product.id, (product, 0))[1] + quantity)
    if trial_days:
        start, end = now, now + timedelta(days=trial_days)
        status, trial_ends_at = "trial", end
    else:
        (start, end), status, trial_ends_at = first_period(now, period), "active", None
    sub = Subscription(organisation_id=org.id, payer_id=payer.id, plan_id=plan.id, currency=currency, period=period,
                       status=status, discount_bp=discount, trial_ends_at=trial_ends_at, current_period_start=start,
                       current_period_end=end, created_at=now)
    for product, quantity in chosen.values():
        sub.items.append(SubscriptionItem(product_id=product.id, quantity=check_quantity(quantity), added_at=now))
    db.session.add(sub)
    db.session.flush()
    charges = [setup_charge(sub, book, product, now) for product in [plan, *[p for p, _q in chosen.values()]]]
    db.session.flush()
    invoice = None
    if status == "active":
        invoice = invoice_charges(sub, charges, now, book, period_lines(sub, book, start, end),
                                  key=period_key(sub.id, start), period=(start, end))
    record_event(sub, "trial_started" if trial_days else "started", now, actor, invoice, plan_id=plan.id,
                 period=period, currency=currency, payer_id=payer.id, trial_ends_at=trial_ends_at and end.isoformat(),
                 items={str(p.id): q for p, q in chosen.values()})
    return sub


# Resuming and cancelling


def resume(sub: Subscription, now: datetime, actor=None) -> Subscription:
    """Undo a scheduled suspension or cancellation; or restart a suspended subscription with a new period
    from now, invoiced in advance."""
    book = PriceBook.load()
    lock(sub, now, book)
    if sub.status in LIVE_STATUSES and (sub.suspend_at_period_end or sub.cancel_at_period_end):
        sub.suspend_at_period_end = sub.cancel_at_period_end = False
        db.session.flush()
        record_event(sub, "resumed", now, actor, scheduled=True)
        return sub
    if sub.status != "suspended":
        raise DomainError(_l("Only a suspended subscription can be resumed."), code="not_suspended")
    start, end = first_period(now, sub.period)
    lines = period_lines(sub, book, start, end)
    sub.status, sub.suspended_at = "active", None
    sub.current_period_start, sub.current_period_end = start, end
    db.session.flush()
    invoice = invoice_charges(sub, uncollected(sub), now, book, lines, key=period_key(sub.id, start),
                              period=(start, end))
    record_event(sub, "resumed", now, actor, invoice, period_start=start.isoformat(), period_end=end.isoformat())
    return sub


def cancel(sub: Subscription, now: datetime, at_period_end: bool = True, actor=None) -> Subscription:
    """Cancel at the end of the period (default), or now. A trial or a suspended subscription ends now.
    Cancelling never refunds: an annual customer who stops early suspends (see `suspend`)."""
    book = PriceBook.load()
    lock(sub, now, book)
    if sub.status == "cancelled":
        raise DomainError(_l("This subscription is already cancelled."), code="already_cancelled")
    if sub.status in ("active", "past_due") and at_period_end:
        if sub.cancel_at_period_end:
            raise DomainError(_l("The cancellation is already scheduled for the end of the period."),
                              code="already_scheduled")
        sub.cancel_at_period_end, sub.suspend_at_period_end = True, False
        db.session.flush()
        record_event(sub, "cancellation_scheduled", now, actor, at=sub.current_period_end.isoformat())
        return sub
    pending = uncollected(sub)
    invoice = None
    if sub.status in ("active", "past_due"):
        charges = [c for c in pending if c.amount >= 0]
        credits = [c for c in pending if c.amount < 0]
        invoice = invoice_charges(sub, charges, now, book)
        if credits:
            refund(sub, -sum(c.amount for c in credits), now, actor)
    for charge in pending:
        charge.collected_at = charge.collected_at or now
    sub.status, sub.cancelled_at = "cancelled", now
    sub.suspend_at_period_end = sub.cancel_at_period_end = False
    db.session.flush()
    record_event(sub, "cancelled", now, actor, invoice)
    return sub


# Reading


def pending_charges(sub: Subscription) -> list[SubscriptionCharge]:
    """The charges and credits waiting for the subscription's next invoice."""
    return uncollected(sub)
