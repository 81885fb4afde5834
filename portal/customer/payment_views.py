"""The customer's payments ("Pagar en línea"): pay open invoices by card or wallet, the payment history (pages,
CSV) and each payment's receipt."""

from flask import Response, abort, flash, g, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.customer.payment_forms import MAX_INVOICES_AT_ONCE, PayForm, method_choices, new_key
from portal.customer.views import bp
from portal.database import writing
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.labels import PAYMENT_FAILURE_LABELS
from portal.models import Organisation
from portal.orm import utcnow
from portal.pagination import page_of
from portal.routing import fits, page_arg
from portal.services.billing.amounts import parse_amount
from portal.services.errors import DomainError
from portal.services.payments import checkout, history, methods, refunds, wallet
from portal.templating import money
from portal.workflows import payments as payment_flow


def _pay_page(form: PayForm, status: int = 200, error: str | None = None, chosen: set[int] | None = None):
    org = g.organisation
    payables = history.payable_invoices(org)
    balance = wallet.balance(org.id, org.currency)
    choices = method_choices(methods.methods_of(org), balance, lambda amount: money(amount, org.currency))
    if chosen is None:
        asked = request.args.get("invoice", type=int)
        chosen = {asked} if asked else ({payables[0].invoice.id} if len(payables) == 1 else set())
    typed = {key: value for key, value in request.form.items() if key.startswith("amount-")}
    return render("customer/pay.html", "pay_form", status=status, form=form, payables=payables, chosen=chosen,
                  typed=typed, choices=choices, error=error, balance=balance,
                  resellers=history.paying_resellers(org))


@bp.route("/pay", methods=["GET", "POST"])
def pay():
    """Show the open invoices with what is left to pay, and pay one or several by card or from the wallet."""
    form = PayForm()
    if request.method == "POST":
        chosen = _chosen_ids()
        if not form.validate():
            return _pay_page(form, 422, chosen=chosen)
        try:
            payments = _pay(g.organisation, form, chosen)
        except DomainError as refused:
            db.session.rollback()
            return _pay_page(form, refused.status if refused.status in (404, 409) else 422, str(refused.message),
                             chosen)
        for payment, invoice in payments:
            _announce(payment, invoice)
        return redirect_to(url_for("customer.payments"))
    form.idempotency_key.data = new_key()
    return _pay_page(form)


def _chosen_ids() -> set[int]:
    chosen = set()
    for raw in request.form.getlist("invoice")[:MAX_INVOICES_AT_ONCE + 1]:
        if raw.isdigit() and fits(int(raw)):
            chosen.add(int(raw))
    return chosen


def _pay(org: Organisation, form: PayForm, chosen: set[int]):
    if not chosen:
        raise DomainError(_("Choose at least one invoice to pay."), field="invoice")
    if len(chosen) > MAX_INVOICES_AT_ONCE:
        raise DomainError(_("Pay at most %(max)d invoices at once.", max=MAX_INVOICES_AT_ONCE), field="invoice")
    locale, now, key = str(get_locale()), utcnow(), form.idempotency_key.data
    wanted = []
    for invoice_id in sorted(chosen):
        invoice = history.payable_invoice(org, invoice_id)
        if invoice is None:
            raise DomainError(_("This invoice is not yours to pay."), status=404)
        wanted.append((invoice.id, parse_amount(request.form.get(f"amount-{invoice_id}"), invoice.currency, locale)))
    method = form.method.data
    if method == "wallet":
        with writing():
            claims = [checkout.pay_from_wallet(org, history.payable_invoice(org, invoice_id), amount,
                                               f"{key}:{invoice_id}", now, actor=current_user._get_current_object())
                      for invoice_id, amount in wanted]
            paid = [(c.payment, history.payable_invoice(org, c.payment.invoice_id)) for c in claims]
            db.session.commit()
        return paid
    card_id = method.removeprefix("card:")
    card = methods.method_of(org, int(card_id)) if card_id.isdigit() and fits(int(card_id)) else None
    user_id, org_id = current_user.id, org.id

    def claim():
        payer = db.session.get(Organisation, org_id)
        return [checkout.claim_invoice_payment(payer, history.payable_invoice(payer, invoice_id), amount, "card",
                                               f"{key}:{invoice_id}", now, payment_method=card,
                                               actor=current_user._get_current_object())
                for invoice_id, amount in wanted]

    paid = payment_flow.pay(claim, now, user_id)
    return [(payment, history.payable_invoice(g.organisation, payment.invoice_id)) for payment in paid]


def _announce(payment, invoice) -> None:
    amount, number = money(payment.amount, payment.currency), invoice.display_number
    if payment.state == "succeeded":
        flash(_("Payment of %(amount)s received for invoice %(number)s. Thank you!", amount=amount, number=number),
              "success")
    elif payment.state == "processing":
        flash(_("The payment of %(amount)s for invoice %(number)s is being confirmed by the card's bank; it shows "
                "here as paid as soon as it is.", amount=amount, number=number), "info")
    elif payment.state == "failed":
        reason = PAYMENT_FAILURE_LABELS.get(payment.failure_code or "", PAYMENT_FAILURE_LABELS["card_declined"])
        flash(_("The payment of %(amount)s for invoice %(number)s was not made: %(reason)s", amount=amount,
                number=number, reason=reason), "error")


def announce_top_up(payment) -> None:
    amount = money(payment.amount, payment.currency)
    if payment.state == "succeeded":
        flash(_("%(amount)s were added to your wallet.", amount=amount), "success")
    elif payment.state == "processing":
        flash(_("%(amount)s will be added to your wallet as soon as the card's bank confirms the payment.",
                amount=amount), "info")
    else:
        reason = PAYMENT_FAILURE_LABELS.get(payment.failure_code or "", PAYMENT_FAILURE_LABELS["card_declined"])
        flash(_("No funds were added: %(reason)s", reason=reason), "error")


def _history(block: str | None = None):
    org = g.organisation
    page = page_of(history.payments_of(org), page_arg())
    payments = page.items
    return render("customer/payments.html", block, page=page, invoices=history.invoices_by_id(payments),
                  polling=history.has_processing(payments))


@bp.get("/payments")
def payments():
    """List every payment of the organisation, newest first: date, method, reference, amount, invoice, state."""
    return _history("payments")


@bp.get("/payments.csv")
def payments_csv():
    """Download every payment as CSV, amounts as plain decimals."""
    org = g.organisation
    lines = stream_with_context(history.csv_lines(org, org.timezone))
    response = Response(lines, mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={history.csv_filename(utcnow())}"
    return response


@bp.get("/payments/<int:payment_id>")
def payment(payment_id: int):
    """Show one payment's receipt, to print."""
    found = history.payment_of(g.organisation, payment_id) or abort(404)
    invoice = history.invoices_by_id([found]).get(found.invoice_id)
    return render("customer/payment.html", payment=found, invoice=invoice,
                  refunds=refunds.refunds_of([found.id]).get(found.id, []))
