"""The partner's invoices ("Faturas"): what the vendor bills it — the monthly subscription of the licenses it
holds and the setup fee of each approved order — paid and pending, each invoice's page, CSV and PDF, and paying
a pending one with a boleto or a Pix code (or what else its country offers) or a card on file. Administrators
only: sellers create orders and activate licenses, they neither see nor pay the partner's bills."""

import secrets

from flask import Response, abort, g, request, stream_with_context, url_for
from flask_babel import gettext as _

from portal import invoice_payments
from portal.downloads import pdf_response
from portal.htmx import redirect_to, render
from portal.labels import PAYMENT_STATE_LABELS
from portal.models import Invoice
from portal.pagination import page_of
from portal.partner.views import bp
from portal.routing import page_arg
from portal.services.billing import invoice_search
from portal.services.billing.invoice_search import InvoiceFilters
from portal.services.billing.invoicing import ISSUED_STATUSES
from portal.services.errors import DomainError
from portal.services.payments import history, refunds
from portal.tenancy import roles


@bp.get("/invoices")
@roles("admin")
def invoices():
    """List the partner's invoices, newest first, with what each still owes and how to pay a pending one."""
    org = g.organisation
    page = page_of(invoice_search.customer_invoices(org, InvoiceFilters()), page_arg(), count=False)
    return render("partner/invoices.html", "invoices", page=page, key=secrets.token_urlsafe(16),
                  pay=invoice_payments.payable(org, page.items, cards=True),
                  payments_page=page_of(history.payments_of(org), 1, per_page=5, count=False))


def _invoice_page(invoice: Invoice, status: int = 200, error: str | None = None):
    payments = history.invoice_payments(g.organisation, invoice)
    return render("partner/invoice.html", status=status, invoice=invoice, error=error,
                  pay=invoice_payments.payable(g.organisation, [invoice], cards=True, payments=payments),
                  credit_notes=invoice_search.credit_notes_for(invoice, ISSUED_STATUSES),
                  payments=payments, refunds=refunds.refunds_among(payments), key=secrets.token_urlsafe(16))


@bp.get("/invoices/<int:invoice_id>")
@roles("admin")
def invoice(invoice_id: int):
    """Show one invoice: its lines, totals, what it still owes, its payments, and the ways to pay it."""
    return _invoice_page(invoice_search.customer_invoice(g.organisation, invoice_id) or abort(404))


@bp.get("/invoices.csv")
@roles("admin")
def invoices_csv():
    """Download every invoice of the partner as CSV, amounts as plain decimals."""
    query = invoice_search.customer_invoices(g.organisation, InvoiceFilters())
    response = Response(stream_with_context(invoice_search.csv_lines(query, False)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={invoice_search.csv_filename()}"
    return response


@bp.get("/invoices/<int:invoice_id>/pdf")
@roles("admin")
def invoice_pdf(invoice_id: int):
    """Send one of the partner's invoices as PDF."""
    found = invoice_search.customer_invoice(g.organisation, invoice_id, details=False) or abort(404)
    return pdf_response(found, inline=request.args.get("inline") == "1")


@bp.post("/invoices/<int:invoice_id>/pay")
@roles("admin")
def invoice_pay(invoice_id: int):
    """Pay all that a pending invoice owes: issue a boleto, a Pix code (…) and show it, or charge a card on file.
    An invoice already paid, a method not offered or a resent form with other details: its page again, with
    why, and nothing written."""
    found = invoice_search.customer_invoice(g.organisation, invoice_id) or abort(404)
    form = invoice_payments.PayInvoiceForm()
    if not form.validate():
        return _invoice_page(found, 422, " ".join(str(error) for errors in form.errors.values() for error in errors))
    try:
        payment = invoice_payments.pay(g.organisation, invoice_id, form.method.data, form.key.data, cards=True)
    except DomainError as error:
        return _invoice_page(found, error.status if error.status in (404, 409) else 422, str(error.message))
    reference = invoice_payments.announce(payment, found, "partner.invoice_reference")
    return redirect_to(reference or url_for("partner.invoice", invoice_id=invoice_id))


@bp.get("/invoices/references/<int:payment_id>")
@roles("admin")
def invoice_reference(payment_id: int):
    """Show how to pay a reference issued for one of the partner's invoices: line and barcode, QR, voucher."""
    found, invoice, sandbox_url = invoice_payments.reference_of(g.organisation, payment_id) or abort(404)
    return render("payments/reference.html", payment=found, invoice=invoice, sandbox_url=sandbox_url,
                  payment_state_labels=PAYMENT_STATE_LABELS, back=url_for("partner.invoices"),
                  back_label=_("← Invoices"),
                  pdf_endpoint="partner.invoice_pdf",
                  reissue=_("This reference can no longer be paid. Issue a new one from the invoice's page."))
