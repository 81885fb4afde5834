"""Paying an invoice with an offline method from the customer's side: what is offered, the reference already
issued for it, and issuing one (the gateway is asked by `portal.workflows.payments`)."""

from datetime import datetime

from portal.extensions import db
from portal.models import Invoice, Organisation, Payment
from portal.services.billing import credit_notes
from portal.services.payments import checkout
from portal.services.payments.offline import documents
from portal.services.payments.offline.gateways import offered_kinds


def offered(org: Organisation, invoice: Invoice, due: int | None = None) -> list[str]:
    """The offline kinds the payer of `invoice` may choose now (none when nothing is owed); `due` is its
    amount due when the caller already knows it."""
    due = credit_notes.amount_due(invoice) if due is None else due
    if invoice.kind != "invoice" or invoice.status != "open" or due <= 0:
        return []
    return offered_kinds(org.country, invoice.currency)


def waiting(invoice: Invoice, kind: str | None = None) -> list[Payment]:
    """The references issued for `invoice` that still wait to be paid (of `kind`, if given)."""
    return [payment for payment in documents.pending_for_invoice(invoice.id)
            if kind is None or payment.method_kind == kind]


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
