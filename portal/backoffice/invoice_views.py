"""The back office's invoices: every organisation's, filtered and paged, as CSV, one by one, and their PDFs.

Every staff role reads them (an advisor answers customers' questions about an invoice too).
"""

from flask import Response, abort, current_app, g, request, stream_with_context

from portal.backoffice.invoice_forms import StaffInvoiceFilterForm
from portal.backoffice.views import bp
from portal.downloads import pdf_response
from portal.htmx import render
from portal.pagination import page_of
from portal.routing import page_arg
from portal.services.billing import invoice_search


def _filter_form() -> StaffInvoiceFilterForm:
    return StaffInvoiceFilterForm(formdata=request.args, currencies=invoice_search.currencies_in_use())


def _timezone() -> str:
    return g.organisation.timezone or current_app.config["DEFAULT_TIMEZONE"]


def _list(form: StaffInvoiceFilterForm):
    filters = form.filters()
    query = invoice_search.staff_invoices(filters, _timezone())
    # No count: over a million invoices it costs more than "next page" tells.
    page = page_of(query, page_arg(), count=False)
    return render("backoffice/invoices.html", "invoices", status=422 if form.errors else 200, form=form,
                  filters=filters, page=page)


@bp.get("/invoices")
def invoices():
    """List every invoice and credit note, newest first, by status, currency, organisation and issue date."""
    return _list(_filter_form())


@bp.get("/invoices.csv")
def invoices_csv():
    """Download every invoice that matches the filters as CSV, amounts as plain decimals."""
    form = _filter_form()
    filters = form.filters()
    if form.errors:
        return _list(form)
    lines = stream_with_context(invoice_search.csv_lines(invoice_search.staff_invoices(filters, _timezone()), True))
    response = Response(lines, mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={invoice_search.csv_filename()}"
    return response


@bp.get("/invoices/<int:invoice_id>")
def invoice(invoice_id: int):
    """Show one invoice with its lines, installments, credit notes and kept PDF."""
    found = invoice_search.staff_invoice(invoice_id) or abort(404)
    return render("backoffice/invoice.html", invoice=found,
                  credit_notes=invoice_search.credit_notes_for(found), pdf=invoice_search.pdf_facts(found))


@bp.get("/invoices/<int:invoice_id>/pdf", endpoint="invoice_pdf")
def invoice_pdf_download(invoice_id: int):
    """Send the invoice's kept PDF (rendered now, once, if it never was)."""
    found = invoice_search.staff_invoice(invoice_id, details=False) or abort(404)
    if found.status == "draft":
        abort(404, description=invoice_search.DRAFT_HAS_NO_PDF)
    return pdf_response(found, inline=request.args.get("inline") == "1")
