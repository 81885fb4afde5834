"""What every subscription verb shares: its checks (before anything is written), the row lock that closes
ended periods first, prorated and setup charges, and invoicing them to the payer.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Invoice, Organisation, Product, Subscription, SubscriptionCharge, SubscriptionEvent
from portal.models.subscriptions import SubscriptionItem
from portal.services.billing import invoicing, money
from portal.services.billing.rules import (
    LIVE_STATUSES,
    LineSpec,
    MissingPrice,
    PriceBook,
    recurring_line,
)
from portal.services.billing.sweep import bring_up_to_date, charge_line
from portal.services.errors import DomainError

MAX_QUANTITY = 10_000


# Checks


def record_event(sub: Subscription, action: str, now: datetime, actor=None, invoice: Invoice | None = None,
                 **details) -> SubscriptionEvent:
    event = SubscriptionEvent(subscription_id=sub.id, at=now, action=action, details=details,
                              invoice_id=invoice.id if invoice is not None else None,
                              actor_id=actor.id if actor is not None else None)
    db.session.add(event)
    db.session.flush()
    return event


def check_quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise DomainError(_l("The quantity must be a whole number of at least 1."), code="invalid_quantity",
                          field="quantity")
    if quantity > MAX_QUANTITY:
        raise DomainError(_l("The quantity can be at most %(max)s. For more, talk to your commercial advisor.",
                             max=f"{MAX_QUANTITY:,}"), code="quantity_too_large", field="quantity")
    return quantity


def check_for_sale(book: PriceBook, product: Product) -> None:
    info = book.products.get(product.id)
    if info is None or not info.on_sale:
        raise DomainError(_l("%(product)s is no longer sold.", product=product.name), code="product_retired",
                          field="product")


def unit_price(book: PriceBook, product: Product, sub_or_currency, period: str | None = None,
               discount_bp: int = 0) -> int:
    if isinstance(sub_or_currency, Subscription):
        currency, period, discount_bp = sub_or_currency.currency, sub_or_currency.period, sub_or_currency.discount_bp
    else:
        currency = sub_or_currency
    amount = book.period_amount(product.id, currency, period)
    if amount is None:
        raise DomainError(_l("%(product)s has no %(period)s price in %(currency)s.", product=product.name,
                             period=period_name(period), currency=currency), code="no_price", field="product")
    return money.discounted(amount, discount_bp)


def period_name(period: str) -> str:
    return str({"monthly": _l("monthly"), "annual": _l("annual")}.get(period, period))


def check_plan(book: PriceBook, plan: Product, software_id: int | None = None) -> None:
    if plan.kind != "plan":
        raise DomainError(_l("Choose a plan."), code="not_a_plan", field="plan")
    if software_id is not None and plan.software_id != software_id:
        raise DomainError(_l("Choose a plan of the same software."), code="other_software", field="plan")
    check_for_sale(book, plan)


def check_addon(book: PriceBook, sub: Subscription, product: Product) -> None:
    if product.kind == "plan":
        raise DomainError(_l("A plan is not an add-on: change the plan instead."), code="not_an_addon",
                          field="product")
    if product.software_id != book.products[sub.plan_id].software_id:
        raise DomainError(_l("%(product)s belongs to another software.", product=product.name),
                          code="other_software", field="product")


def check_live(sub: Subscription) -> None:
    if sub.status == "cancelled":
        raise DomainError(_l("This subscription is cancelled: it can no longer be changed."),
                          code="subscription_cancelled")
    if sub.status not in LIVE_STATUSES:
        raise DomainError(_l("This subscription is suspended: resume it before changing it."),
                          code="subscription_suspended")


def lock(sub: Subscription, now: datetime, book: PriceBook) -> None:
    """Lock the subscription's row for this transaction, then close any period that ended before `now`."""
    db.session.flush()
    db.session.refresh(sub, with_for_update=True)
    if sub.status in LIVE_STATUSES and sub.current_period_end <= now:
        bring_up_to_date(sub, now, book)
        db.session.refresh(sub)


def item_for(sub: Subscription, product: Product) -> SubscriptionItem | None:
    return next((item for item in sub.items if item.product_id == product.id), None)


# Charges


def prorated_amount(sub: Subscription, unit: int, quantity: int, now: datetime) -> int:
    """What `quantity` more units of `unit` cost from `now` to the end of the period, by day (0 in a trial).
    The store prices its cart with this, so that it shows what the change then charges."""
    if sub.status == "trial" or quantity == 0:
        return 0
    start, end = sub.current_period_start, sub.current_period_end
    return money.prorate(unit * quantity, now, end, start, end)


def prorated_charge(sub: Subscription, product: Product, unit: int, delta: int, reason: str, now: datetime
                    ) -> SubscriptionCharge | None:
    """A charge (delta > 0) or credit (delta < 0) for `delta` units of `unit` over the rest of the period."""
    part = prorated_amount(sub, unit, abs(delta), now)
    start, end = sub.current_period_start, sub.current_period_end
    if part == 0:
        return None
    charge = SubscriptionCharge(subscription_id=sub.id, kind="prorated" if delta > 0 else "credit", reason=reason,
                                product_id=product.id, quantity=abs(delta), unit_amount=unit,
                                amount=part if delta > 0 else -part, period_start=max(now, start), period_end=end,
                                created_at=now)
    db.session.add(charge)
    return charge


def setup_charge(sub: Subscription, book: PriceBook, product: Product, now: datetime) -> SubscriptionCharge | None:
    fee = book.setup_fee(product.id, sub.currency, sub.period)
    if not fee:
        return None
    charge = SubscriptionCharge(subscription_id=sub.id, kind="setup", reason="setup", product_id=product.id,
                                quantity=1, unit_amount=fee, amount=fee, period_start=sub.current_period_start,
                                period_end=sub.current_period_end, created_at=now)
    db.session.add(charge)
    return charge


def payer_of(sub: Subscription) -> Organisation:
    return db.session.get(Organisation, sub.payer_id)


def invoice_charges(sub: Subscription, charges: list[SubscriptionCharge], now: datetime, book: PriceBook,
                    lines: list[LineSpec] | None = None, key: str | None = None,
                    period: tuple[datetime, datetime] | None = None) -> Invoice | None:
    """Invoice `lines` and the given charges at once to the subscription's payer; None when there is nothing."""
    payer = payer_of(sub)
    charges = [charge for charge in charges if charge is not None]
    lines = list(lines or []) + [charge_line(charge, book, payer.locale) for charge in charges]
    if not lines:
        return None
    invoice = invoicing.issue_invoice(payer, sub.currency, lines, now, subscription=sub, period_key=key,
                                      period=period or (sub.current_period_start, sub.current_period_end))
    for charge in charges:
        charge.invoice_id, charge.collected_at = invoice.id, now
    db.session.flush()
    return invoice


def period_lines(sub: Subscription, book: PriceBook, start: datetime, end: datetime) -> list[LineSpec]:
    locale = payer_of(sub).locale
    lines = []
    plan = [(sub.plan_id, 1, None)] if sub.plan_id is not None else []  # a license partner's has none
    for product_id, quantity, unit in [*plan, *[(i.product_id, i.quantity, i.unit_amount) for i in sub.items]]:
        try:
            line = recurring_line(book, product_id, quantity, sub.currency, sub.period, sub.discount_bp, locale,
                                  start, end, unit)
        except MissingPrice as error:
            product = db.session.get(Product, error.product_id)
            raise DomainError(_l("%(product)s has no %(period)s price in %(currency)s.", product=product.name,
                                 period=period_name(sub.period), currency=sub.currency),
                              code="no_price", field="product") from error
        if line is not None:
            lines.append(line)
    return lines


def uncollected(sub: Subscription) -> list[SubscriptionCharge]:
    return list(db.session.scalars(db.select(SubscriptionCharge).where(
        SubscriptionCharge.subscription_id == sub.id, SubscriptionCharge.collected_at.is_(None))
        .order_by(SubscriptionCharge.id)))
