"""Paying one invoice from the screens of the organisation it bills, shared by the reseller's Payment screen and
the license partner's invoices: what each invoice of a page still owes and how it may be paid, a reference
(boleto, Pix, OXXO, transfer) issued for all it owes or, where cards are offered, all it owes charged to a card
on file, and the page that says how to pay a reference. (The customer pays from its own checkout.)"""

from dataclasses import dataclass, field

from flask import flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import HiddenField
from wtforms.validators import Length

from portal.extensions import db
from portal.forms import FlaskForm, Required
from portal.labels import PAYMENT_FAILURE_LABELS, PAYMENT_METHOD_LABELS
from portal.models import Invoice, Organisation, Payment, PaymentMethod
from portal.orm import utcnow
from portal.routing import fits
from portal.services.billing import credit_notes, invoice_search
from portal.services.errors import DomainError
from portal.services.payments import checkout, methods, settlement
from portal.services.payments.offline import paying, sandbox_bank
from portal.services.payments.offline.gateways import offered_kinds_by_currency
from portal.templating import money
from portal.workflows import payments as payment_flow

CARD = "card:"  # a method chosen as "card:<id of a card on file>"


class PayInvoiceForm(FlaskForm):
    """How to pay one invoice: an offline kind (boleto, Pix, OXXO, transfer) or "card:<id>"."""

    method = HiddenField(validators=[Required(_l("Choose how to pay.")), Length(max=24)])
    # One per form shown: a double click or a resent form issues one reference (or charges once).
    key = HiddenField(validators=[Required(_l("This payment form is no longer valid. Reload the page and try "
                                              "again.")), Length(max=100)])


@dataclass
class Payable:
    """What a page of invoices shows to pay them: each one's amount due, the offline kinds offered for it, the
    references waiting, and the cards on file that may pay it."""

    due: dict[int, int]
    offered: dict[int, list[str]]
    waiting: dict[int, list[Payment]]
    cards: list[PaymentMethod]
    kinds: dict[str, list[str]]  # the offline kinds offered in each currency of the page (and those asked for)
    labels: dict = field(default_factory=lambda: PAYMENT_METHOD_LABELS)


def usable_cards(org: Organisation, on_file: list[PaymentMethod] | None = None) -> list[PaymentMethod]:
    """The organisation's cards that can be charged now (not expired, failing or removed), of `on_file` when the
    caller has read its methods already."""
    found = methods.methods_of(org) if on_file is None else on_file
    return [method for method in found if method.state == "active" and method.kind == "card"]


def payable(org: Organisation, invoices: list[Invoice], cards: bool = False, currencies=(),
            on_file: list[PaymentMethod] | None = None, payments: list[Payment] | None = None) -> Payable:
    """What these invoices of `org` owe and how each may be paid (with its cards on file when `cards`: those of
    `on_file` when the caller read them); the offline kinds of `currencies` too, read in the same statement as
    the invoices'. An invoice's page that lists its `payments` has read the references waiting among them."""
    due = paying.amounts_due(invoices)
    kinds = offered_kinds_by_currency(org.country, {*currencies, *(invoice.currency for invoice in invoices)})
    owing = [invoice.id for invoice in invoices if due[invoice.id]]
    if payments is None:
        waiting = paying.waiting_for(owing)
    else:
        waiting = {}
        for pending in paying.waiting_among([p for p in payments if p.invoice_id in owing]):
            waiting.setdefault(pending.invoice_id, []).append(pending)
    return Payable(due, paying.offered_for(org, invoices, due, kinds), waiting,
                   usable_cards(org, on_file) if cards and any(due.values()) else [], kinds)


def pay(org: Organisation, invoice_id: int, method: str, key: str, cards: bool = False) -> Payment:
    """Pay all that one of `org`'s invoices still owes by `method` (an offline kind, or "card:<id>" when
    `cards`), once per `key`. Refuses before writing anything: another's or an unknown invoice (404), one with
    nothing left to pay (409), a method not offered for it (422). Returns the payment as its gateway left it."""
    invoice = invoice_search.customer_invoice(org, invoice_id, details=False)
    if invoice is None or invoice.kind != "invoice":
        raise DomainError(_("This invoice is not yours to pay."), code="not_found", status=404)
    earlier = checkout.find_by_key(org.id, key) if key else None
    if earlier is not None and earlier.invoice_id == invoice.id and _asked_for(earlier, method):
        return earlier  # the same form sent again (a double click, a retry): its payment, however it stands
    due = credit_notes.amount_due(invoice)
    if invoice.status != "open" or due <= 0:
        raise DomainError(_("This invoice has nothing left to pay."), code="nothing_due", status=409)
    card = _card(org, method) if cards and method.startswith(CARD) else None
    if card is None and method not in paying.offered(org, invoice, due):
        raise DomainError(_("This payment method is not offered for this invoice."), code="method_not_offered",
                          field="method")
    actor, now = current_user._get_current_object(), utcnow()

    def claim():
        fresh = db.session.get(Invoice, invoice_id)
        if card is None:
            return [paying.claim(org, fresh, method, key, now, actor=actor)]
        return [checkout.claim_invoice_payment(org, fresh, settlement.payable(fresh), "card", key, now,
                                               payment_method=card, actor=actor)]

    [payment] = payment_flow.pay(claim, now, actor.id)
    return payment


def announce(payment: Payment, invoice: Invoice, reference_endpoint: str) -> str | None:
    """After `pay`: the page of a reference issued (`reference_endpoint`, to redirect to), or None once what
    became of the payment is flashed — a card's charge received, being confirmed or declined and why, a
    reference the method could not issue now."""
    amount, number = money(payment.amount, payment.currency), invoice.display_number
    if payment.method_kind != "card":
        if payment.state == "pending":
            return url_for(reference_endpoint, payment_id=payment.id)
        flash(_("This payment method could not issue a reference now. Choose another one or try again later."),
              "error")
    elif payment.state == "succeeded":
        flash(_("Payment of %(amount)s received for invoice %(number)s. Thank you!", amount=amount, number=number),
              "success")
    elif payment.state == "processing":
        flash(_("The payment of %(amount)s for invoice %(number)s is being confirmed by the card's bank; it shows "
                "here as paid as soon as it is.", amount=amount, number=number), "info")
    else:
        reason = PAYMENT_FAILURE_LABELS.get(payment.failure_code or "", PAYMENT_FAILURE_LABELS["card_declined"])
        flash(_("The payment of %(amount)s for invoice %(number)s was not made: %(reason)s", amount=amount,
                number=number, reason=reason), "error")
    return None


def _asked_for(payment: Payment, method: str) -> bool:
    """Whether `payment` is what the form's `method` asks for: by that card on file, or by that offline kind."""
    if method.startswith(CARD):
        return payment.method_kind == "card" and str(payment.payment_method_id) == method.removeprefix(CARD)
    return payment.method_kind == method


def _card(org: Organisation, method: str) -> PaymentMethod | None:
    raw = method.removeprefix(CARD)
    card = methods.method_of(org, int(raw)) if raw.isdigit() and fits(int(raw)) else None
    return card if card is not None and card in usable_cards(org) else None


def reference_of(org: Organisation, payment_id: int) -> tuple[Payment, Invoice | None, str | None] | None:
    """One of `org`'s references with instructions, its invoice, and the sandbox bank's page to pay it (when
    the sandbox bank is on); None for anyone else's or a payment without instructions."""
    found = paying.payment_of(org, payment_id)
    if found is None or not found.instructions:
        return None
    invoice = db.session.get(Invoice, found.invoice_id) if found.invoice_id is not None else None
    sandbox_url = url_for("sandbox_bank.pay", code=paying.code_of(found)) if sandbox_bank.enabled() else None
    return found, invoice, sandbox_url
