"""The reseller's Payment screen ("Pagamento"): the invoices of the clients it pays for, paid and pending — the
consolidated invoice of each month with one line per client, and the month in preparation — a boleto, a Pix
code (or what else its country offers) issued for a pending one and printed, and how it pays. Managers issue
references; accountants read.
"""

import secrets

from flask import Response, abort, flash, g, request, stream_with_context, url_for
from flask_babel import gettext as _

from portal import invoice_payments
from portal.downloads import pdf_response
from portal.htmx import redirect_to, render
from portal.labels import PAYMENT_METHOD_LABELS, PAYMENT_STATE_LABELS
from portal.pagination import page_of
from portal.reseller.views import bp
from portal.routing import page_arg
from portal.services.billing import consolidated, invoice_search
from portal.services.billing.invoice_search import InvoiceFilters
from portal.services.billing.invoicing import ISSUED_STATUSES
from portal.services.errors import DomainError
from portal.services.payments import history, methods, refunds

MANAGERS = ("manager",)


def _can_pay() -> bool:
    return g.membership is not None and g.membership.role in MANAGERS


@bp.get("/payment")
def payment():
    """Show the reseller's invoices (paid and pending) with what each still owes and, for a consolidated one, its
    line per client; a reference to issue for a pending one, the references waiting to be paid, the month in
    preparation and its payment methods."""
    org = g.organisation
    page = page_of(invoice_search.customer_invoices(org, InvoiceFilters()), page_arg(), count=False)
    on_file = [card for card in methods.methods_of(org) if card.state != "removed"]
    pay = invoice_payments.payable(org, page.items, cards=_can_pay(), currencies={org.currency}, on_file=on_file)
    return render("reseller/payment/index.html", "invoices", page=page, pay=pay,
                  client_lines=consolidated.client_lines([invoice.id for invoice in page.items]),
                  drafts=consolidated.drafts_of(org),
                  key=secrets.token_urlsafe(16), can_pay=_can_pay(),
                  cards=on_file,
                  kinds=pay.kinds[org.currency], method_labels=PAYMENT_METHOD_LABELS,
                  payments_page=page_of(history.payments_of(org), 1, per_page=10, count=False),
                  payment_state_labels=PAYMENT_STATE_LABELS)


@bp.get("/payment/invoices/<int:invoice_id>")
def payment_invoice(invoice_id: int):
    """Show one of the reseller's invoices: a line per client it pays for, totals, what it still owes, its
    payments, the references waiting to be paid and, for a pending one, a boleto or a Pix code to generate."""
    invoice = invoice_search.customer_invoice(g.organisation, invoice_id) or abort(404)
    payments = history.invoice_payments(g.organisation, invoice)
    return render("reseller/payment/invoice.html", invoice=invoice,
                  pay=invoice_payments.payable(g.organisation, [invoice], cards=_can_pay(), payments=payments),
                  credit_notes=invoice_search.credit_notes_for(invoice, ISSUED_STATUSES),
                  payments=payments, refunds=refunds.refunds_among(payments),
                  key=secrets.token_urlsafe(16), can_pay=_can_pay())


@bp.get("/payment/invoices.csv")
def payment_invoices_csv():
    """Download every invoice of the reseller as CSV, amounts as plain decimals."""
    query = invoice_search.customer_invoices(g.organisation, InvoiceFilters())
    response = Response(stream_with_context(invoice_search.csv_lines(query, False)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={invoice_search.csv_filename()}"
    return response


@bp.get("/payment/invoices/<int:invoice_id>/pdf")
def payment_invoice_pdf(invoice_id: int):
    """Send one of the reseller's invoices as PDF."""
    invoice = invoice_search.customer_invoice(g.organisation, invoice_id, details=False) or abort(404)
    return pdf_response(invoice, inline=request.args.get("inline") == "1")


@bp.post("/payment/invoices/<int:invoice_id>/reference")
def payment_issue_reference(invoice_id: int):
    """Pay all that a pending invoice owes: issue a boleto, a Pix code, an OXXO reference or transfer details,
    or charge a card on file."""
    if not _can_pay():
        abort(403)
    invoice = invoice_search.customer_invoice(g.organisation, invoice_id, details=False) or abort(404)
    form = invoice_payments.PayInvoiceForm()
    back = url_for("reseller.payment")
    if not form.validate():
        flash(" ".join(str(error) for errors in form.errors.values() for error in errors), "error")
        return redirect_to(back)
    try:
        payment = invoice_payments.pay(g.organisation, invoice_id, form.method.data, form.key.data, cards=True)
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect_to(back)
    return redirect_to(invoice_payments.announce(payment, invoice, "reseller.payment_reference") or back)


@bp.get("/payment/references/<int:payment_id>")
def payment_reference(payment_id: int):
    """Show how to pay a reference issued for one of the reseller's invoices: line and barcode, QR, voucher."""
    found, invoice, sandbox_url = invoice_payments.reference_of(g.organisation, payment_id) or abort(404)
    return render("payments/reference.html", payment=found, invoice=invoice, sandbox_url=sandbox_url,
                  payment_state_labels=PAYMENT_STATE_LABELS, back=url_for("reseller.payment"),
                  back_label=_("← Payment"), pdf_endpoint="reseller.payment_invoice_pdf",
                  reissue=_("This reference can no longer be paid. Issue a new one from the Payment screen."))
