"""Suspending with the refund in the wallet: an annual subscription suspended now is credited its whole unused
months (services/billing/subscriptions/suspension.py), and what of that credit the customer had already paid
goes back to its wallet at once, in the same transaction.

The money is taken back from the credited invoice's payments that succeeded, newest first, each a refund to
the wallet (`Refund`, backed by the suspension's credit note) so that what the invoice was paid, net of
refunds, plus what it was credited never exceeds its total — a partly paid invoice is not settled for more
than it still owed. What no payment covers (an invoice settled by hand) goes to the wallet too. A credit
note of a paid invoice, owed back until now, is then paid out. Suspending twice is refused, so the refund
appears once.
"""

from datetime import datetime

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Invoice, Organisation, Payment, PaymentMethod, Refund, Subscription
from portal.models.payments import REFUND_DESTINATIONS
from portal.services import audit
from portal.services.billing import invoicing
from portal.services.billing import subscriptions as subs
from portal.services.errors import DomainError
from portal.services.payments import refunds, wallet


def refund_cards(sub: Subscription) -> list[PaymentMethod]:
    """The cards that paid the subscription's invoices and can take money back through their gateway: a
    suspension may return what was paid to them instead of the wallet."""
    found = {}
    payments = list(db.session.scalars(
        db.select(Payment).join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.subscription_id == sub.id, Invoice.kind == "invoice", Payment.state == "succeeded",
               Payment.purpose == "invoice", Payment.method_kind == "card", Payment.payment_method_id.is_not(None))
        .order_by(Payment.id.desc())))
    refundable = refunds.refundable_of(payments)
    for payment in payments:
        if refundable[payment.id] > 0 and refunds.can_refund_to_method(payment):
            found.setdefault(payment.payment_method_id, db.session.get(PaymentMethod, payment.payment_method_id))
    return [card for card in found.values() if card is not None]


def suspend(sub: Subscription, now: datetime, actor=None, destination: str = "wallet") -> Subscription:
    """Suspend `sub` (see subscriptions.suspend), what was already paid of the refund going back to the wallet,
    or to the cards that paid it (`destination` "method": claimed here, asked of the gateway once this
    transaction commits — `waiting_refunds` — and given to the wallet should the gateway refuse it)."""
    if destination not in REFUND_DESTINATIONS:
        raise DomainError(_l("Choose where the money goes back to."), code="invalid_destination",
                          field="destination")
    return subs.suspend(sub, now, actor=actor,
                        give_back=refund_to_method if destination == "method" else refund_to_wallet)


def waiting_refunds(sub: Subscription) -> list[int]:
    """The refunds to cards of the subscription's credit notes still waiting for their gateway."""
    notes = db.select(Invoice.id).where(Invoice.subscription_id == sub.id, Invoice.kind == "credit_note")
    return list(db.session.scalars(db.select(Refund.id).where(
        Refund.organisation_id == sub.organisation_id, Refund.state == "processing",
        Refund.credit_note_id.in_(notes)).order_by(Refund.id)))


def _reason(locale: str, note: Invoice, suspension: bool) -> str:
    with force_locale(locale):
        if suspension:
            return gettext("suspension, credit note %(number)s", number=note.display_number)
        return gettext("Credit note %(number)s", number=note.display_number)


def refund_to_wallet(invoice: Invoice, note: Invoice, amount: int, now: datetime, actor=None,
                     suspension: bool = True) -> int:
    """Give `amount` of credit note `note` (of `invoice`) back to the payer's wallet (the movement says whether a
    suspension made it). Returns what was given."""
    org = db.session.get(Organisation, invoice.organisation_id)
    wallet.lock_payer(org.id)
    reason = _reason(invoice.locale, note, suspension)
    left = amount
    payments = list(db.session.scalars(db.select(Payment).where(
        Payment.invoice_id == invoice.id, Payment.state == "succeeded", Payment.purpose == "invoice")
        .order_by(Payment.id.desc())))
    refundable = refunds.refundable_of(payments)
    for payment in payments:
        part = min(left, refundable[payment.id])
        if part <= 0:
            continue
        refunds.to_wallet(payment, invoice, org, part, now, key=f"credit-note:{note.id}:{payment.id}", reason=reason,
                          credit_note_id=note.id, created_by_id=actor.id if actor is not None else None, actor=actor)
        left -= part
        if left == 0:
            break
    if left > 0:
        wallet.add_entry(org, "refund_in", left, now, currency=invoice.currency, invoice=invoice, reason=reason,
                         actor=actor)
    if note.status == "open":
        invoicing.settle(note, now)
    db.session.flush()
    audit.record("credit_refunded_to_wallet", actor=actor, organisation=org, obj=note,
                 details={"invoice_id": invoice.id, "amount": amount, "currency": invoice.currency})
    return amount


def excess_to_wallet(invoice: Invoice, note: Invoice, amount: int, now: datetime, actor=None) -> int:
    """What a credit note (a cancellation's, the sweep's leftover credits) gives back beyond what its open invoice
    still owed, to the wallet."""
    return refund_to_wallet(invoice, note, amount, now, actor, suspension=False)


def refund_to_method(invoice: Invoice, note: Invoice, amount: int, now: datetime, actor=None) -> int:
    """Give `amount` of credit note `note` back to the cards that paid `invoice`, newest payment first: a
    refund of each, "processing" until its gateway answers (refunds.record_result: the note is already
    issued, so none is issued again). What no card can take goes to the wallet at once."""
    org = db.session.get(Organisation, invoice.organisation_id)
    wallet.lock_payer(org.id)
    reason = _reason(invoice.locale, note, True)
    left = amount
    payments = list(db.session.scalars(db.select(Payment).where(
        Payment.invoice_id == invoice.id, Payment.state == "succeeded", Payment.purpose == "invoice",
        Payment.method_kind == "card").order_by(Payment.id.desc())))
    refundable = refunds.refundable_of(payments)
    for payment in payments:
        part = min(left, refundable[payment.id])
        if part <= 0 or not refunds.can_refund_to_method(payment):
            continue
        db.session.add(Refund(organisation_id=org.id, payment_id=payment.id, invoice_id=invoice.id,
                              credit_note_id=note.id, amount=part, currency=payment.currency, destination="method",
                              state="processing", reference=refunds.new_reference(),
                              idempotency_key=f"credit-note:{note.id}:{payment.id}", reason=reason,
                              created_by_id=actor.id if actor is not None else None, created_at=now))
        db.session.flush()
        left -= part
        if left == 0:
            break
    if left < amount:
        if note.status == "open":
            invoicing.settle(note, now)  # paid out: to the cards, or to the wallet should a card refuse it
        db.session.flush()
        audit.record("credit_refunded_to_method", actor=actor, organisation=org, obj=note,
                     details={"invoice_id": invoice.id, "amount": amount - left, "currency": invoice.currency})
    if left > 0:
        refund_to_wallet(invoice, note, left, now, actor)
    return amount
