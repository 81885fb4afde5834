"""A license partner's subscription: the licenses it holds, billed every month at its price list's fee.

A partner has no plan. Its subscription (one per currency, monthly, paid by the partner) has no plan and one
item per product and monthly fee per license (`SubscriptionItem.unit_amount`, the price list version the
order was priced with: a later version never re-prices licenses already bought). Approving an order grows it
(`hold`): the first order starts it, its first month invoiced at once as any subscription started without a
trial; a later order adds its licenses for the rest of the period, prorated by day and charged on the next
monthly invoice, as a customer's added units are. The billing sweep then renews it like any other.
"""

from dataclasses import dataclass
from datetime import datetime

from portal.extensions import db
from portal.models import Organisation, Product, Subscription, SubscriptionEvent
from portal.models.subscriptions import SubscriptionItem
from portal.services.billing.rules import LIVE_STATUSES, SUBSCRIBED_STATUSES, PriceBook, first_period, period_key
from portal.services.billing.subscriptions.common import (
    check_live,
    check_quantity,
    invoice_charges,
    lock,
    period_lines,
    prorated_charge,
    record_event,
)


@dataclass(frozen=True)
class Held:
    """Licenses of one product to hold from now on, at `unit_amount` a month each."""

    product: Product
    unit_amount: int
    quantity: int


def subscription_of(partner: Organisation, currency: str, statuses=SUBSCRIBED_STATUSES) -> Subscription | None:
    """The partner's license subscription in `currency` (the one without a plan)."""
    return db.session.scalar(
        db.select(Subscription).where(Subscription.organisation_id == partner.id, Subscription.plan_id.is_(None),
                                      Subscription.currency == currency, Subscription.status.in_(statuses))
        .order_by(Subscription.id))


def monthly_fee(sub: Subscription) -> int:
    """What the partner pays every month for the licenses `sub` holds (each item at its own fee)."""
    return sum(item.quantity * item.unit_amount for item in sub.items)


def subscriptions_of(partner: Organisation) -> list[Subscription]:
    """The partner's license subscriptions in force, with their items (what it pays every month)."""
    return list(db.session.scalars(
        db.select(Subscription).where(Subscription.organisation_id == partner.id, Subscription.plan_id.is_(None),
                                      Subscription.status.in_(LIVE_STATUSES))
        .options(db.selectinload(Subscription.items).joinedload(SubscriptionItem.product))
        .order_by(Subscription.id)))


def hold(partner: Organisation, currency: str, held: list[Held], now: datetime, actor=None,
         **details) -> list[SubscriptionEvent]:
    """Add licenses to the partner's subscription (started on the first call, its first month invoiced now);
    one history event per product, in `held`'s order, each with `details` (the order)."""
    for entry in held:
        check_quantity(entry.quantity)
    book = PriceBook.load()
    sub = subscription_of(partner, currency)
    if sub is None:
        return _start(partner, currency, held, now, book, actor, details)
    lock(sub, now, book)
    check_live(sub)
    events = []
    for entry in held:
        item = next((item for item in sub.items
                     if item.product_id == entry.product.id and item.unit_amount == entry.unit_amount), None)
        before = item.quantity if item is not None else 0
        reason = "quantity_increase" if item is not None else "addon_added"
        charge = prorated_charge(sub, entry.product, entry.unit_amount, entry.quantity, reason, now)
        if item is None:
            sub.items.append(SubscriptionItem(product_id=entry.product.id, quantity=entry.quantity,
                                              unit_amount=entry.unit_amount, added_at=now))
        else:
            item.quantity += entry.quantity
        db.session.flush()
        events.append(record_event(sub, "quantity_changed" if item is not None else "addon_added", now, actor,
                                   product_id=entry.product.id, before=before, after=before + entry.quantity,
                                   quantity=entry.quantity, unit_amount=entry.unit_amount,
                                   amount=charge.amount if charge else 0, **details))
    return events


def _start(partner, currency, held, now, book, actor, details) -> list[SubscriptionEvent]:
    start, end = first_period(now, "monthly")
    sub = Subscription(organisation_id=partner.id, payer_id=partner.id, plan_id=None, currency=currency,
                       period="monthly", status="active", discount_bp=0, current_period_start=start,
                       current_period_end=end, created_at=now)
    merged: dict[tuple[int, int], SubscriptionItem] = {}
    for entry in held:
        key = (entry.product.id, entry.unit_amount)
        if key in merged:
            merged[key].quantity += entry.quantity
        else:
            merged[key] = SubscriptionItem(product_id=entry.product.id, quantity=entry.quantity,
                                           unit_amount=entry.unit_amount, added_at=now)
            sub.items.append(merged[key])
    db.session.add(sub)
    db.session.flush()
    lines = period_lines(sub, book, start, end)
    invoice = invoice_charges(sub, [], now, book, lines, key=period_key(sub.id, start), period=(start, end))
    record_event(sub, "started", now, actor, invoice, plan_id=None, period="monthly", currency=currency,
                 payer_id=partner.id, items={str(item.product_id): item.quantity for item in sub.items})
    return [record_event(sub, "addon_added", now, actor, invoice, product_id=entry.product.id, before=0,
                         after=entry.quantity, quantity=entry.quantity, unit_amount=entry.unit_amount,
                         amount=entry.quantity * entry.unit_amount, **details)
            for entry in held]
