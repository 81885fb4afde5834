"""Payments in the back office: an organisation's payments and wallet (pages, CSV), a refund of a payment (to its
method or to the wallet, confirmed before it is made), money received outside the portal recorded against an
invoice, and a wallet adjustment with its reason. Every staff role reads; administrators and billing staff act.
"""

import csv
import io
from datetime import UTC, datetime, time, timedelta

from flask import Response, abort, flash, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.backoffice.payment_forms import ReceivedPaymentForm, RefundForm, WalletAdjustmentForm, new_key
from portal.backoffice.views import bp
from portal.database import undo_writes, writing
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.i18n import format_money, to_major
from portal.labels import (
    PAYMENT_METHOD_LABELS,
    PAYMENT_STATE_LABELS,
    REFUND_DESTINATION_LABELS,
    REFUND_STATE_LABELS,
    WALLET_ENTRY_LABELS,
)
from portal.models import Invoice, Organisation, Payment
from portal.orm import utcnow
from portal.pagination import page_of
from portal.routing import page_arg
from portal.services.billing.amounts import parse_amount
from portal.services.errors import DomainError
from portal.services.payments import checkout, history, refunds, wallet
from portal.templating import payment_method_text
from portal.tenancy import roles
from portal.workflows import refunds as refund_flow

CASHIERS = ("admin", "billing")
OLDEST_RECEIVED = timedelta(days=366)


def _organisation(organisation_id: int) -> Organisation:
    org = db.session.get(Organisation, organisation_id)
    if org is None or org.kind == "vendor":
        abort(404)
    return org


def _open_invoices(org: Organisation) -> list[history.Payable]:
    return history.payable_invoices(org)


def _page(org: Organisation, received: ReceivedPaymentForm | None = None,
          adjustment: WalletAdjustmentForm | None = None, status: int = 200, error: str | None = None,
          error_form: str | None = None):
    open_invoices = _open_invoices(org)
    received = received or ReceivedPaymentForm(formdata=None, idempotency_key=new_key(),
                                               received_on=utcnow().date())
    received.invoice.choices = [(item.invoice.id, f"{item.invoice.display_number} · "
                                 f"{format_money(item.due, item.invoice.currency, str(get_locale()), org.country)}")
                                for item in open_invoices]
    adjustment = adjustment or WalletAdjustmentForm(formdata=None, idempotency_key=new_key())
    page = page_of(history.payments_of(org), page_arg(), count=False)
    block = "payments" if request.method == "GET" else None
    return render("backoffice/payments/organisation.html", block, status=status, org=org, page=page,
                  invoices=history.invoices_by_id(page.items), refunds=refunds.refunds_of(p.id for p in page.items),
                  balance=wallet.balance(org.id, org.currency), received=received, adjustment=adjustment,
                  open_invoices=open_invoices, error=error, error_form=error_form,
                  can_act=_can_act(), refundable=refunds.refundable)


def _can_act() -> bool:
    from flask import g

    return g.membership is not None and g.membership.role in CASHIERS


@bp.get("/organisations/<int:organisation_id>/payments")
def organisation_payments(organisation_id: int):
    """Show an organisation's payments (newest first, each with its refunds), its wallet's balance, and the
    forms to record money received and to adjust the wallet."""
    return _page(_organisation(organisation_id))


@bp.get("/organisations/<int:organisation_id>/payments.csv")
def organisation_payments_csv(organisation_id: int):
    """Download every payment of the organisation, with what was refunded of each."""
    org = _organisation(organisation_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Date"), _("Reference"), _("Method"), _("Status"), _("Amount"), _("Refunded"),
                     _("Currency"), _("Invoice")])
    payments = list(db.session.scalars(history.payments_of(org)))
    invoices = history.invoices_by_id(payments)
    for payment in payments:
        invoice = invoices.get(payment.invoice_id)
        writer.writerow([payment.created_at.date().isoformat(), payment.reference,
                         str(PAYMENT_METHOD_LABELS[payment.method_kind]), str(PAYMENT_STATE_LABELS[payment.state]),
                         to_major(payment.amount, payment.currency), to_major(payment.refunded_amount,
                                                                             payment.currency),
                         payment.currency, invoice.display_number if invoice is not None else ""])
    return _csv(out, f"payments-{org.id}.csv")


@bp.get("/organisations/<int:organisation_id>/wallet")
def organisation_wallet(organisation_id: int):
    """Show the organisation's wallet: its balance and every movement, newest first."""
    org = _organisation(organisation_id)
    page = page_of(wallet.movements(org.id, org.currency), page_arg())
    return render("backoffice/payments/wallet.html", "movements", org=org, page=page,
                  balance=wallet.balance(org.id, org.currency))


@bp.get("/organisations/<int:organisation_id>/wallet.csv")
def organisation_wallet_csv(organisation_id: int):
    """Download the wallet's movements, with each one's balance after it and its reason."""
    org = _organisation(organisation_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Date"), _("Movement"), _("Amount"), _("Balance"), _("Currency"), _("Reason")])
    for entry in db.session.scalars(wallet.movements(org.id, org.currency)):
        writer.writerow([entry.created_at.date().isoformat(), str(WALLET_ENTRY_LABELS[entry.kind]),
                         to_major(entry.amount, entry.currency), to_major(entry.balance_after, entry.currency),
                         entry.currency, entry.reason or ""])
    return _csv(out, f"wallet-{org.id}.csv")


def _csv(out: io.StringIO, filename: str) -> Response:
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response


@bp.post("/organisations/<int:organisation_id>/payments/record")
@roles(*CASHIERS)
def organisation_payment_record(organisation_id: int):
    """Record money received outside the portal (a transfer, a deposit, cash) against an open invoice."""
    org = _organisation(organisation_id)
    form = ReceivedPaymentForm()
    if not form.validate():
        return _page(org, received=form, status=422, error_form="received")
    invoice = db.session.get(Invoice, form.invoice.data) if form.invoice.data else None
    if invoice is None or invoice.organisation_id != org.id or invoice.kind != "invoice":
        form.invoice.errors = [_("Choose one of this organisation's pending invoices.")]
        return _page(org, received=form, status=422, error_form="received")
    today = utcnow()
    received_on = form.received_on.data
    if received_on > today.date() or received_on < (today - OLDEST_RECEIVED).date():
        form.received_on.errors = [_("Enter a date in the last twelve months, not in the future.")]
        return _page(org, received=form, status=422, error_form="received")
    when = today if received_on == today.date() else datetime.combine(received_on, time(12), UTC)
    try:
        with writing():
            amount = parse_amount(form.amount.data, invoice.currency, str(get_locale()))
            claim = checkout.record_received(org, invoice, amount, form.method.data, form.idempotency_key.data,
                                             when, actor=current_user._get_current_object(),
                                             payer_reference=form.reference.data)
            db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        return _page(org, received=form, status=refused.status if refused.status == 409 else 422,
                     error=str(refused.message), error_form="received")
    flash(_("Payment %(reference)s of %(amount)s recorded against invoice %(invoice)s.",
            reference=claim.payment.reference,
            amount=format_money(claim.payment.amount, claim.payment.currency, str(get_locale()), org.country),
            invoice=invoice.display_number), "success")
    return redirect_to(url_for("backoffice.organisation_payments", organisation_id=org.id))


@bp.post("/organisations/<int:organisation_id>/wallet/adjust")
@roles(*CASHIERS)
def organisation_wallet_adjust(organisation_id: int):
    """Adjust the wallet's balance up or down, with a reason; never below zero."""
    org = _organisation(organisation_id)
    form = WalletAdjustmentForm()
    if not form.validate():
        return _page(org, adjustment=form, status=422, error_form="adjustment")
    key = form.idempotency_key.data
    try:  # an amount that can't be read is refused before anything is written (nothing to roll back)
        amount = parse_amount(form.amount.data, org.currency, str(get_locale()))
        if amount == 0:
            raise DomainError(_("Enter an amount other than zero."), code="invalid_amount", field="amount")
    except DomainError as refused:
        undo_writes()
        return _page(org, adjustment=form, status=422, error=str(refused.message), error_form="adjustment")
    signed = amount if form.direction.data == "add" else -amount
    try:
        with writing():
            wallet.adjust(org, signed, form.reason.data, utcnow(), current_user._get_current_object(), key=key)
            db.session.commit()
    except DomainError as refused:
        db.session.rollback()
        return _page(org, adjustment=form, status=refused.status if refused.status == 409 else 422,
                     error=str(refused.message), error_form="adjustment")
    flash(_("The wallet's balance is now %(balance)s.",
            balance=format_money(wallet.balance(org.id, org.currency), org.currency, str(get_locale()),
                                 org.country)), "success")
    return redirect_to(url_for("backoffice.organisation_payments", organisation_id=org.id))


def _payment(payment_id: int) -> Payment:
    return db.session.get(Payment, payment_id) or abort(404)


def _refund_page(payment: Payment, form: RefundForm, status: int = 200, error: str | None = None,
                 confirming: bool = False, amount: int | None = None):
    org = db.session.get(Organisation, payment.organisation_id)
    invoice = db.session.get(Invoice, payment.invoice_id) if payment.invoice_id is not None else None
    return render("backoffice/payments/refund.html", status=status, payment=payment, org=org, invoice=invoice,
                  form=form, error=error, confirming=confirming, amount=amount,
                  refundable=refunds.refundable(payment), refunds=refunds.refunds_of([payment.id]).get(payment.id, []),
                  refund_state_labels=REFUND_STATE_LABELS, destination_labels=REFUND_DESTINATION_LABELS,
                  destination_text=next((str(c.label) for c in form.destination.choices
                                         if c.value == form.destination.data), ""))


def _refund_form(payment: Payment, **kwargs) -> RefundForm:
    form = RefundForm(**kwargs)
    form.set_destinations(refunds.destinations(payment), payment_method_text(payment))
    return form


@bp.route("/payments/<int:payment_id>/refund", methods=["GET", "POST"])
@roles(*CASHIERS)
def payment_refund(payment_id: int):
    """Refund all or part of a payment: the amount and where it goes, then a confirmation, then the refund
    (a credit note against its invoice; through the gateway for the method, at once for the wallet)."""
    payment = _payment(payment_id)
    if request.method == "GET":
        form = _refund_form(payment, formdata=None, idempotency_key=new_key())
        left = refunds.refundable(payment)
        if left:
            form.amount.data = str(to_major(left, payment.currency))
        form.destination.data = refunds.destinations(payment)[0]
        return _refund_page(payment, form)
    form = _refund_form(payment)
    if not form.validate():
        return _refund_page(payment, form, 422)
    try:
        amount = parse_amount(form.amount.data, payment.currency, str(get_locale()))
        if form.confirmed.data != "1":
            _check_refund(payment, amount, form.destination.data)
            form.confirmed.data = "1"
            return _refund_page(payment, form, confirming=True, amount=amount)
        payment_id, key, destination, reason = payment.id, form.idempotency_key.data, form.destination.data, \
            form.reason.data
        actor = current_user._get_current_object()

        def claim():
            return refunds.claim_refund(db.session.get(Payment, payment_id), amount, destination, key, utcnow(),
                                        reason=reason, actor=actor)

        refund = refund_flow.refund(claim, utcnow(), current_user.id)
    except DomainError as refused:
        db.session.rollback()
        form.confirmed.data = ""
        return _refund_page(_payment(payment_id), form, refused.status if refused.status == 409 else 422,
                            str(refused.message))
    if refund.state == "failed":
        flash(_("The payment provider refused the refund %(reference)s: nothing was refunded.",
                reference=refund.reference), "error")
    else:
        flash(_("Refund %(reference)s of %(amount)s made: credit note issued.", reference=refund.reference,
                amount=format_money(refund.amount, refund.currency, str(get_locale()),
                                    db.session.get(Organisation, refund.organisation_id).country)), "success")
    return redirect_to(url_for("backoffice.organisation_payments", organisation_id=refund.organisation_id))


def _check_refund(payment: Payment, amount: int, destination: str) -> None:
    """Refuse before the confirmation what the refund itself would refuse (nothing is written)."""
    left = refunds.refundable(payment)
    if payment.state != "succeeded" or payment.purpose != "invoice":
        raise DomainError(_("Only a payment of an invoice that was received can be refunded."), status=409)
    if left <= 0:
        raise DomainError(_("This payment was already refunded in full."), status=409)
    if amount <= 0:
        raise DomainError(_("Enter the amount to refund, more than zero."))
    if amount > left:
        raise DomainError(_("This is more than was paid and not yet refunded. Refund at most %(left)s.",
                            left=format_money(left, payment.currency, str(get_locale()),
                                             db.session.get(Organisation, payment.organisation_id).country)))
    if destination not in refunds.destinations(payment):
        raise DomainError(_("This payment's method cannot take money back. Refund it to the wallet."))
