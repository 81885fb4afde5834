"""What a payment's outcome changes: a success pays its invoice (or installments) or funds the wallet, and
sends a receipt; a failure, an expiry or a cancellation frees what it reserved. Each is applied once: a
second call for a payment already ended changes nothing (a repeated webhook, a retried job, staff and a
statement confirming the same reference).
"""

from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.bulk import among
from portal.extensions import db
from portal.i18n import format_money
from portal.labels import PAYMENT_METHOD_LABELS
from portal.models import Installment, Invoice, Membership, Organisation, Payment, User
from portal.models.offline import OFFLINE_KINDS
from portal.services import audit
from portal.services.accounts import blocking
from portal.services.billing import credit_notes, invoicing
from portal.services.errors import DomainError
from portal.services.mail import composing as mail
from portal.services.payments import wallet

OPEN_STATES = ("pending", "processing")
# What a payment reserves of its invoice while the gateway has not answered.
RESERVING_STATES = ("processing",)
INVOICE_SETTLED = "invoice_settled"  # the failure code of a reference whose invoice was paid another way


def payable(invoice: Invoice) -> int:
    """What can still be asked for on an invoice: what is due less what payments in progress reserve."""
    due = credit_notes.amount_due(invoice)
    reserved = db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(Payment.amount), 0))
        .where(Payment.invoice_id == invoice.id, Payment.state.in_(RESERVING_STATES))) or 0
    return max(due - reserved, 0)


def payable_of(invoices) -> dict[int, tuple[int, int]]:
    """(what is due, what `payable` says can still be asked for) of each of these invoices, in two queries."""
    due = credit_notes.amounts_due_of(invoices)
    reserved = dict(db.session.execute(
        db.select(Payment.invoice_id, db.func.sum(Payment.amount))
        .where(among(Payment.invoice_id, due), Payment.state.in_(RESERVING_STATES))
        .group_by(Payment.invoice_id)).all()) if due else {}
    return {invoice_id: (owed, max(owed - int(reserved.get(invoice_id) or 0), 0)) for invoice_id, owed in due.items()}


def payable_from(invoice: Invoice, payments: list[Payment], credit_notes_: list[Invoice],
                 reserved: bool = True) -> int:
    """`payable` (or, without `reserved`, `credit_notes.amount_due`) from the invoice's payments and credit
    notes already loaded (a page showing them)."""
    if invoice.status != "open" or invoice.kind != "invoice":
        return 0
    credited = sum(note.total for note in credit_notes_ if note.kind == "credit_note" and note.status != "void")
    counted = ("succeeded", *RESERVING_STATES) if reserved else ("succeeded",)
    taken = sum(p.amount - (p.refunded_amount or 0) for p in payments if p.state in counted)
    return max(invoice.total - credited - taken, 0)


def succeed(payment: Payment, now: datetime, gateway_payment_id: str | None = None, actor=None) -> bool:
    """Record that the money of `payment` arrived. Returns False when it was already recorded (nothing
    changes); a payment that had failed or expired and is paid after all is recorded too."""
    wallet.lock_payer(payment.organisation_id)
    db.session.refresh(payment)
    if payment.state in ("succeeded", "cancelled"):
        return succeed_read(payment, None, None, 0, now)
    org = db.session.get(Organisation, payment.organisation_id)
    invoice = db.session.get(Invoice, payment.invoice_id) if payment.invoice_id is not None else None
    due_before = credit_notes.amount_due(invoice) if invoice is not None else 0
    return succeed_read(payment, org, invoice, due_before, now, gateway_payment_id, actor)


def succeed_read(payment: Payment, org: Organisation, invoice: Invoice | None, due_before: int, now: datetime,
                 gateway_payment_id: str | None = None, actor=None, contacts: list | None = None,
                 flush: bool = True) -> bool:
    """`succeed` once the payer is locked and the payment, its payer, its invoice, what the invoice owed
    (`due_before`) and, when known, the payer's billing contacts are read (a batch reads them for all its
    payments at once, and leaves its rows to one flush)."""
    if payment.state == "succeeded":
        return False
    if payment.state == "cancelled":
        raise DomainError(_l("This payment was cancelled."), code="payment_cancelled", status=409)
    payment.state, payment.succeeded_at, payment.failure_code = "succeeded", now, None
    if gateway_payment_id and not payment.gateway_payment_id:
        payment.gateway_payment_id = gateway_payment_id
    if flush:
        db.session.flush()
    # What is still due once this payment counts (nothing refunded of it yet): no need to ask again.
    due_after = max(due_before - payment.amount, 0)
    if invoice is None:
        wallet.add_entry(org, "top_up", payment.amount, now, currency=payment.currency, payment=payment, actor=actor)
    else:
        _apply_to_invoice(payment, invoice, org, due_before, due_after, now, actor, flush)
        lift_unpaid_block(org, now, actor)
    audit.record("payment_succeeded", actor=actor, organisation=org, obj=payment, flush=flush,
                 details={"amount": payment.amount, "currency": payment.currency, "method": payment.method_kind,
                          "invoice_id": payment.invoice_id, "reference": payment.reference})
    send_receipt(payment, org, invoice, still_due=due_after if invoice is not None else 0, contacts=contacts,
                 flush=flush)
    return True


def _apply_to_invoice(payment: Payment, invoice: Invoice, org: Organisation, due_before: int, due_after: int,
                      now: datetime, actor, flush: bool = True) -> None:
    """Pay the invoice; what exceeds what it still owed (paid twice: a reference paid after the card, or an
    invoice voided meanwhile) waits in the wallet."""
    excess = payment.amount - due_before
    if excess > 0:
        wallet.add_entry(org, "refund_in", excess, now, currency=payment.currency, payment=payment,
                         invoice=invoice, reason="overpayment", actor=actor)
    if invoice.status != "open":
        return
    if due_after == 0:
        invoicing.settle(invoice, now)
        if flush:
            db.session.flush()
            retire_references([invoice.id], now)  # a batch retires its invoices' references at once
        audit.record("invoice_paid", actor=actor, organisation=org, obj=invoice, details={"total": invoice.total},
                     flush=flush)
    else:
        _mark_installments(invoice, now)


def retire_references(invoice_ids, now: datetime) -> None:
    """End as expired ("invoice_settled") the references (boleto, Pix, OXXO, transfer) still waiting on these
    invoices, paid by other means: the screens no longer ask anybody to pay them. Money that arrives for one all
    the same is recorded (`succeed` takes an expired payment) and, its invoice owing nothing, waits in the
    wallet."""
    ids = sorted(set(invoice_ids))
    if not ids:
        return
    for waiting in db.session.scalars(db.select(Payment).where(
            among(Payment.invoice_id, ids), Payment.state == "pending", Payment.method_kind.in_(OFFLINE_KINDS))
            .order_by(Payment.id)).all():
        end(waiting, "expired", now, INVOICE_SETTLED)


def lift_unpaid_block(org: Organisation, now: datetime, actor=None) -> bool:
    """An organisation blocked for an overdue balance is unblocked as soon as nothing is overdue."""
    if org.status != "blocked" or org.blocked_reason != "unpaid":
        return False
    if credit_notes.overdue_total(org.id, now) > 0:
        return False
    return blocking.unblock(org, now, actor=actor, reason="unpaid")


def _mark_installments(invoice: Invoice, now: datetime) -> None:
    """Installments wholly covered by what was paid and credited, in their order, are paid."""
    if not invoice.installments:
        return
    covered = credit_notes.paid_total(invoice) + credit_notes.credited_total(invoice)
    for installment in db.session.scalars(db.select(Installment).where(Installment.invoice_id == invoice.id)
                                          .order_by(Installment.number)):
        if covered < installment.amount:
            break
        covered -= installment.amount
        if installment.paid_at is None:
            installment.paid_at = now


def end(payment: Payment, state: str, now: datetime, failure_code: str | None = None, actor=None) -> bool:
    """A payment that failed, expired or was cancelled before its money arrived. False when it had already
    ended or succeeded (nothing changes)."""
    if state not in ("failed", "expired", "cancelled"):
        raise ValueError(state)
    wallet.lock_payer(payment.organisation_id)
    db.session.refresh(payment)
    if payment.state not in OPEN_STATES:
        return False
    payment.state, payment.ended_at, payment.failure_code = state, now, failure_code
    db.session.flush()
    audit.record(f"payment_{state}", actor=actor, organisation=db.session.get(Organisation, payment.organisation_id),
                 obj=payment, details={"failure_code": failure_code, "reference": payment.reference})
    return True


def billing_contacts(org: Organisation) -> list:
    """Who hears about an organisation's payments: its administrators (accepted members), each as the row of
    what an e-mail to them needs (`id`, `email`, `name`, `locale`)."""
    return billing_contacts_of([org.id]).get(org.id, [])


def billing_contacts_of(organisation_ids) -> dict[int, list]:
    """`billing_contacts` of each of these organisations, in one query (rows, not users: a batch of receipts
    reads hundreds, for their addresses only)."""
    ids = list(organisation_ids)
    if not ids:
        return {}
    found: dict[int, list] = {}
    for row in db.session.execute(
            db.select(Membership.organisation_id, User.id, User.email, User.name, User.locale)
            .join(Membership, Membership.user_id == User.id)
            .where(among(Membership.organisation_id, ids), Membership.role == "admin",
                   Membership.accepted_at.is_not(None))
            .order_by(User.id)):
        found.setdefault(row.organisation_id, []).append(row)
    return found


def send_receipt(payment: Payment, org: Organisation, invoice: Invoice | None, still_due: int | None = None,
                 contacts: list | None = None, flush: bool = True) -> None:
    """E-mail the payer's administrators that the money arrived, in each one's language (`still_due`: what the
    invoice still owes, when the caller knows it; `contacts`: the administrators, when it read them)."""
    link = None
    if org.kind == "customer":
        link = mail.external_url("customer.invoice", invoice_id=invoice.id) if invoice is not None \
            else mail.external_url("customer.home")
    if still_due is None:
        still_due = credit_notes.amount_due(invoice) if invoice is not None else 0
    for user in billing_contacts(org) if contacts is None else contacts:
        locale = user.locale or org.locale
        with force_locale(locale):
            amount = format_money(payment.amount, payment.currency, locale, org.country)
            due = format_money(still_due, payment.currency, locale, org.country)
            method = str(PAYMENT_METHOD_LABELS[payment.method_kind])
        mail.queue_email(user.email, "payment_receipt", locale, flush=flush, render_at_send=True, name=user.name,
                         org_name=org.name, invoice=invoice is not None,
                         number=invoice.display_number if invoice is not None else None,
                         reference=payment.reference, link=link, amount=amount, still_due=due, method=method)
