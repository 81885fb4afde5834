"""Where an offline payment's instructions appear besides the screen: the invoice PDF and the e-mail.

When a reference is issued for an invoice, its stored PDF is dropped and drawn again with the reference
(boleto line and barcode, Pix QR, OXXO number, transfer details), and the payer's administrators receive
the same instructions by e-mail, each in their language.
"""

from portal.extensions import db
from portal.models import Invoice, InvoicePdf, Organisation, Payment
from portal.models.offline import OFFLINE_KINDS
from portal.services import hooks
from portal.services.mail import composing as mail
from portal.services.payments import settlement

# Where each kind of payer sees a reference it issued (the e-mail's link).
REFERENCE_ENDPOINTS = {"customer": "customer.payment_instructions", "reseller": "reseller.payment_reference",
                       "partner": "partner.invoice_reference"}


def pending_for_invoice(invoice_id: int, session=None) -> list[Payment]:
    """The offline references of an invoice still waiting to be paid, oldest first."""
    session = session or db.session
    return list(session.scalars(db.select(Payment).where(
        Payment.invoice_id == invoice_id, Payment.state == "pending", Payment.method_kind.in_(OFFLINE_KINDS))
        .order_by(Payment.id)))


def reference_issued(payment: Payment) -> None:
    """A reference was issued for `payment`: redraw its invoice's PDF and e-mail the instructions."""
    if payment.state != "pending" or payment.method_kind not in OFFLINE_KINDS:
        return
    org = db.session.get(Organisation, payment.organisation_id)
    invoice = db.session.get(Invoice, payment.invoice_id) if payment.invoice_id is not None else None
    if invoice is not None:
        db.session.execute(db.delete(InvoicePdf).where(InvoicePdf.invoice_id == invoice.id))
        hooks.after_commit("render_invoice_pdfs", [invoice.id])
    endpoint = REFERENCE_ENDPOINTS.get(org.kind)
    link = mail.external_url(endpoint, payment_id=payment.id) if endpoint else None
    for user in settlement.billing_contacts(org):
        mail.queue_email(user.email, "payment_instructions", user.locale or org.locale, user=user, organisation=org,
                         payment=payment, invoice=invoice, link=link)
