"""Credit notes, and what is still due on an invoice once its credit notes are counted.

A credit note corrects or refunds an issued invoice, numbered in its own series; together an invoice's credit
notes never exceed its total. One for a paid invoice is issued open (the money is owed back; `mark_paid` once
refunded); one for an open invoice settles that much of it at once (paid), the invoice staying due for the
rest (`amount_due`) and paid when nothing is left. Payments that succeeded count towards it too.
"""

from datetime import datetime
from fractions import Fraction
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam

from portal.bulk import among
from portal.extensions import db
from portal.models import Invoice, Organisation, Payment
from portal.services import audit
from portal.services.billing import money
from portal.services.billing.invoicing import (
    CREDITABLE_STATUSES,
    MAX_AMOUNT,
    BillingContext,
    check_lines,
    load_context,
    new_document,
    open_document,
    settle,
)
from portal.services.billing.rules import LineSpec, describe
from portal.services.errors import DomainError


def credited_total(invoice: Invoice) -> int:
    """What the credit notes issued for `invoice` (not voided) add up to."""
    return db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(Invoice.total), 0))
        .where(Invoice.credit_for_id == invoice.id, Invoice.kind == "credit_note", Invoice.status != "void")
    ) or 0


def paid_total(invoice: Invoice) -> int:
    """What the payments of `invoice` that succeeded add up to, less what was refunded of them (a refund's
    credit note is counted apart, by `credited_total`)."""
    return db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(Payment.amount - Payment.refunded_amount), 0))
        .where(Payment.invoice_id == invoice.id, Payment.state == "succeeded")
    ) or 0


def amount_due(invoice: Invoice) -> int:
    """What is still to pay on an open invoice: its total less the credit notes that settle part of it and
    the payments made."""
    if invoice.status != "open" or invoice.kind != "invoice":
        return 0
    credited = (db.select(db.func.coalesce(db.func.sum(Invoice.total), 0))
                .where(Invoice.credit_for_id == invoice.id, Invoice.kind == "credit_note", Invoice.status != "void")
                .scalar_subquery())
    paid = (db.select(db.func.coalesce(db.func.sum(Payment.amount - Payment.refunded_amount), 0))
            .where(Payment.invoice_id == invoice.id, Payment.state == "succeeded").scalar_subquery())
    both = db.session.execute(db.select(credited, paid)).one()  # one statement for both sums
    return max(invoice.total - int(both[0] or 0) - int(both[1] or 0), 0)


def amounts_due_of(invoices) -> dict[int, int]:
    """`amount_due` of each of these invoices, in one query."""
    open_ids = [invoice.id for invoice in invoices if invoice.status == "open" and invoice.kind == "invoice"]
    found = {invoice.id: 0 for invoice in invoices}
    if open_ids:
        found.update({invoice_id: max(int(left), 0) for invoice_id, left in db.session.execute(
            db.select(Invoice.id, left_to_pay()).where(among(Invoice.id, open_ids)))})
    return found


def amounts_due(organisation_id: int) -> list[tuple[str, int, int]]:
    """What an organisation still has to pay, per currency: (currency, amount due, open invoices), in one query
    (each open invoice's total less its credit notes and payments, as amount_due does)."""
    rows = db.session.execute(_amounts_due_query(), {"organisation_id": organisation_id})
    return [(currency, max(int(amount or 0), 0), count) for currency, amount, count in rows]


def overdue_total(organisation_id: int, now: datetime) -> int:
    """What an organisation still owes on open invoices whose due date has passed, all currencies together
    (zero is all that matters: nothing overdue)."""
    return int(db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(left_to_pay()), 0))
        .where(Invoice.organisation_id == organisation_id, Invoice.kind == "invoice", Invoice.status == "open",
               Invoice.due_at < now, left_to_pay() > 0)) or 0)


@cache
def left_to_pay():
    """What an invoice still asks, as a SQL expression over `Invoice` (for a query on open invoices): its total
    less its credit notes and its payments (net of refunds), as amount_due computes it for one. Built once: an
    expression is never changed by the statements that use it."""
    credit = db.aliased(Invoice)
    credited = (db.select(db.func.coalesce(db.func.sum(credit.total), 0))
                .where(credit.credit_for_id == Invoice.id, credit.kind == "credit_note", credit.status != "void")
                .correlate(Invoice).scalar_subquery())
    paid = (db.select(db.func.coalesce(db.func.sum(Payment.amount - Payment.refunded_amount), 0))
            .where(Payment.invoice_id == Invoice.id, Payment.state == "succeeded")
            .correlate(Invoice).scalar_subquery())
    return Invoice.total - credited - paid


@cache
def _amounts_due_query():
    """The statement of amounts_due, built once (building it cost more than running it); the organisation is
    bound per call."""
    return (
        db.select(Invoice.currency, db.func.sum(left_to_pay()), db.func.count(Invoice.id))
        .where(Invoice.organisation_id == bindparam("organisation_id"), Invoice.kind == "invoice",
               Invoice.status == "open")
        .group_by(Invoice.currency).order_by(Invoice.currency))


def _usual_rate(invoice: Invoice) -> int:
    rates = [line.tax_rate_bp for line in invoice.lines if line.amount > 0]
    return max(set(rates), key=rates.count) if rates else 0


def net_for_gross(gross: int, rate_bp: int) -> int:
    """The net amount whose tax, rounded once, brings it closest to `gross` without passing it."""
    guess = money.round_half_up(Fraction(gross * 10_000, 10_000 + rate_bp))
    candidates = [n for n in (guess + 1, guess, guess - 1, guess - 2) if n + money.tax_for(n, rate_bp) <= gross]
    return candidates[0]


def _lines_for_gross(invoice: Invoice, gross: int, rate: int, reason: str) -> list[LineSpec]:
    """One credit line whose amount plus its tax make `gross`; when no whole amount does (tax is rounded), a
    second line of one minor unit, too small to bear tax, makes up the difference."""
    net = net_for_gross(gross, rate)
    key, values = ("credit_note", {"reason": reason}) if reason else ("credit_note_plain", {})
    lines = [LineSpec("credit", describe(key, invoice.locale, number=invoice.display_number, **values), net,
                      tax_rate_bp=rate)]
    rest = gross - net - money.tax_for(net, rate)
    if rest:
        lines.append(LineSpec("credit", describe("rounding", invoice.locale), rest, tax_rate_bp=0))
    return lines


def issue_credit_note(invoice: Invoice, now: datetime, lines: list[LineSpec] | None = None,
                      amount: int | None = None, reason: str = "", actor=None,
                      ctx: BillingContext | None = None) -> Invoice:
    """Correct or refund an issued invoice with a credit note numbered in its own series.

    Give `lines` (positive amounts, net of tax) or `amount` (the total to credit, tax included). Together the
    invoice's credit notes never exceed its total."""
    if invoice.kind != "invoice" or invoice.status not in CREDITABLE_STATUSES:
        raise DomainError(_l("Only an issued invoice that is pending or paid can be credited."),
                          code="not_creditable")
    reason = (reason or "").strip()[:200]
    org = db.session.get(Organisation, invoice.organisation_id)
    rate = _usual_rate(invoice)
    if lines is None:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise DomainError(_l("Enter the amount to credit, more than zero."), code="invalid_amount",
                              field="amount")
        if amount > MAX_AMOUNT:
            raise DomainError(_l("This amount is too large. Check the number of digits."), code="amount_too_large",
                              field="amount")
        lines = _lines_for_gross(invoice, amount, rate, reason)
    check_lines(lines, credit_note=True)
    ctx = ctx or load_context()
    note = new_document(org, invoice.currency, lines, now, ctx, "credit_note", rate)
    note.locale = invoice.locale
    note.customer_snapshot = dict(invoice.customer_snapshot or note.customer_snapshot)
    note.credit_for_id, note.subscription_id = invoice.id, invoice.subscription_id
    note.period_start, note.period_end = invoice.period_start, invoice.period_end
    already = credited_total(invoice)
    if note.total <= 0:
        raise DomainError(_l("A credit note must credit more than zero."), code="invalid_amount", field="amount")
    if already + note.total > invoice.total:
        raise DomainError(
            _l("This would credit more than the invoice's total. At most %(left)s can still be credited.",
               left=_money(invoice.total - already, invoice.currency, invoice.locale)),
            code="credit_exceeds_invoice", field="amount")
    db.session.add(note)
    open_document(note, now, ctx)
    if invoice.status == "open":
        note.status, note.paid_at = "paid", now
        if already + note.total + paid_total(invoice) >= invoice.total:
            settle(invoice, now)
    db.session.flush()
    audit.record("credit_note_issued", actor=actor, organisation=org, obj=note,
                 details={"invoice_id": invoice.id, "total": note.total, "reason": reason})
    return note


def _money(amount: int, currency: str, locale: str) -> str:
    from portal.i18n import format_money

    return format_money(amount, currency, locale)
