"""Suspension: a trial stops now; a monthly subscription at the end of its period; an annual one now, its whole
unused months refunded by credit note and the days already used of pending charges invoiced
(`preview_suspension` shows the amounts first).
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Invoice, Subscription, SubscriptionCharge
from portal.services.billing import invoicing, money
from portal.services.billing.refunds import Room, issue_notes, owed_back, spread_refund
from portal.services.billing.rules import (
    MONTHS,
    LineSpec,
    PriceBook,
    add_months,
    describe,
    period_key,
    whole_months_between,
)
from portal.services.billing.subscriptions.common import check_live, lock, payer_of, record_event, uncollected
from portal.services.billing.sweep import charge_line
from portal.services.errors import DomainError


@dataclass(frozen=True)
class SuspensionPreview:
    """What suspending now means: when it takes effect, what is refunded and what is still charged."""

    effective_at: datetime
    immediate: bool
    unused_months: int
    refund: int  # total of the credit notes, tax included
    final_charge: int  # total of the last invoice for days already used, tax included
    currency: str
    returned: int = 0  # of `refund`, the money already paid that goes back (to the wallet), not a debt forgiven


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


def _gross(lines: list[LineSpec]) -> int:
    return sum(invoicing.line_values(spec, 0, spec.tax_rate_bp)["total"] for spec in lines)


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
    unused = MONTHS[sub.period] - _months_used(sub, now)
    cut = min(add_months(sub.current_period_start, MONTHS[sub.period] - unused, day=sub.current_period_start.day),
              sub.current_period_end)
    payer = payer_of(sub)
    rate = invoicing.load_context().tax_rate(payer.country)
    room = Room()
    notes = []
    for invoice, lines in _refund_lines(sub, now, book, unused, cut, payer.locale):
        full = _gross(lines)
        taken = room.take(invoice, full)
        if taken:
            notes.append((invoice, lines if taken == full else None, taken))
    charges = uncollected(sub)
    final_lines = []
    for charge in charges:
        part = _slice(charge.amount, charge.period_start, charge.period_end, cut)
        if part:
            line = charge_line(charge, book, payer.locale)
            final_lines.append(LineSpec(line.kind, line.description, part, 1, line.product_id, line.period_start,
                                        cut, amount=part, tax_rate_bp=rate))
    net = sum(spec.net for spec in final_lines)
    if net < 0:
        notes.extend(spread_refund(sub, -net + money.tax_for(-net, rate), room))
        final_lines = []
    return _SuspensionPlan(unused, cut, notes, final_lines, charges)


def preview_suspension(sub: Subscription, now: datetime) -> SuspensionPreview:
    """What `suspend` would do now, without doing it."""
    check_live(sub)
    if sub.status == "trial":
        return SuspensionPreview(now, True, 0, 0, 0, sub.currency)
    if sub.period == "monthly" or sub.current_period_end <= now:
        return SuspensionPreview(max(sub.current_period_end, now), False, 0, 0, 0, sub.currency)
    plan = _suspension_plan(sub, now, PriceBook.load())
    returned = sum(owed_back(invoice, total) for invoice, _lines, total in plan.notes)
    return SuspensionPreview(now, True, plan.unused, plan.refund, _gross(plan.final_lines), sub.currency,
                             returned)


def suspend(sub: Subscription, now: datetime, actor=None, give_back=None) -> Subscription:
    """Suspend: a trial now; a monthly subscription at the end of its period (not charged again); an annual
    one now, its whole unused months refunded by credit note (see `preview_suspension`); what was already paid
    of them is handed to `give_back` (services/payments/suspension.py: to the wallet)."""
    book = PriceBook.load()
    lock(sub, now, book)
    check_live(sub)
    if sub.suspend_at_period_end:
        raise DomainError(_l("The suspension is already scheduled for the end of the period."),
                          code="already_scheduled")
    if sub.status == "trial":
        for charge in uncollected(sub):
            charge.collected_at = now
        sub.status, sub.suspended_at, sub.cancel_at_period_end = "suspended", now, False
        db.session.flush()
        record_event(sub, "suspended", now, actor, refund=0)
        return sub
    if sub.period == "monthly":
        sub.suspend_at_period_end, sub.cancel_at_period_end = True, False
        db.session.flush()
        record_event(sub, "suspension_scheduled", now, actor, at=sub.current_period_end.isoformat())
        return sub
    plan = _suspension_plan(sub, now, book)
    refund = issue_notes(plan.notes, now, actor, give_back)
    invoice = None
    if plan.final_lines:
        invoice = invoicing.issue_invoice(payer_of(sub), sub.currency, plan.final_lines, now, subscription=sub,
                                          period=(sub.current_period_start, plan.cut))
    for charge in plan.charges:
        charge.invoice_id = invoice.id if invoice is not None else None
        charge.collected_at = now
    sub.status, sub.suspended_at = "suspended", now
    sub.suspend_at_period_end = sub.cancel_at_period_end = False
    db.session.flush()
    record_event(sub, "suspended", now, actor, invoice, refund=refund, unused_months=plan.unused,
                 cut=plan.cut.isoformat())
    return sub
