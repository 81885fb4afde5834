"""Paying an invoice with an offline method from the payer's side (a customer, a reseller, a license partner):
what is offered, the references already issued, and issuing one (the gateway is asked by
`portal.workflows.payments`)."""

from datetime import datetime

from portal.extensions import db
from portal.models import Invoice, Organisation, Payment
from portal.models.offline import OFFLINE_KINDS
from portal.services.billing import credit_notes
from portal.services.payments import checkout
from portal.services.payments.offline import documents
from portal.services.payments.offline.gateways import offered_kinds, offered_kinds_by_currency


def offered(org: Organisation, invoice: Invoice, due: int | None = None) -> list[str]:
    """The offline kinds the payer of `invoice` may choose now (none when nothing is owed); `due` is its
    amount due when the caller already knows it."""
    due = credit_notes.amount_due(invoice) if due is None else due
    if invoice.kind != "invoice" or invoice.status != "open" or due <= 0:
        return []
    return offered_kinds(org.country, invoice.currency)


def amounts_due(invoices: list[Invoice]) -> dict[int, int]:
    """What each of these invoices still owes (credit_notes.amount_due's rule), in one query."""
    due = dict.fromkeys((invoice.id for invoice in invoices), 0)
    open_ids = [invoice.id for invoice in invoices if invoice.kind == "invoice" and invoice.status == "open"]
    if open_ids:
        for invoice_id, left in db.session.execute(db.select(Invoice.id, credit_notes.left_to_pay())
                                                   .where(Invoice.id.in_(open_ids))):
            due[invoice_id] = max(int(left or 0), 0)
    return due


def offered_for(org: Organisation, invoices: list[Invoice], due: dict[int, int],
                kinds: dict[str, list[str]] | None = None) -> dict[int, list[str]]:
    """The offline kinds offered to pay each of these invoices of `org` that still owes something (none for
    the others); `due` is amounts_due's, `kinds` offered_kinds_by_currency's when the caller read it."""
    if kinds is None:
        kinds = offered_kinds_by_currency(org.country, {invoice.currency for invoice in invoices})
    return {invoice.id: kinds[invoice.currency] if due[invoice.id] else [] for invoice in invoices}


def waiting_for(invoice_ids: list[int]) -> dict[int, list[Payment]]:
    """The references issued for these invoices that still wait to be paid, by invoice, in one query."""
    found: dict[int, list[Payment]] = {}
    if invoice_ids:
        for pending in db.session.scalars(db.select(Payment).where(
                Payment.invoice_id.in_(invoice_ids), Payment.state == "pending",
                Payment.method_kind.in_(OFFLINE_KINDS)).order_by(Payment.id)):
            found.setdefault(pending.invoice_id, []).append(pending)
    return found


def code_of(payment: Payment) -> str:
    """What a payer would type or paste into their bank for this reference."""
    data = payment.instructions or {}
    return data.get("code") or data.get("line") or data.get("number") or data.get("reference") or ""


def waiting(invoice: Invoice, kind: str | None = None) -> list[Payment]:
    """The references issued for `invoice` that still wait to be paid (of `kind`, if given)."""
    return [payment for payment in documents.pending_for_invoice(invoice.id)
            if kind is None or payment.method_kind == kind]


def waiting_among(payments: list[Payment]) -> list[Payment]:
    """`waiting`, picked from an invoice's payments already loaded (a page that lists them)."""
    return [payment for payment in payments if payment.state == "pending" and payment.method_kind in OFFLINE_KINDS]


def claim(org: Organisation, invoice: Invoice, kind: str, key: str, now: datetime, actor=None) -> checkout.Claim:
    """Claim a payment of all that `invoice` still owes by `kind`; the reference of that kind still waiting
    for the same amount is given again instead of a second one."""
    due = credit_notes.amount_due(invoice)
    for payment in waiting(invoice, kind):
        if payment.amount == due:
            return checkout.Claim(payment, False)
    return checkout.claim_invoice_payment(org, invoice, due, kind, key, now, actor=actor)


def payment_of(org: Organisation, payment_id: int) -> Payment | None:
    payment = db.session.get(Payment, payment_id)
    return payment if payment is not None and payment.organisation_id == org.id else None
