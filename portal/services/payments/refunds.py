"""Refunds: money of a payment given back, all of it or a part, to the method it was paid with (through its
gateway) or to the payer's wallet — once per idempotency key, never more than the payment brought in.

A refund is backed by a credit note against the invoice the payment paid, so the invoice's amount due follows:
a refund of a paid invoice leaves it paid with that much credited; a refund of part of what was paid on an
open invoice credits it, the rest still due. A refund to the wallet is done at once. One to the method is
claimed first (`claim_refund`, "processing": it holds its amount of the payment), its transaction committed
before the gateway is asked (`portal.workflows.refunds`), and what the gateway answered is then recorded
(`record_result`): a success issues the credit note and counts the money as refunded, a failure frees it.
A refund's reference is its gateway's idempotency key: one claimed and never asked (the process stopped in
between) or whose answer was lost is asked again by a periodic job (`unasked_refunds`), and the money goes
back once.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.i18n import format_money
from portal.models import Invoice, Organisation, Payment, Refund
from portal.models.payments import REFUND_DESTINATIONS
from portal.services import audit
from portal.services.billing import credit_notes, invoicing
from portal.services.billing.invoicing import MAX_AMOUNT
from portal.services.errors import DomainError
from portal.services.payments import gateway as gateways
from portal.services.payments import wallet
from portal.services.payments.checkout import MAX_KEY, REFERENCE_ALPHABET, UNASKED_AFTER, WALLET_GATEWAY

MAX_REASON = 300


@dataclass(frozen=True)
class RefundClaim:
    refund: Refund
    created: bool  # False: the key had already made this refund


def new_reference() -> str:
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"REF-{chars[:4]}-{chars[4:]}"


def held(payment: Payment) -> int:
    """What refunds of `payment` still waiting for the gateway hold of it."""
    return db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(Refund.amount), 0))
        .where(Refund.payment_id == payment.id, Refund.state == "processing")) or 0


def refundable(payment: Payment) -> int:
    """What can still be refunded of a payment: what it brought in, less what was refunded or is being."""
    return _left(payment, held(payment))


def refundable_of(payments) -> dict[int, int]:
    """`refundable` of each payment (by id), what refunds still hold of them read in one query for all."""
    payments = list(payments)
    holding = dict(db.session.execute(
        db.select(Refund.payment_id, db.func.sum(Refund.amount))
        .where(Refund.payment_id.in_([payment.id for payment in payments]), Refund.state == "processing")
        .group_by(Refund.payment_id)).all()) if payments else {}
    return {payment.id: _left(payment, int(holding.get(payment.id) or 0)) for payment in payments}


def _left(payment: Payment, holding: int) -> int:
    if payment.state != "succeeded" or payment.purpose != "invoice" or payment.invoice_id is None:
        return 0
    return max(payment.amount - payment.refunded_amount - holding, 0)


def can_refund_to_method(payment: Payment) -> bool:
    """Whether the payment's own gateway can give money back (a card's can; a transfer, a boleto or cash
    recorded by staff cannot: those are refunded to the wallet)."""
    if payment.gateway == WALLET_GATEWAY:
        return True
    found = gateways.get(payment.gateway)
    return found is not None and type(found).refund is not gateways.Gateway.refund


def destinations(payment: Payment) -> list[str]:
    return [d for d in REFUND_DESTINATIONS if d == "wallet" or can_refund_to_method(payment)]


def refunds_of(payment_ids) -> dict[int, list[Refund]]:
    """The refunds of each payment, oldest first."""
    ids = list(payment_ids)
    found: dict[int, list[Refund]] = {}
    if not ids:
        return found
    for refund in db.session.scalars(db.select(Refund).where(Refund.payment_id.in_(ids)).order_by(Refund.id)):
        found.setdefault(refund.payment_id, []).append(refund)
    return found


def refunds_among(payments) -> list[Refund]:
    """The refunds of these payments (an invoice's, on its page), a payment's after another's, in one query."""
    return [refund for found in refunds_of(payment.id for payment in payments).values() for refund in found]


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise DomainError(_l("This refund form is no longer valid. Reload the page and try again."),
                          code="invalid_idempotency_key", field="idempotency_key")
    return key


def _check_amount(amount) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise DomainError(_l("Enter the amount to refund, more than zero."), code="invalid_amount", field="amount")
    if amount > MAX_AMOUNT:
        raise DomainError(_l("This amount is too large. Check the number of digits."), code="amount_too_large",
                          field="amount")
    return amount


def claim_refund(payment: Payment, amount: int, destination: str, key: str, now: datetime, reason: str = "",
                 actor=None) -> RefundClaim:
    """Refund `amount` of `payment` to `destination` ("method" or "wallet"), once per `key`. A refund to the
    wallet is done at once; one to the method is left "processing" for the gateway (see the module)."""
    key = _check_key(key)
    if destination not in REFUND_DESTINATIONS:
        raise DomainError(_l("Choose where the money goes back to."), code="invalid_destination",
                          field="destination")
    amount = _check_amount(amount)
    wallet.lock_payer(payment.organisation_id)
    existing = db.session.scalar(db.select(Refund).where(Refund.organisation_id == payment.organisation_id,
                                                         Refund.idempotency_key == key))
    if existing is not None:
        if (existing.payment_id, existing.amount, existing.destination) != (payment.id, amount, destination):
            raise DomainError(_l("This refund was already sent with other details. Reload the page to start a "
                                 "new refund."), code="idempotency_key_reused", status=409)
        return RefundClaim(existing, False)
    db.session.refresh(payment)
    if payment.state != "succeeded" or payment.purpose != "invoice" or payment.invoice_id is None:
        raise DomainError(_l("Only a payment of an invoice that was received can be refunded."),
                          code="not_refundable", status=409)
    left = refundable(payment)
    if left <= 0:
        raise DomainError(_l("This payment was already refunded in full."), code="already_refunded", status=409)
    org = db.session.get(Organisation, payment.organisation_id)
    if amount > left:
        raise DomainError(_l("This is more than was paid and not yet refunded. Refund at most %(left)s.",
                             left=format_money(left, payment.currency, org.locale, org.country)),
                          code="amount_exceeds_paid", field="amount")
    if destination not in destinations(payment):
        raise DomainError(_l("This payment's method cannot take money back. Refund it to the wallet."),
                          code="method_cannot_refund", field="destination")
    invoice = db.session.get(Invoice, payment.invoice_id)
    if invoice.status not in invoicing.CREDITABLE_STATUSES:
        raise DomainError(_l("Only a payment of a pending or paid invoice can be refunded."),
                          code="not_creditable", status=409)
    room = invoice.total - credit_notes.credited_total(invoice) - _held_of_invoice(invoice)
    if amount > room:
        raise DomainError(_l("This would credit more than the invoice's total. At most %(left)s can still be "
                             "credited.", left=format_money(max(room, 0), invoice.currency, org.locale,
                                                             org.country)),
                          code="credit_exceeds_invoice", field="amount")
    refund = Refund(organisation_id=org.id, payment_id=payment.id, invoice_id=invoice.id, amount=amount,
                    currency=payment.currency, destination=destination, state="processing",
                    reference=new_reference(), idempotency_key=key,
                    reason=(reason or "").strip()[:MAX_REASON] or None,
                    created_by_id=actor.id if actor is not None else None, created_at=now)
    db.session.add(refund)
    db.session.flush()
    if destination == "wallet" or payment.gateway == WALLET_GATEWAY:
        _succeed(refund, payment, invoice, org, now, None, actor)
    return RefundClaim(refund, True)


def _held_of_invoice(invoice: Invoice) -> int:
    return db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(Refund.amount), 0))
        .where(Refund.invoice_id == invoice.id, Refund.state == "processing")) or 0


def unasked_refunds(now: datetime, limit: int = 200) -> list[int]:
    """Refunds to a card claimed more than UNASKED_AFTER ago and still "processing", oldest first: their
    gateway was never asked (the process asking it stopped after the claim committed) or its answer was never
    recorded. Until they are, they hold their amount of the payment; asked again by their reference, the
    gateway gives the money back once."""
    return list(db.session.scalars(db.select(Refund.id).where(
        Refund.state == "processing", Refund.destination == "method", Refund.created_at <= now - UNASKED_AFTER)
        .order_by(Refund.id).limit(limit)))


def refund_request(refund: Refund) -> gateways.RefundRequest:
    payment = db.session.get(Payment, refund.payment_id)
    return gateways.RefundRequest(reference=refund.reference, gateway_payment_id=payment.gateway_payment_id,
                                  amount=refund.amount, currency=refund.currency)


def record_result(refund: Refund, result: gateways.RefundResult, now: datetime, actor=None) -> Refund:
    """Record what the gateway answered to a claimed refund (a second answer changes nothing)."""
    wallet.lock_payer(refund.organisation_id)
    db.session.refresh(refund)
    if refund.state != "processing":
        return refund
    payment = db.session.get(Payment, refund.payment_id)
    org = db.session.get(Organisation, refund.organisation_id)
    invoice = db.session.get(Invoice, refund.invoice_id)
    if result.status == "succeeded":
        _succeed(refund, payment, invoice, org, now, result.gateway_refund_id, actor)
    else:
        refund.state, refund.ended_at = "failed", now
        refund.failure_code = (result.failure_code or "failed")[:40]
        db.session.flush()
        audit.record("refund_failed", actor=actor, organisation=org, obj=payment,
                     details={"refund": refund.reference, "amount": refund.amount,
                              "failure_code": refund.failure_code})
        if refund.credit_note_id is not None:  # the note is paid out already: the money goes to the wallet
            to_wallet(payment, invoice, org, refund.amount, now, key=f"{refund.idempotency_key}:wallet",
                      reason=refund.reason, credit_note_id=refund.credit_note_id,
                      created_by_id=refund.created_by_id, actor=actor)
    return refund


def to_wallet(payment: Payment, invoice: Invoice, org: Organisation, amount: int, now: datetime, key: str,
              reason: str | None, credit_note_id: int | None, created_by_id: int | None, actor=None) -> Refund:
    """Give `amount` of `payment` back to the payer's wallet at once, backed by credit note `credit_note_id`,
    already issued (a suspension's, or one whose card refund the gateway refused: never lost, once per `key`):
    a refund to the wallet, counted refunded, and the wallet's movement. The caller holds the payer's lock.
    Returns the refund."""
    refund = Refund(organisation_id=org.id, payment_id=payment.id, invoice_id=invoice.id,
                    credit_note_id=credit_note_id, amount=amount, currency=payment.currency, destination="wallet",
                    state="succeeded", reference=new_reference(), idempotency_key=key[:MAX_KEY], reason=reason,
                    created_by_id=created_by_id, created_at=now, ended_at=now)
    db.session.add(refund)
    payment.refunded_amount += amount
    db.session.flush()
    wallet.add_entry(org, "refund_in", amount, now, currency=payment.currency, payment=payment, invoice=invoice,
                     reason=reason, actor=actor)
    return refund


def _succeed(refund: Refund, payment: Payment, invoice: Invoice, org: Organisation, now: datetime,
             gateway_refund_id: str | None, actor) -> None:
    """The money went back: count it refunded, credit the invoice (the credit note paid out at once) and,
    for the wallet, write the movement."""
    payment.refunded_amount += refund.amount
    refund.state, refund.ended_at, refund.gateway_refund_id = "succeeded", now, gateway_refund_id
    db.session.flush()
    if refund.credit_note_id is not None:  # a credit note issued first (a suspension's): it is the refund's
        note = db.session.get(Invoice, refund.credit_note_id)
    else:
        note = credit_notes.issue_credit_note(invoice, now, amount=refund.amount,
                                              reason=_reason(invoice.locale, payment), actor=actor)
    if note.status == "open":
        invoicing.settle(note, now)
    refund.credit_note_id = note.id
    if refund.destination == "wallet" or payment.gateway == WALLET_GATEWAY:
        wallet.add_entry(org, "refund_in", refund.amount, now, currency=refund.currency, payment=payment,
                         invoice=invoice, reason=refund.reason, actor=actor)
    db.session.flush()
    audit.record("payment_refunded", actor=actor, organisation=org, obj=payment,
                 details={"refund": refund.reference, "amount": refund.amount, "currency": refund.currency,
                          "destination": refund.destination, "credit_note_id": note.id,
                          "invoice_id": invoice.id, "reference": payment.reference})


def _reason(locale: str, payment: Payment) -> str:
    with force_locale(locale):
        return gettext("refund of payment %(reference)s", reference=payment.reference)
