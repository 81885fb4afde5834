"""Subscriptions: start, change quantities, add-ons and plans, suspend, resume and cancel, at a given `now`.

Every verb takes models and `now`, checks everything before writing anything (a DomainError with a translated
message and a stable code otherwise), flushes, records a SubscriptionEvent and returns the subscription.

Mid-period charges are prorated by day for the rest of the period (money.prorate) and kept as pending
SubscriptionCharges, which the next renewal invoice collects as lines ("charged prorated on the account's
monthly bill"): more units or a new add-on → a charge; fewer or a removed add-on → a credit; an upgrade → the
price difference. A product paid up front (`pay_upfront`, or `invoice_now=True`) is invoiced at once instead.
A trial is free: changes during it cost nothing until its first invoice, which charges the whole period.

Plans: an upgrade (same or higher price) applies now with the prorated difference; a downgrade waits for the
end of the period (`pending_plan_id`). Suspension: a monthly subscription stops at the end of its period and is
not charged again; an annual one stops now and its whole unused months are refunded by credit note
(`preview_suspension` shows the amount first). Cancellation happens at the end of the period by default.

Before changing a subscription, its row is locked (PostgreSQL: SELECT ... FOR UPDATE, the sweep skips it) and
any period that ended before `now` is closed first, so a change never lands on a period already over.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Invoice, Organisation, Product, Subscription, SubscriptionCharge, SubscriptionEvent
from portal.models.catalog import CURRENCIES
from portal.models.subscriptions import BILLING_PERIODS, SubscriptionItem
from portal.services.billing import invoicing, money
from portal.services.billing.rules import (
    LIVE_STATUSES,
    MONTHS,
    RESELLER_DISCOUNT_BP,
    TRIAL_DAYS,
    LineSpec,
    MissingPrice,
    PriceBook,
    add_months,
    describe,
    first_period,
    period_key,
    recurring_line,
    whole_months_between,
)
from portal.services.errors import DomainError

MAX_QUANTITY = 10_000
MAX_TRIAL_DAYS = 90
SUBSCRIBED_STATUSES = ("trial", "active", "past_due", "suspended")


@dataclass(frozen=True)
class SuspensionPreview:
    """What suspending now means: when it takes effect, what is refunded and what is still charged."""

    effective_at: datetime
    immediate: bool
    unused_months: int
    refund: int  # total of the credit notes, tax included
    final_charge: int  # total of the last invoice for days already used, tax included
    currency: str


# Checks


def _record(sub: Subscription, action: str, now: datetime, actor=None, invoice: Invoice | None = None,
            **details) -> SubscriptionEvent:
    event = SubscriptionEvent(subscription_id=sub.id, at=now, action=action, details=details,
                              invoice_id=invoice.id if invoice is not None else None,
                              actor_id=actor.id if actor is not None else None)
    db.session.add(event)
    db.session.flush()
    return event


def _quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise DomainError(_l("The quantity must be a whole number of at least 1."), code="invalid_quantity",
                          field="quantity")
    if quantity > MAX_QUANTITY:
        raise DomainError(_l("The quantity can be at most %(max)s. For more, talk to your commercial advisor.",
                             max=f"{MAX_QUANTITY:,}"), code="quantity_too_large", field="quantity")
    return quantity


def _for_sale(book: PriceBook, product: Product) -> None:
    info = book.products.get(product.id)
    if info is None or not info.on_sale:
        raise DomainError(_l("%(product)s is no longer sold.", product=product.name), code="product_retired",
                          field="product")


def _unit_price(book: PriceBook, product: Product, sub_or_currency, period: str | None = None,
                discount_bp: int = 0) -> int:
    if isinstance(sub_or_currency, Subscription):
        currency, period, discount_bp = sub_or_currency.currency, sub_or_currency.period, sub_or_currency.discount_bp
    else:
        currency = sub_or_currency
    amount = book.period_amount(product.id, currency, period)
    if amount is None:
        raise DomainError(_l("%(product)s has no %(period)s price in %(currency)s.", product=product.name,
                             period=_period_name(period), currency=currency), code="no_price", field="product")
    return money.discounted(amount, discount_bp)


def _period_name(period: str) -> str:
    return str({"monthly": _l("monthly"), "annual": _l("annual")}.get(period, period))


def _plan(book: PriceBook, plan: Product, software_id: int | None = None) -> None:
    if plan.kind != "plan":
        raise DomainError(_l("Choose a plan."), code="not_a_plan", field="plan")
    if software_id is not None and plan.software_id != software_id:
        raise DomainError(_l("Choose a plan of the same software."), code="other_software", field="plan")
    _for_sale(book, plan)


def _addon(book: PriceBook, sub: Subscription, product: Product) -> None:
    if product.kind == "plan":
        raise DomainError(_l("A plan is not an add-on: change the plan instead."), code="not_an_addon",
                          field="product")
    if product.software_id != book.products[sub.plan_id].software_id:
        raise DomainError(_l("%(product)s belongs to another software.", product=product.name),
                          code="other_software", field="product")


def _live(sub: Subscription) -> None:
    if sub.status == "cancelled":
        raise DomainError(_l("This subscription is cancelled: it can no longer be changed."),
                          code="subscription_cancelled")
    if sub.status not in LIVE_STATUSES:
        raise DomainError(_l("This subscription is suspended: resume it before changing it."),
                          code="subscription_suspended")


def _lock(sub: Subscription, now: datetime, book: PriceBook) -> None:
    """Lock the subscription's row for this transaction, then close any period that ended before `now`."""
    db.session.flush()
    db.session.refresh(sub, with_for_update=True)
    if sub.status in LIVE_STATUSES and sub.current_period_end <= now:
        from portal.services.billing.sweep import bring_up_to_date

        bring_up_to_date(sub, now, book)
        db.session.refresh(sub)


def _item(sub: Subscription, product: Product) -> SubscriptionItem | None:
    return next((item for item in sub.items if item.product_id == product.id), None)


# Charges


def _prorated(sub: Subscription, product: Product, unit: int, delta: int, reason: str, now: datetime
              ) -> SubscriptionCharge | None:
    """A charge (delta > 0) or credit (delta < 0) for `delta` units of `unit` over the rest of the period."""
    if sub.status == "trial" or delta == 0:
        return None
    start, end = sub.current_period_start, sub.current_period_end
    part = money.prorate(unit * abs(delta), now, end, start, end)
    if part == 0:
        return None
    charge = SubscriptionCharge(subscription_id=sub.id, kind="prorated" if delta > 0 else "credit", reason=reason,
                                product_id=product.id, quantity=abs(delta), unit_amount=unit,
                                amount=part if delta > 0 else -part, period_start=max(now, start), period_end=end,
                                created_at=now)
    db.session.add(charge)
    return charge


def _setup(sub: Subscription, book: PriceBook, product: Product, now: datetime) -> SubscriptionCharge | None:
    fee = book.setup_fee(product.id, sub.currency, sub.period)
    if not fee:
        return None
    charge = SubscriptionCharge(subscription_id=sub.id, kind="setup", reason="setup", product_id=product.id,
                                quantity=1, unit_amount=fee, amount=fee, period_start=sub.current_period_start,
                                period_end=sub.current_period_end, created_at=now)
    db.session.add(charge)
    return charge


def _payer(sub: Subscription) -> Organisation:
    return db.session.get(Organisation, sub.payer_id)


def _invoice_charges(sub: Subscription, charges: list[SubscriptionCharge], now: datetime, book: PriceBook,
                     lines: list[LineSpec] | None = None, key: str | None = None,
                     period: tuple[datetime, datetime] | None = None) -> Invoice | None:
    """Invoice `lines` and the given charges at once to the subscription's payer; None when there is nothing."""
    from portal.services.billing.sweep import charge_line

    payer = _payer(sub)
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


def _period_lines(sub: Subscription, book: PriceBook, start: datetime, end: datetime) -> list[LineSpec]:
    locale = _payer(sub).locale
    lines = []
    for product_id, quantity in [(sub.plan_id, 1), *[(i.product_id, i.quantity) for i in sub.items]]:
        try:
            line = recurring_line(book, product_id, quantity, sub.currency, sub.period, sub.discount_bp, locale,
                                  start, end)
        except MissingPrice as error:
            product = db.session.get(Product, error.product_id)
            raise DomainError(_l("%(product)s has no %(period)s price in %(currency)s.", product=product.name,
                                 period=_period_name(sub.period), currency=sub.currency),
                              code="no_price", field="product") from error
        if line is not None:
            lines.append(line)
    return lines


# Starting


def start_subscription(org: Organisation, plan: Product, currency: str, period: str, now: datetime,
                       trial_days: int = TRIAL_DAYS, payer: Organisation | None = None,
                       items: list[tuple[Product, int]] = (), actor=None) -> Subscription:
    """Subscribe a customer to a plan (and add-ons). With a trial, nothing is charged until it ends; without,
    the first period is invoiced now. A reseller that pays gets 50 % off the plan and its add-ons."""
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
    discount = RESELLER_DISCOUNT_BP if payer.id != org.id else 0
    book = PriceBook.load()
    _plan(book, plan)
    _unit_price(book, plan, currency, period, discount)
    taken = db.session.scalar(
        db.select(db.func.count(Subscription.id)).join(Product, Product.id == Subscription.plan_id)
        .where(Subscription.organisation_id == org.id, Subscription.status.in_(SUBSCRIBED_STATUSES),
               Product.software_id == plan.software_id))
    if taken:
        raise DomainError(_l("This organisation already has a plan of this software: change that plan instead."),
                          code="already_subscribed", field="plan")
    chosen: dict[int, tuple[Product, int]] = {}
    for product, quantity in items:
        _quantity(quantity)
        if product.kind == "plan" or product.software_id != plan.software_id:
            raise DomainError(_l("%(product)s is not an add-on of this plan.", product=product.name),
                              code="not_an_addon", field="product")
        _for_sale(book, product)
        _unit_price(book, product, currency, period, discount)
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
        sub.items.append(SubscriptionItem(product_id=product.id, quantity=_quantity(quantity), added_at=now))
    db.session.add(sub)
    db.session.flush()
    charges = [_setup(sub, book, product, now) for product in [plan, *[p for p, _q in chosen.values()]]]
    db.session.flush()
    invoice = None
    if status == "active":
        invoice = _invoice_charges(sub, charges, now, book, _period_lines(sub, book, start, end),
                                   key=period_key(sub.id, start), period=(start, end))
    _record(sub, "trial_started" if trial_days else "started", now, actor, invoice, plan_id=plan.id,
            period=period, currency=currency, payer_id=payer.id, trial_ends_at=trial_ends_at and end.isoformat(),
            items={str(p.id): q for p, q in chosen.values()})
    return sub


# Changing


def change_quantity(sub: Subscription, product: Product, quantity: int, now: datetime,
                    invoice_now: bool | None = None, actor=None) -> Subscription:
    """Set how many units of an add-on the subscription has; the difference is prorated for the rest of the
    period (a charge for more, a credit for fewer). An add-on not there yet is added."""
    quantity = _quantity(quantity)
    book = PriceBook.load()
    _lock(sub, now, book)
    _live(sub)
    _addon(book, sub, product)
    item = _item(sub, product)
    if item is None:
        return add_addon(sub, product, now, quantity, invoice_now, actor)
    delta = quantity - item.quantity
    if delta == 0:
        return sub
    if delta > 0:
        _for_sale(book, product)
    unit = _unit_price(book, product, sub)
    before = item.quantity
    charge = _prorated(sub, product, unit, delta, "quantity_increase" if delta > 0 else "quantity_decrease", now)
    item.quantity = quantity
    db.session.flush()
    invoice = None
    if delta > 0 and (product.pay_upfront if invoice_now is None else invoice_now):
        invoice = _invoice_charges(sub, [charge], now, book)
    _record(sub, "quantity_changed", now, actor, invoice, product_id=product.id, before=before, after=quantity,
            amount=charge.amount if charge else 0)
    return sub


def add_addon(sub: Subscription, product: Product, now: datetime, quantity: int = 1,
              invoice_now: bool | None = None, actor=None) -> Subscription:
    """Add an add-on (module, additional users, …) for the rest of the period, prorated, plus its setup fee."""
    quantity = _quantity(quantity)
    book = PriceBook.load()
    _lock(sub, now, book)
    _live(sub)
    _addon(book, sub, product)
    if _item(sub, product) is not None:
        raise DomainError(_l("%(product)s is already in this subscription: change its quantity instead.",
                             product=product.name), code="already_added", field="product")
    _for_sale(book, product)
    unit = _unit_price(book, product, sub)
    sub.items.append(SubscriptionItem(product_id=product.id, quantity=quantity, added_at=now))
    charges = [_prorated(sub, product, unit, quantity, "addon_added", now), _setup(sub, book, product, now)]
    db.session.flush()
    invoice = None
    if product.pay_upfront if invoice_now is None else invoice_now:
        invoice = _invoice_charges(sub, charges, now, book)
    _record(sub, "addon_added", now, actor, invoice, product_id=product.id, quantity=quantity,
            amount=sum(c.amount for c in charges if c is not None))
    return sub


def remove_addon(sub: Subscription, product: Product, now: datetime, actor=None) -> Subscription:
    """Remove an add-on; the rest of the period is credited on the next invoice."""
    book = PriceBook.load()
    _lock(sub, now, book)
    _live(sub)
    item = _item(sub, product)
    if item is None:
        raise DomainError(_l("%(product)s is not in this subscription.", product=product.name), code="not_added",
                          field="product")
    unit = _unit_price(book, product, sub)
    charge = _prorated(sub, product, unit, -item.quantity, "addon_removed", now)
    quantity = item.quantity
    sub.items.remove(item)
    db.session.flush()
    _record(sub, "addon_removed", now, actor, product_id=product.id, quantity=quantity,
            amount=charge.amount if charge else 0)
    return sub


def change_plan(sub: Subscription, plan: Product, now: datetime, actor=None) -> Subscription:
    """Move to another plan of the same software: an upgrade now with the prorated difference, a downgrade at
    the end of the period. Choosing the current plan again cancels a downgrade that was waiting."""
    book = PriceBook.load()
    _lock(sub, now, book)
    _live(sub)
    _plan(book, plan, book.products[sub.plan_id].software_id)
    if plan.id == sub.plan_id:
        if sub.pending_plan_id is None:
            raise DomainError(_l("This is already the subscription's plan."), code="same_plan", field="plan")
        waiting, sub.pending_plan_id = sub.pending_plan_id, None
        db.session.flush()
        _record(sub, "plan_change_cancelled", now, actor, plan_id=waiting)
        return sub
    current = book.products[sub.plan_id]
    old = _unit_price(book, db.session.get(Product, current.id), sub)
    new = _unit_price(book, plan, sub)
    if sub.status == "trial" or new >= old:
        charge = _prorated(sub, plan, new - old, 1, "upgrade", now) if new > old else None
        previous, sub.plan_id, sub.pending_plan_id = sub.plan_id, plan.id, None
        db.session.flush()
        _record(sub, "plan_changed", now, actor, previous_plan_id=previous, plan_id=plan.id,
                amount=charge.amount if charge else 0)
        return sub
    sub.pending_plan_id = plan.id
    db.session.flush()
    _record(sub, "plan_change_scheduled", now, actor, plan_id=plan.id, at=sub.current_period_end.isoformat())
    return sub


def change_payer(sub: Subscription, payer: Organisation, now: datetime, actor=None) -> Subscription:
    """Who pays from the next invoice on: the customer, or its reseller (at 50 % off)."""
    book = PriceBook.load()
    _lock(sub, now, book)
    if sub.status == "cancelled":
        _live(sub)
    org = db.session.get(Organisation, sub.organisation_id)
    if payer.id not in (org.id, org.reseller_id):
        raise DomainError(_l("The subscription is paid by the customer or by its reseller."),
                          code="invalid_payer", field="payer")
    if payer.id == sub.payer_id:
        return sub
    previous = sub.payer_id
    sub.payer_id = payer.id
    sub.discount_bp = RESELLER_DISCOUNT_BP if payer.id != org.id else 0
    db.session.flush()
    _record(sub, "payer_changed", now, actor, previous_payer_id=previous, payer_id=payer.id,
            discount_bp=sub.discount_bp)
    return sub


# Suspending, resuming, cancelling


@dataclass
class _SuspensionPlan:
    """The documents of suspending an annual subscription now, computed before anything is written."""

    unused: int
    cut: datetime  # service ends here: refunds cover [cut, period end)
    notes: list  # (invoice, lines or None for a single amount, total with tax)
    final_lines: list[LineSpec]
    charges: list[SubscriptionCharge]  # the pending ones, all settled by the plan

    @property
    def refund(self) -> int:
        return sum(total for _invoice, _lines, total in self.notes)


def _period_invoice(sub: Subscription) -> Invoice | None:
    return db.session.scalar(db.select(Invoice).where(
        Invoice.period_key == period_key(sub.id, sub.current_period_start), Invoice.kind == "invoice",
        Invoice.status.in_(invoicing.CREDITABLE_STATUSES)))


def _months_used(sub: Subscription, now: datetime) -> int:
    """Months of the period begun by `now` (a month started counts as used)."""
    start = sub.current_period_start
    used = whole_months_between(start, now)
    if add_months(start, used, day=start.day) < now:
        used += 1
    return min(used, MONTHS[sub.period])


def _slice(amount: int, start: datetime, end: datetime, cut: datetime) -> int:
    """The part of a charge for [start, end) that falls before `cut` (by day)."""
    return money.prorate(amount, start, min(cut, end), start, end) if cut > start else 0


def _uncollected(sub: Subscription) -> list[SubscriptionCharge]:
    return list(db.session.scalars(db.select(SubscriptionCharge).where(
        SubscriptionCharge.subscription_id == sub.id, SubscriptionCharge.collected_at.is_(None))
        .order_by(SubscriptionCharge.id)))


def _gross(lines: list[LineSpec]) -> int:
    return sum(invoicing.line_values(spec, 0, spec.tax_rate_bp)["total"] for spec in lines)


class _Room:
    """What each invoice can still be credited, as credit notes are planned against it."""

    def __init__(self):
        self.left: dict[int, int] = {}

    def take(self, invoice: Invoice, wanted: int) -> int:
        if invoice.id not in self.left:
            self.left[invoice.id] = invoice.total - invoicing.credited_total(invoice)
        taken = max(min(wanted, self.left[invoice.id]), 0)
        self.left[invoice.id] -= taken
        return taken


def _spread_refund(sub: Subscription, gross: int, room: _Room) -> list:
    """Credit notes (invoice, None, amount) for `gross` against the subscription's latest invoices that can take
    it; what none can take any more is dropped (it was never invoiced)."""
    notes = []
    invoices = db.session.scalars(db.select(Invoice).where(
        Invoice.subscription_id == sub.id, Invoice.kind == "invoice",
        Invoice.status.in_(invoicing.CREDITABLE_STATUSES)).order_by(Invoice.id.desc()))
    for invoice in invoices:
        if gross <= 0:
            break
        taken = room.take(invoice, gross)
        if taken:
            notes.append((invoice, None, taken))
            gross -= taken
    return notes


def _refund_lines(sub: Subscription, now: datetime, book: PriceBook, unused: int, cut: datetime, locale: str):
    """Credit lines per invoice: the whole unused months of the period's recurring lines, and the part after the
    cut of prorated charges already invoiced (add-ons paid up front)."""
    refunds: dict[int, tuple[Invoice, list[LineSpec]]] = {}
    invoice = _period_invoice(sub)
    months = MONTHS[sub.period]
    if invoice is not None and unused:
        for line in invoice.lines:
            if line.kind == "recurring" and line.amount > 0:
                part = money.round_half_up(money.Fraction(line.amount * unused, months))
                name = book.products[line.product_id].display_name(locale) if line.product_id else line.description
                refunds.setdefault(invoice.id, (invoice, []))[1].append(LineSpec(
                    "credit", describe("refund", locale, product=name, months=unused), part, 1, line.product_id,
                    cut, sub.current_period_end, tax_rate_bp=line.tax_rate_bp))
    invoiced = db.session.scalars(db.select(SubscriptionCharge).where(
        SubscriptionCharge.subscription_id == sub.id, SubscriptionCharge.invoice_id.is_not(None),
        SubscriptionCharge.kind == "prorated", SubscriptionCharge.period_end == sub.current_period_end))
    for charge in invoiced:
        part = charge.amount - _slice(charge.amount, charge.period_start, charge.period_end, cut)
        paid_with = db.session.get(Invoice, charge.invoice_id)
        if part > 0 and paid_with.kind == "invoice" and paid_with.status in invoicing.CREDITABLE_STATUSES:
            rate = next((line.tax_rate_bp for line in paid_with.lines if line.amount > 0), 0)
            name = book.products[charge.product_id].display_name(locale) if charge.product_id else ""
            refunds.setdefault(paid_with.id, (paid_with, []))[1].append(LineSpec(
                "credit", describe("refund", locale, product=name, months=unused), part, 1, charge.product_id,
                cut, charge.period_end, tax_rate_bp=rate))
    return list(refunds.values())


def _suspension_plan(sub: Subscription, now: datetime, book: PriceBook) -> _SuspensionPlan:
    from portal.services.billing.sweep import charge_line

    unused = MONTHS[sub.period] - _months_used(sub, now)
    cut = min(add_months(sub.current_period_start, MONTHS[sub.period] - unused, day=sub.current_period_start.day),
              sub.current_period_end)
    payer = _payer(sub)
    rate = invoicing.load_context().tax_rate(payer.country)
    room = _Room()
    notes = []
    for invoice, lines in _refund_lines(sub, now, book, unused, cut, payer.locale):
        full = _gross(lines)
        taken = room.take(invoice, full)
        if taken:
            notes.append((invoice, lines if taken == full else None, taken))
    charges = _uncollected(sub)
    final_lines = []
    for charge in charges:
        part = _slice(charge.amount, charge.period_start, charge.period_end, cut)
        if part:
            line = charge_line(charge, book, payer.locale)
            final_lines.append(LineSpec(line.kind, line.description, part, 1, line.product_id, line.period_start,
                                        cut, amount=part, tax_rate_bp=rate))
    net = sum(spec.net for spec in final_lines)
    if net < 0:
        notes.extend(_spread_refund(sub, -net + money.tax_for(-net, rate), room))
        final_lines = []
    return _SuspensionPlan(unused, cut, notes, final_lines, charges)


def preview_suspension(sub: Subscription, now: datetime) -> SuspensionPreview:
    """What `suspend` would do now, without doing it."""
    _live(sub)
    if sub.status == "trial":
        return SuspensionPreview(now, True, 0, 0, 0, sub.currency)
    if sub.period == "monthly" or sub.current_period_end <= now:
        return SuspensionPreview(max(sub.current_period_end, now), False, 0, 0, 0, sub.currency)
    plan = _suspension_plan(sub, now, PriceBook.load())
    return SuspensionPreview(now, True, plan.unused, plan.refund, _gross(plan.final_lines), sub.currency)


def _issue_notes(notes: list, now: datetime, actor=None) -> int:
    refunded = 0
    for invoice, lines, total in notes:
        if lines is not None:
            note = invoicing.issue_credit_note(invoice, now, lines=lines, actor=actor)
        else:
            note = invoicing.issue_credit_note(invoice, now, amount=total, actor=actor,
                                               reason=_credit_reason(invoice.locale))
        refunded += note.total
    return refunded


def _credit_reason(locale: str) -> str:
    with force_locale(locale):
        return gettext("days not used after a reduction or a suspension")


def suspend(sub: Subscription, now: datetime, actor=None) -> Subscription:
    """Suspend: a trial now; a monthly subscription at the end of its period (not charged again); an annual
    one now, its whole unused months refunded by credit note (see `preview_suspension`)."""
    book = PriceBook.load()
    _lock(sub, now, book)
    _live(sub)
    if sub.suspend_at_period_end:
        raise DomainError(_l("The suspension is already scheduled for the end of the period."),
                          code="already_scheduled")
    if sub.status == "trial":
        for charge in _uncollected(sub):
            charge.collected_at = now
        sub.status, sub.suspended_at, sub.cancel_at_period_end = "suspended", now, False
        db.session.flush()
        _record(sub, "suspended", now, actor, refund=0)
        return sub
    if sub.period == "monthly":
        sub.suspend_at_period_end, sub.cancel_at_period_end = True, False
        db.session.flush()
        _record(sub, "suspension_scheduled", now, actor, at=sub.current_period_end.isoformat())
        return sub
    plan = _suspension_plan(sub, now, book)
    refund = _issue_notes(plan.notes, now, actor)
    invoice = None
    if plan.final_lines:
        invoice = invoicing.issue_invoice(_payer(sub), sub.currency, plan.final_lines, now, subscription=sub,
                                          period=(sub.current_period_start, plan.cut))
    for charge in plan.charges:
        charge.invoice_id = invoice.id if invoice is not None else None
        charge.collected_at = now
    sub.status, sub.suspended_at = "suspended", now
    sub.suspend_at_period_end = sub.cancel_at_period_end = False
    db.session.flush()
    _record(sub, "suspended", now, actor, invoice, refund=refund, unused_months=plan.unused,
            cut=plan.cut.isoformat())
    return sub


def resume(sub: Subscription, now: datetime, actor=None) -> Subscription:
    """Undo a scheduled suspension or cancellation; or restart a suspended subscription with a new period
    from now, invoiced in advance."""
    book = PriceBook.load()
    _lock(sub, now, book)
    if sub.status in LIVE_STATUSES and (sub.suspend_at_period_end or sub.cancel_at_period_end):
        sub.suspend_at_period_end = sub.cancel_at_period_end = False
        db.session.flush()
        _record(sub, "resumed", now, actor, scheduled=True)
        return sub
    if sub.status != "suspended":
        raise DomainError(_l("Only a suspended subscription can be resumed."), code="not_suspended")
    start, end = first_period(now, sub.period)
    lines = _period_lines(sub, book, start, end)
    sub.status, sub.suspended_at = "active", None
    sub.current_period_start, sub.current_period_end = start, end
    db.session.flush()
    invoice = _invoice_charges(sub, _uncollected(sub), now, book, lines, key=period_key(sub.id, start),
                               period=(start, end))
    _record(sub, "resumed", now, actor, invoice, period_start=start.isoformat(), period_end=end.isoformat())
    return sub


def cancel(sub: Subscription, now: datetime, at_period_end: bool = True, actor=None) -> Subscription:
    """Cancel at the end of the period (default), or now. A trial or a suspended subscription ends now.
    Cancelling never refunds: an annual customer who stops early suspends (see `suspend`)."""
    book = PriceBook.load()
    _lock(sub, now, book)
    if sub.status == "cancelled":
        raise DomainError(_l("This subscription is already cancelled."), code="already_cancelled")
    if sub.status in ("active", "past_due") and at_period_end:
        if sub.cancel_at_period_end:
            raise DomainError(_l("The cancellation is already scheduled for the end of the period."),
                              code="already_scheduled")
        sub.cancel_at_period_end, sub.suspend_at_period_end = True, False
        db.session.flush()
        _record(sub, "cancellation_scheduled", now, actor, at=sub.current_period_end.isoformat())
        return sub
    pending = _uncollected(sub)
    invoice = None
    if sub.status in ("active", "past_due"):
        charges = [c for c in pending if c.amount >= 0]
        credits = [c for c in pending if c.amount < 0]
        invoice = _invoice_charges(sub, charges, now, book)
        if credits:
            _refund(sub, -sum(c.amount for c in credits), now, actor)
    for charge in pending:
        charge.collected_at = charge.collected_at or now
    sub.status, sub.cancelled_at = "cancelled", now
    sub.suspend_at_period_end = sub.cancel_at_period_end = False
    db.session.flush()
    _record(sub, "cancelled", now, actor, invoice)
    return sub


# Refunding credits left over


def _refund(sub: Subscription, net: int, now: datetime, actor=None) -> int:
    """Refund `net` (before tax) of credits by credit notes against the subscription's latest invoices."""
    rate = invoicing.load_context().tax_rate(_payer(sub).country)
    return _issue_notes(_spread_refund(sub, net + money.tax_for(net, rate), _Room()), now, actor)


def refund_credits(subscription_id: int, charge_ids: list[int], now: datetime) -> int:
    """For the sweep: the credits left when a subscription ends are refunded. Returns the credit notes made."""
    sub = db.session.get(Subscription, subscription_id)
    charges = list(db.session.scalars(db.select(SubscriptionCharge).where(SubscriptionCharge.id.in_(charge_ids))))
    rate = invoicing.load_context().tax_rate(_payer(sub).country)
    net = -sum(charge.amount for charge in charges)
    notes = _spread_refund(sub, net + money.tax_for(net, rate), _Room())
    _issue_notes(notes, now)
    for charge in charges:
        charge.collected_at = now
    db.session.flush()
    return len(notes)


# Reading


def pending_charges(sub: Subscription) -> list[SubscriptionCharge]:
    """The charges and credits waiting for the subscription's next invoice."""
    return _uncollected(sub)
