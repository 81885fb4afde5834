"""Paying: an invoice (all of what it owes or a part), or funds for the wallet, by a stored card, the wallet's
balance or an offline method — once per idempotency key.

A payment is claimed first (`claim_invoice_payment`, `claim_top_up`): under the payer's lock, the key is
looked up; the same key with the same request returns the payment it made, with another amount, invoice or
method it is refused (409). A new claim is "processing" and reserves its amount of the invoice, so two
payments in a row never ask for more than is owed. Its transaction commits before the gateway is asked
(`portal.workflows.payments` does the three steps), so a slow provider holds no lock, and what it answered
is then recorded (`record_charge`). The wallet needs no gateway: `pay_from_wallet` does it all at once.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from portal.bulk import BulkWriter, among
from portal.extensions import db
from portal.i18n import format_money
from portal.models import Invoice, Organisation, Payment, PaymentMethod, WalletEntry
from portal.models.payments import METHOD_KINDS
from portal.services import audit
from portal.services.billing.invoicing import MAX_AMOUNT
from portal.services.errors import DomainError
from portal.services.payments import gateway as gateways
from portal.services.payments import settlement, wallet

MAX_KEY = 100
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed without doubt
WALLET_GATEWAY = "wallet"
MANUAL_GATEWAY = "manual"  # money received outside any gateway, recorded by staff or a statement
# A payment claimed this long ago that its gateway never answered (the process asking it stopped in between)
# is asked again: its reference is the gateway's idempotency key, so the money is taken once.
UNASKED_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Claim:
    payment: Payment
    created: bool  # False: the key had already made this payment


def new_reference() -> str:
    """A payment's reference, as a person reads it out: PAY-7KQ2-M9XD."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"PAY-{chars[:4]}-{chars[4:]}"


def find_by_key(organisation_id: int, key: str) -> Payment | None:
    return db.session.scalar(db.select(Payment).where(Payment.organisation_id == organisation_id,
                                                      Payment.idempotency_key == key))


def find_by_reference(reference: str) -> Payment | None:
    return db.session.scalar(db.select(Payment).where(Payment.reference == reference))


def find_by_payer_reference(gateway_code: str, payer_reference: str) -> Payment | None:
    return db.session.scalar(db.select(Payment).where(Payment.gateway == gateway_code,
                                                      Payment.payer_reference == payer_reference))


def find_for_gateway(gateway_code: str, gateway_payment_id: str | None, reference: str | None) -> Payment | None:
    """The payment a gateway names, by its own id, by our reference or by the payer reference it issued."""
    if gateway_payment_id:
        found = db.session.scalar(db.select(Payment).where(Payment.gateway == gateway_code,
                                                           Payment.gateway_payment_id == gateway_payment_id))
        if found is not None:
            return found
    if reference:
        found = find_by_reference(reference)
        if found is not None and found.gateway == gateway_code:
            return found
        return find_by_payer_reference(gateway_code, reference)
    return None


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise DomainError(_l("This payment form is no longer valid. Reload the page and try again."),
                          code="invalid_idempotency_key", field="idempotency_key")
    return key


def _check_amount(amount) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise DomainError(_l("Enter an amount to pay, more than zero."), code="invalid_amount", field="amount")
    if amount > MAX_AMOUNT:
        raise DomainError(_l("This amount is too large. Check the number of digits."), code="amount_too_large",
                          field="amount")
    return amount


def _check_method(org: Organisation, method_kind: str, payment_method: PaymentMethod | None) -> str:
    """The gateway that will take a payment of `method_kind` (with the stored method, for a card)."""
    if method_kind not in METHOD_KINDS or method_kind in ("wallet", "manual"):
        raise DomainError(_l("Choose how to pay."), code="invalid_method", field="method")
    if method_kind == "card":
        if payment_method is None or payment_method.organisation_id != org.id or payment_method.state == "removed":
            raise DomainError(_l("This card is no longer among your payment methods. Choose another one."),
                              code="method_removed", field="method")
        if payment_method.state == "expired":
            raise DomainError(_l("This card has expired. Add a new card or choose another method."),
                              code="method_expired", field="method")
        return payment_method.gateway
    found = gateways.for_kind(method_kind)
    if found is None:
        raise DomainError(_l("This payment method is not offered."), code="method_not_offered", field="method")
    return found.code


def _same_request(payment: Payment, purpose: str, invoice_id, amount: int, method_kind: str, method_id) -> bool:
    return (payment.purpose, payment.invoice_id, payment.amount, payment.method_kind, payment.payment_method_id) \
        == (purpose, invoice_id, amount, method_kind, method_id)


def _reused_key() -> DomainError:
    return DomainError(_l("This payment was already sent with other details. Reload the page to start a new "
                          "payment."), code="idempotency_key_reused", status=409)


def claim_invoice_payment(org: Organisation, invoice: Invoice, amount: int, method_kind: str, key: str,
                          now: datetime, payment_method: PaymentMethod | None = None, installment=None,
                          actor=None, gateway_code: str | None = None) -> Claim:
    """Claim a payment of `amount` of `invoice` (owed by `org`) by `method_kind`, once per `key`."""
    key = _check_key(key)
    amount = _check_amount(amount)
    wallet.lock_payer(org.id)
    method_id = payment_method.id if payment_method is not None else None
    existing = find_by_key(org.id, key)
    if existing is not None:
        if not _same_request(existing, "invoice", invoice.id, amount, method_kind, method_id):
            raise _reused_key()
        return Claim(existing, False)
    if invoice.organisation_id != org.id or invoice.kind != "invoice":
        raise DomainError(_l("This invoice is not yours to pay."), code="not_found", status=404)
    db.session.refresh(invoice)
    gateway_code = check_invoice_claim(org, invoice, amount, method_kind, payment_method, settlement.payable,
                                       gateway_code)
    if installment is not None and installment.invoice_id != invoice.id:
        raise DomainError(_l("This installment is not part of the invoice."), code="not_found", status=404)
    payment = _new_payment(org, "invoice", amount, invoice.currency, method_kind, gateway_code, key, now,
                           payment_method, actor, invoice_id=invoice.id,
                           installment_id=installment.id if installment is not None else None)
    return Claim(payment, True)


def check_invoice_claim(org: Organisation, invoice: Invoice, amount: int, method_kind: str,
                        payment_method: PaymentMethod | None, payable, gateway_code: str | None = None) -> str:
    """Whether a new payment of `amount` of the open `invoice` may be claimed (the payer locked, the invoice
    read since): refused with a DomainError, else the gateway that takes it. `payable(invoice)` says what the
    invoice still lets be asked for (a batch passes what it read for all its invoices)."""
    _check_amount(amount)
    if invoice.status != "open":
        raise DomainError(_l("This invoice has nothing left to pay."), code="nothing_due", status=409)
    if gateway_code is None:
        gateway_code = WALLET_GATEWAY if method_kind == "wallet" else _check_method(org, method_kind, payment_method)
    left = payable(invoice)
    if left <= 0:
        raise DomainError(_l("A payment of this invoice is already in progress. Wait a moment and reload the "
                             "page."), code="payment_in_progress", status=409)
    if amount > left:
        raise DomainError(_l("This is more than the invoice still owes. Pay at most %(left)s.",
                             left=format_money(left, invoice.currency, invoice.locale, org.country)),
                          code="amount_exceeds_due", field="amount")
    return gateway_code


def claim_top_up(org: Organisation, amount: int, method_kind: str, key: str, now: datetime,
                 payment_method: PaymentMethod | None = None, actor=None) -> Claim:
    """Claim a payment of `amount` into the wallet, once per `key`."""
    key = _check_key(key)
    if isinstance(amount, int) and not isinstance(amount, bool) and amount < 0:
        raise DomainError(_l("Funds to add must be more than zero."), code="negative_amount", field="amount")
    amount = _check_amount(amount)
    wallet.lock_payer(org.id)
    method_id = payment_method.id if payment_method is not None else None
    existing = find_by_key(org.id, key)
    if existing is not None:
        if not _same_request(existing, "top_up", None, amount, method_kind, method_id):
            raise _reused_key()
        return Claim(existing, False)
    gateway_code = _check_method(org, method_kind, payment_method)
    return Claim(_new_payment(org, "top_up", amount, org.currency, method_kind, gateway_code, key, now,
                              payment_method, actor), True)


def _new_payment(org, purpose, amount, currency, method_kind, gateway_code, key, now, payment_method, actor,
                 **fields) -> Payment:
    payment = new_payment_row(org, purpose, amount, currency, method_kind, gateway_code, key, now, payment_method,
                              actor, **fields)
    db.session.add(payment)
    db.session.flush()
    record_started(payment, org, actor)
    return payment


def new_payment_row(org, purpose, amount, currency, method_kind, gateway_code, key, now, payment_method, actor,
                    state: str = "processing", **fields) -> Payment:
    """A new payment as a claim makes it, not yet added (a batch adds its claims' rows together, then records
    each one's start with `record_started`)."""
    return Payment(organisation_id=org.id, purpose=purpose, amount=amount, currency=currency,
                   method_kind=method_kind, gateway=gateway_code, state=state, reference=new_reference(),
                   idempotency_key=key, payment_method_id=payment_method.id if payment_method else None,
                   instructions={}, refunded_amount=0, created_at=now,
                   created_by_id=actor.id if actor is not None else None, **fields)


def add_payments(payments: list[Payment]) -> list[Payment]:
    """Write new payments made by `new_payment_row` in one statement (COPY on PostgreSQL) and return them as
    the session holds them, in the same order."""
    if not payments:
        return []
    bulk = BulkWriter()
    columns = [column.key for column in Payment.__table__.columns if column.key != "id"]
    rows = []
    for payment in payments:
        row = {name: getattr(payment, name) for name in columns}
        row.update(instructions=bulk.json(row["instructions"]),
                   **{name: bulk.time(row[name]) for name in ("created_at", "succeeded_at", "ended_at", "expires_at")})
        rows.append(row)
    if bulk.sqlite:
        ids = bulk.insert_returning_ids(Payment, rows, "reference")
        ids = [ids[row["reference"]] for row in rows]
    else:
        ids = bulk.next_ids(Payment, len(rows))
        bulk.insert(Payment, [{"id": payment_id, **row} for payment_id, row in zip(ids, rows, strict=True)])
    stored = {payment.id: payment for payment in db.session.scalars(db.select(Payment).where(among(Payment.id, ids)))}
    return [stored[payment_id] for payment_id in ids]


def record_started(payment: Payment, org: Organisation, actor=None, flush: bool = True) -> None:
    audit.record("payment_started", actor=actor, organisation=org, obj=payment, flush=flush,
                 details={"amount": payment.amount, "currency": payment.currency, "method": payment.method_kind,
                          "purpose": payment.purpose, "invoice_id": payment.invoice_id,
                          "reference": payment.reference})


def pay_from_wallet(org: Organisation, invoice: Invoice, amount: int, key: str, now: datetime,
                    actor=None) -> Claim:
    """Pay `amount` of `invoice` from the wallet's balance at once (refused when the balance is short)."""
    claim = claim_invoice_payment(org, invoice, amount, "wallet", key, now, actor=actor)
    if claim.created:
        wallet.add_entry(org, "spend", -amount, now, currency=invoice.currency, payment=claim.payment,
                         invoice=invoice, actor=actor)
        settlement.succeed(claim.payment, now, actor=actor)
    return claim


def take_from_wallet(payment: Payment, org: Organisation, invoice: Invoice, due_before: int, last, contacts,
                     now: datetime) -> WalletEntry:
    """`pay_from_wallet` after a batch claimed the payment (its row written, the payer locked, the wallet's
    `last` entry, what the invoice owed and the payer's contacts read): the rows left to the batch's flush.
    Returns the wallet's new entry."""
    entry = wallet.add_entry(org, "spend", -payment.amount, now, currency=invoice.currency, payment=payment,
                             invoice=invoice, last=last, flush=False)
    settlement.succeed_read(payment, org, invoice, due_before, now, contacts=contacts, flush=False)
    return entry


def charge_requests(payment_ids: list[int]) -> list[tuple[int, str, str, gateways.ChargeRequest]]:
    """(payment, gateway, reference, what the gateway is asked) of each claimed payment, read in a few queries
    for all of them."""
    payments = {p.id: p for p in db.session.scalars(db.select(Payment).where(among(Payment.id, payment_ids)))}
    invoice_ids = {p.invoice_id for p in payments.values() if p.invoice_id is not None}
    method_ids = {p.payment_method_id for p in payments.values() if p.payment_method_id is not None}
    org_ids = {p.organisation_id for p in payments.values()}
    # Into the session, where charge_request finds them (held here: the session keeps no object alive).
    held = [*db.session.scalars(db.select(Invoice).where(among(Invoice.id, invoice_ids))
                                .options(db.joinedload(Invoice.series))),
            *db.session.scalars(db.select(PaymentMethod).where(among(PaymentMethod.id, method_ids))),
            *db.session.scalars(db.select(Organisation).where(among(Organisation.id, org_ids)))]
    contacts = settlement.billing_contacts_of(org_ids)
    asked = [(payment_id, payments[payment_id].gateway, payments[payment_id].reference,
              charge_request(payments[payment_id], contacts.get(payments[payment_id].organisation_id, [])))
             for payment_id in payment_ids]
    del held
    return asked


def unasked_payments(now: datetime, limit: int = 200) -> list[int]:
    """Payments claimed more than UNASKED_AFTER ago that no gateway answered: still processing, with no
    gateway id (an answer of "processing", awaiting its webhook, has one), oldest first. Until they are
    answered they hold what their invoice owes, so nobody could pay it another way."""
    return list(db.session.scalars(db.select(Payment.id).where(
        Payment.state == "processing", Payment.gateway_payment_id.is_(None),
        Payment.gateway.not_in((WALLET_GATEWAY, MANUAL_GATEWAY)), Payment.created_at <= now - UNASKED_AFTER)
        .order_by(Payment.id).limit(limit)))


def record_received(org: Organisation, invoice: Invoice, amount: int, method_kind: str, key: str, now: datetime,
                    actor=None, payer_reference: str | None = None) -> Claim:
    """Money for `invoice` received outside the portal (a transfer, a deposit, cash) and recorded by staff or a
    statement: a payment that succeeded at once, once per `key`."""
    if method_kind in ("card", "wallet") or method_kind not in METHOD_KINDS:
        raise DomainError(_l("Choose how the money was received."), code="invalid_method", field="method")
    claim = claim_invoice_payment(org, invoice, amount, method_kind, key, now, actor=actor,
                                  gateway_code=MANUAL_GATEWAY)
    if claim.created:
        claim.payment.payer_reference = (payer_reference or "").strip()[:64] or None
        settlement.succeed(claim.payment, now, actor=actor)
    return claim


def payer_of(payment: Payment, contacts=None) -> gateways.Payer:
    org = db.session.get(Organisation, payment.organisation_id)
    contacts = settlement.billing_contacts(org) if contacts is None else contacts
    return gateways.Payer(organisation_id=org.id, name=org.name, tax_id=org.tax_id, country=org.country,
                          email=contacts[0].email if contacts else None, locale=org.locale)


def charge_request(payment: Payment, contacts=None) -> gateways.ChargeRequest:
    """What the gateway is asked for a claimed payment (`contacts`: the payer's billing contacts, when read)."""
    invoice = db.session.get(Invoice, payment.invoice_id) if payment.invoice_id is not None else None
    method = db.session.get(PaymentMethod, payment.payment_method_id) if payment.payment_method_id else None
    number = invoice.display_number if invoice is not None else None
    return gateways.ChargeRequest(
        reference=payment.reference, amount=payment.amount, currency=payment.currency,
        method_kind=payment.method_kind, payer=payer_of(payment, contacts),
        description=f"{number} {payment.reference}" if number else payment.reference,
        token=method.token if method is not None else None, invoice_number=number,
        due_at=invoice.due_at if invoice is not None else None)


def record_charge(payment: Payment, result: gateways.ChargeResult, now: datetime, actor=None) -> Payment:
    """Record what the gateway answered to a claimed payment (an answer that arrives after its webhook, or
    twice, changes nothing more)."""
    wallet.lock_payer(payment.organisation_id)
    db.session.refresh(payment)
    note_answer(payment, result)
    if result.status == "succeeded":
        settlement.succeed(payment, now, result.gateway_payment_id, actor=actor)
    elif result.status == "failed":
        settlement.end(payment, "failed", now, result.failure_code, actor=actor)
    elif result.status == "pending" and payment.state == "processing":
        payment.state, payment.instructions, payment.expires_at = "pending", dict(result.instructions), \
            result.expires_at
        payment.payer_reference = result.payer_reference
        gateways.get(payment.gateway).reference_recorded(payment)
    db.session.flush()
    return payment


def note_answer(payment: Payment, result: gateways.ChargeResult) -> None:
    """What any answer of the gateway tells of the payment and of its stored method (the payer locked)."""
    if result.gateway_payment_id and not payment.gateway_payment_id:
        payment.gateway_payment_id = result.gateway_payment_id
    if result.method_state and payment.payment_method_id:
        method = db.session.get(PaymentMethod, payment.payment_method_id)
        if method.state == "active":
            method.state, method.failure_code = result.method_state, result.failure_code
