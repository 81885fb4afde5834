"""The reseller's Payment screen ("Pagamento"): the invoices of the clients it pays for, paid and pending, a boleto,
a Pix code (or what else its country offers) issued for a pending one and printed, and how it pays. Managers
issue references; accountants read.
"""

import secrets

from flask import Response, abort, flash, g, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.downloads import pdf_response
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.labels import PAYMENT_METHOD_LABELS, PAYMENT_STATE_LABELS
from portal.models import Invoice, Payment
from portal.models.offline import OFFLINE_KINDS
from portal.orm import utcnow
from portal.pagination import page_of
from portal.reseller.payment_forms import IssueReferenceForm
from portal.reseller.views import bp
from portal.routing import page_arg
from portal.services.billing import credit_notes, invoice_search
from portal.services.billing.invoice_search import InvoiceFilters
from portal.services.errors import DomainError
from portal.services.payments import history, methods
from portal.services.payments.offline import paying, sandbox_bank
from portal.workflows import payments as payment_flow

MANAGERS = ("manager",)


def _can_pay() -> bool:
    return g.membership is not None and g.membership.role in MANAGERS


@bp.get("/payment")
def payment():
    """Show the reseller's invoices (paid and pending) with what each still owes, a reference to issue for a
    pending one, the references waiting to be paid, and its payment methods."""
    org = g.organisation
    page = page_of(invoice_search.customer_invoices(org, InvoiceFilters()), page_arg(), count=False)
    due = _amounts_due(page.items)
    kinds_by_currency = {currency: paying.offered_kinds(org.country, currency)
                         for currency in {invoice.currency for invoice in page.items}}
    offered = {invoice.id: kinds_by_currency[invoice.currency] if due[invoice.id] else [] for invoice in page.items}
    waiting = _waiting([invoice.id for invoice in page.items if due[invoice.id]])
    return render("reseller/payment/index.html", "invoices", page=page, due=due, offered=offered, waiting=waiting,
                  key=secrets.token_urlsafe(16), can_pay=_can_pay(),
                  cards=[card for card in methods.methods_of(org) if card.state != "removed"],
                  kinds=paying.offered_kinds(org.country, org.currency), method_labels=PAYMENT_METHOD_LABELS,
                  payments_page=page_of(history.payments_of(org), 1, per_page=10, count=False),
                  payment_state_labels=PAYMENT_STATE_LABELS)


def _amounts_due(invoices: list[Invoice]) -> dict[int, int]:
    """What each invoice of the page still owes, in one query (credit_notes.amount_due's rule)."""
    due = dict.fromkeys((invoice.id for invoice in invoices), 0)
    open_ids = [invoice.id for invoice in invoices if invoice.kind == "invoice" and invoice.status == "open"]
    if open_ids:
        for invoice_id, left in db.session.execute(db.select(Invoice.id, credit_notes.left_to_pay())
                                                   .where(Invoice.id.in_(open_ids))):
            due[invoice_id] = max(int(left or 0), 0)
    return due


def _waiting(invoice_ids: list[int]) -> dict[int, list[Payment]]:
    """The references issued for these invoices that still wait to be paid, in one query."""
    found: dict[int, list[Payment]] = {}
    if invoice_ids:
        for pending in db.session.scalars(db.select(Payment).where(
                Payment.invoice_id.in_(invoice_ids), Payment.state == "pending",
                Payment.method_kind.in_(OFFLINE_KINDS)).order_by(Payment.id)):
            found.setdefault(pending.invoice_id, []).append(pending)
    return found


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
    """Issue a boleto, a Pix code, an OXXO reference or transfer details for all that a pending invoice owes."""
    if not _can_pay():
        abort(403)
    invoice = invoice_search.customer_invoice(g.organisation, invoice_id, details=False) or abort(404)
    form = IssueReferenceForm()
    back = url_for("reseller.payment")
    if not form.validate():
        flash(" ".join(str(error) for errors in form.errors.values() for error in errors), "error")
        return redirect_to(back)
    if form.method.data not in paying.offered(g.organisation, invoice):
        flash(_("This payment method is not offered for this invoice."), "error")
        return redirect_to(back)
    org, kind, key = g.organisation, form.method.data, form.key.data
    actor = current_user._get_current_object()

    def claim():
        return [paying.claim(org, db.session.get(Invoice, invoice_id), kind, key, utcnow(), actor=actor)]

    try:
        [issued] = payment_flow.pay(claim, utcnow(), current_user.id)
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect_to(back)
    if issued.state != "pending":
        flash(_("This payment method could not issue a reference now. Choose another one or try again later."),
              "error")
        return redirect_to(back)
    return redirect_to(url_for("reseller.payment_reference", payment_id=issued.id))


@bp.get("/payment/references/<int:payment_id>")
def payment_reference(payment_id: int):
    """Show how to pay a reference issued for one of the reseller's invoices: line and barcode, QR, voucher."""
    found = paying.payment_of(g.organisation, payment_id)
    if found is None or not found.instructions:
        abort(404)
    invoice = db.session.get(Invoice, found.invoice_id) if found.invoice_id is not None else None
    sandbox_url = url_for("sandbox_bank.pay", code=_code(found)) if sandbox_bank.enabled() else None
    return render("reseller/payment/reference.html", payment=found, invoice=invoice, sandbox_url=sandbox_url,
                  payment_state_labels=PAYMENT_STATE_LABELS)


def _code(found) -> str:
    """What a payer would type or paste into their bank for this reference."""
    data = found.instructions
    return data.get("code") or data.get("line") or data.get("number") or data.get("reference") or ""
