"""Paying an invoice with an offline method (boleto, Pix, OXXO, transfer) and the instructions to print."""

import secrets

from flask import abort, flash, g, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import invoice_payments
from portal.customer.offline_forms import OfflinePayForm
from portal.customer.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.labels import PAYMENT_METHOD_LABELS, PAYMENT_STATE_LABELS
from portal.models import Invoice, Payment
from portal.orm import utcnow
from portal.services.billing import invoice_search
from portal.services.errors import DomainError
from portal.services.payments.offline import paying
from portal.workflows import payments as payment_flow


def pay_panel(invoice: Invoice, due: int | None = None, payments: list[Payment] | None = None) -> dict | None:
    """What the invoice page shows to pay it offline: the methods offered and the references waiting (from
    the invoice's amount due and payments, when the page has them already)."""
    kinds = paying.offered(g.organisation, invoice, due)
    waiting = paying.waiting(invoice) if payments is None else paying.waiting_among(payments)
    if not kinds and not waiting:
        return None
    form = OfflinePayForm(formdata=None, kinds=kinds, key=secrets.token_urlsafe(16))
    if len(kinds) == 1:
        form.method.data = kinds[0]
    return {"form": form if kinds else None, "waiting": waiting, "labels": PAYMENT_METHOD_LABELS}


@bp.post("/invoices/<int:invoice_id>/pay-offline")
def invoice_pay_offline(invoice_id: int):
    """Issue a boleto, a Pix code, an OXXO reference or transfer details for what the invoice owes."""
    invoice = invoice_search.customer_invoice(g.organisation, invoice_id, details=False) or abort(404)
    form = OfflinePayForm(kinds=paying.offered(g.organisation, invoice))
    back = url_for("customer.invoice", invoice_id=invoice.id)
    if not form.validate():
        flash(" ".join(error for errors in form.errors.values() for error in errors), "error")
        return redirect_to(back)
    org, kind, key, actor_id = g.organisation, form.method.data, form.key.data, current_user.id

    def claim():
        return [paying.claim(org, db.session.get(Invoice, invoice_id), kind, key, utcnow(), actor=current_user)]

    try:
        [payment] = payment_flow.pay(claim, utcnow(), actor_id)
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect_to(back)
    if payment.state != "pending":
        flash(_("This payment method could not issue a reference now. Choose another one or try again later."),
              "error")
        return redirect_to(back)
    return redirect_to(url_for("customer.payment_instructions", payment_id=payment.id))


@bp.get("/payments/<int:payment_id>/instructions")
def payment_instructions(payment_id: int):
    """Show how to pay a boleto, Pix, OXXO or transfer reference: the line, the barcode, the QR, the account."""
    payment, invoice, sandbox_url = invoice_payments.reference_of(g.organisation, payment_id) or abort(404)
    if invoice is not None:
        back, back_label = url_for("customer.invoice", invoice_id=invoice.id), _(
            "← Invoice %(number)s", number=invoice.display_number)
    else:
        back, back_label = url_for("customer.invoices"), _("← All invoices")
    return render("payments/reference.html", payment=payment, invoice=invoice, sandbox_url=sandbox_url,
                  payment_state_labels=PAYMENT_STATE_LABELS, back=back, back_label=back_label,
                  pdf_endpoint="customer.invoice_pdf",
                  reissue=_("This reference can no longer be paid. Start a new payment from the invoice."))
