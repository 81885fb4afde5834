"""The customer's invoices: the list (filter, pages, CSV), one invoice, and its PDF."""

from flask import Response, abort, g, request, stream_with_context

from portal.customer.invoice_forms import InvoiceFilterForm
from portal.customer.offline_views import pay_panel
from portal.customer.views import bp
from portal.downloads import pdf_response
from portal.htmx import render
from portal.pagination import page_of
from portal.routing import page_arg
from portal.services.billing import invoice_search
from portal.services.billing.invoicing import ISSUED_STATUSES
from portal.services.payments import history, refunds, settlement


def _filter_form() -> InvoiceFilterForm:
    return InvoiceFilterForm(formdata=request.args)


def _list(form: InvoiceFilterForm):
    filters = form.filters()
    query = invoice_search.customer_invoices(g.organisation, filters)
    page = page_of(query, page_arg())
    return render("customer/invoices.html", "invoices", status=422 if form.errors else 200, form=form,
                  filters=filters, page=page, resellers=history.paying_resellers(g.organisation))


@bp.get("/invoices")
def invoices():
    """List the organisation's invoices and credit notes, newest first, filtered by status."""
    return _list(_filter_form())


@bp.get("/invoices.csv")
def invoices_csv():
    """Download the filtered list as CSV (every page), amounts as plain decimals."""
    form = _filter_form()
    filters = form.filters()
    if form.errors:
        return _list(form)
    query = invoice_search.customer_invoices(g.organisation, filters)
    lines = stream_with_context(invoice_search.csv_lines(query, staff=False))
    response = Response(lines, mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={invoice_search.csv_filename()}"
    return response


@bp.get("/invoices/<int:invoice_id>")
def invoice(invoice_id: int):
    """Show one invoice: its lines, taxes, totals and installments, to print or download."""
    found = invoice_search.customer_invoice(g.organisation, invoice_id) or abort(404)
    notes = invoice_search.credit_notes_for(found, ISSUED_STATUSES)
    payments = history.invoice_payments(g.organisation, found)
    return render("customer/invoice.html", invoice=found, credit_notes=notes, payments=payments,
                  refunds=refunds.refunds_among(payments),
                  due=settlement.payable_from(found, payments, notes),
                  pay_offline=pay_panel(found, settlement.payable_from(found, payments, notes, reserved=False),
                                        payments))


@bp.get("/invoices/<int:invoice_id>/pdf", endpoint="invoice_pdf")
def invoice_pdf_download(invoice_id: int):
    """Send the invoice's PDF as it was kept at issue (rendered now, once, if it never was)."""
    found = invoice_search.customer_invoice(g.organisation, invoice_id, details=False) or abort(404)
    return pdf_response(found, inline=request.args.get("inline") == "1")
