"""Changing a live subscription: add-on quantities, adding and removing add-ons, the plan and who pays.

Mid-period changes are prorated by day for the rest of the period and kept as pending charges that the next
renewal invoice collects; a product paid up front (`pay_upfront`, or `invoice_now=True`) is invoiced at once.
An upgrade applies now with the prorated difference; a downgrade waits for the end of the period.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Organisation, Product, Subscription
from portal.models.subscriptions import SubscriptionItem
from portal.services.billing import invoicing, money
from portal.services.billing.rules import (
    PriceBook,
)
from portal.services.billing.settings import reseller_discount_bp
from portal.services.billing.subscriptions.common import (
    check_addon,
    check_for_sale,
    check_live,
    check_plan,
    check_quantity,
    invoice_charges,
    item_for,
    lock,
    payer_of,
    prorated_amount,
    prorated_charge,
    record_event,
    setup_charge,
    unit_price,
)
from portal.services.errors import DomainError


def change_quantity(sub: Subscription, product: Product, quantity: int, now: datetime,
                    invoice_now: bool | None = None, actor=None) -> Subscription:
    """Set how many units of an add-on the subscription has; the difference is prorated for the rest of the
    period (a charge for more, a credit for fewer). An add-on not there yet is added."""
    quantity = check_quantity(quantity)
    book = PriceBook.load()
    lock(sub, now, book)
    check_live(sub)
    check_addon(book, sub, product)
    item = item_for(sub, product)
    if item is None:
        return add_addon(sub, product, now, quantity, invoice_now, actor)
    delta = quantity - item.quantity
    if delta == 0:
        return sub
    if delta > 0:
        check_for_sale(book, product)
    else:
        check_in_use(sub, product, -delta)
    unit = unit_price(book, product, sub)
    before = item.quantity
    charge = prorated_charge(sub, product, unit, delta, "quantity_increase" if delta > 0 else "quantity_decrease", now)
    item.quantity = quantity
    db.session.flush()
    invoice = None
    if delta > 0 and (product.pay_upfront if invoice_now is None else invoice_now):
        invoice = invoice_charges(sub, [charge], now, book)
    record_event(sub, "quantity_changed", now, actor, invoice, product_id=product.id, before=before, after=quantity,
                 amount=charge.amount if charge else 0)
    return sub


def add_addon(sub: Subscription, product: Product, now: datetime, quantity: int = 1,
              invoice_now: bool | None = None, actor=None) -> Subscription:
    """Add an add-on (module, additional users, …) for the rest of the period, prorated, plus its setup fee."""
    quantity = check_quantity(quantity)
    book = PriceBook.load()
    lock(sub, now, book)
    check_live(sub)
    check_addon(book, sub, product)
    if item_for(sub, product) is not None:
        raise DomainError(_l("%(product)s is already in this subscription: change its quantity instead.",
                             product=product.name), code="already_added", field="product")
    check_for_sale(book, product)
    unit = unit_price(book, product, sub)
    sub.items.append(SubscriptionItem(product_id=product.id, quantity=quantity, added_at=now))
    charges = [prorated_charge(sub, product, unit, quantity, "addon_added", now), setup_charge(sub, book, product, now)]
    db.session.flush()
    invoice = None
    if product.pay_upfront if invoice_now is None else invoice_now:
        invoice = invoice_charges(sub, charges, now, book)
    record_event(sub, "addon_added", now, actor, invoice, product_id=product.id, quantity=quantity,
                 amount=sum(c.amount for c in charges if c is not None))
    return sub


def remove_addon(sub: Subscription, product: Product, now: datetime, actor=None) -> Subscription:
    """Remove an add-on; the rest of the period is credited on the next invoice."""
    book = PriceBook.load()
    lock(sub, now, book)
    check_live(sub)
    item = item_for(sub, product)
    if item is None:
        raise DomainError(_l("%(product)s is not in this subscription.", product=product.name), code="not_added",
                          field="product")
    check_in_use(sub, product, item.quantity)
    unit = unit_price(book, product, sub)
    charge = prorated_charge(sub, product, unit, -item.quantity, "addon_removed", now)
    quantity = item.quantity
    sub.items.remove(item)
    db.session.flush()
    record_event(sub, "addon_removed", now, actor, product_id=product.id, quantity=quantity,
                 amount=charge.amount if charge else 0)
    return sub


def check_in_use(sub: Subscription, product: Product, fewer: int) -> None:
    """Refuse to take away `fewer` additional users when the organisation's members would no longer fit in what
    its plans include (7 users active: no going down to 5)."""
    from portal.services.billing.entitlements import entitlements_for

    metric = IMPLIED_METRIC.get(product.kind)
    if metric is None:
        return
    entitlement = entitlements_for(db.session.get(Organisation, sub.organisation_id)).metrics[metric]
    if entitlement.included is not None and entitlement.used > entitlement.included - fewer:
        raise DomainError(_l("%(used)d users are active and the plan would include only %(left)d: remove users "
                             "from the team first, or keep the quantity.", used=entitlement.used,
                             left=max(entitlement.included - fewer, 0)), code="below_in_use", field="quantity")


IMPLIED_METRIC = {"additional_user": "users"}


@dataclass(frozen=True)
class PlanChangePreview:
    """What moving to `plan` now means: an upgrade applies now and charges the difference for the rest of the
    period (`amount` before tax, `tax`, on the next invoice); a downgrade waits for `effective_at`."""

    plan: Product
    immediate: bool
    effective_at: datetime
    amount: int
    tax: int
    currency: str

    @property
    def total(self) -> int:
        return self.amount + self.tax


def preview_plan_change(sub: Subscription, plan: Product, now: datetime) -> PlanChangePreview:
    """What `change_plan` would do now, without doing it (the same checks, prices and proration)."""
    book = PriceBook.load()
    check_live(sub)
    check_plan(book, plan, book.products[sub.plan_id].software_id)
    if plan.id == sub.plan_id:
        raise DomainError(_l("This is already the subscription's plan."), code="same_plan", field="plan")
    old = unit_price(book, db.session.get(Product, sub.plan_id), sub)
    new = unit_price(book, plan, sub)
    if sub.status == "trial" or new >= old:
        amount = prorated_amount(sub, new - old, 1, now)  # as change_plan charges it
        rate = invoicing.load_context().tax_rate(payer_of(sub).country)
        return PlanChangePreview(plan, True, now, amount, money.tax_for(amount, rate), sub.currency)
    return PlanChangePreview(plan, False, sub.current_period_end, 0, 0, sub.currency)


def change_plan(sub: Subscription, plan: Product, now: datetime, actor=None) -> Subscription:
    """Move to another plan of the same software: an upgrade now with the prorated difference, a downgrade at
    the end of the period. Choosing the current plan again cancels a downgrade that was waiting."""
    book = PriceBook.load()
    lock(sub, now, book)
    check_live(sub)
    check_plan(book, plan, book.products[sub.plan_id].software_id)
    if plan.id == sub.plan_id:
        if sub.pending_plan_id is None:
            raise DomainError(_l("This is already the subscription's plan."), code="same_plan", field="plan")
        waiting, sub.pending_plan_id = sub.pending_plan_id, None
        db.session.flush()
        record_event(sub, "plan_change_cancelled", now, actor, plan_id=waiting)
        return sub
    current = book.products[sub.plan_id]
    old = unit_price(book, db.session.get(Product, current.id), sub)
    new = unit_price(book, plan, sub)
    if sub.status == "trial" or new >= old:
        charge = prorated_charge(sub, plan, new - old, 1, "upgrade", now) if new > old else None
        previous, sub.plan_id, sub.pending_plan_id = sub.plan_id, plan.id, None
        db.session.flush()
        record_event(sub, "plan_changed", now, actor, previous_plan_id=previous, plan_id=plan.id,
                     amount=charge.amount if charge else 0)
        return sub
    sub.pending_plan_id = plan.id
    db.session.flush()
    record_event(sub, "plan_change_scheduled", now, actor, plan_id=plan.id, at=sub.current_period_end.isoformat())
    return sub


def change_payer(sub: Subscription, payer: Organisation, now: datetime, actor=None) -> Subscription:
    """Who pays from the next invoice on: the customer, or its reseller (at the reseller discount)."""
    book = PriceBook.load()
    lock(sub, now, book)
    if sub.status == "cancelled":
        check_live(sub)
    org = db.session.get(Organisation, sub.organisation_id)
    if payer.id not in (org.id, org.reseller_id):
        raise DomainError(_l("The subscription is paid by the customer or by its reseller."),
                          code="invalid_payer", field="payer")
    if payer.id == sub.payer_id:
        return sub
    previous = sub.payer_id
    sub.payer_id = payer.id
    sub.discount_bp = reseller_discount_bp() if payer.id != org.id else 0
    db.session.flush()
    record_event(sub, "payer_changed", now, actor, previous_payer_id=previous, payer_id=payer.id,
                 discount_bp=sub.discount_bp)
    return sub
