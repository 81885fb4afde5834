"""Automatic payments: an invoice the billing sweep issues is paid by itself, and a wallet that runs low is
topped up by itself.

Auto-pay at renewal. Once the sweep's batch commits, each invoice it issued gets an attempt (a job:
`portal.workflows.auto_pay`). An attempt first takes from the wallet what its balance covers, when the payer
chose "pay renewals from the wallet" — all of the invoice, or part of it — and then charges the rest to the
payer's auto-pay card. Each part carries an idempotency key of the invoice and the attempt
("autopay:<invoice>:<attempt>:wallet" / ":card"), so a job run again, in a row or at the same moment, finds
the payments its attempt already made and charges nothing twice. A card that has expired (or is no longer
among the payer's methods) is not charged: the attempt is recorded as failed ("method_expired") and the payer
told. A failed attempt is tried again RETRY_AFTER_DAYS after the first one (the periodic job asks `due_retries`),
up to MAX_ATTEMPTS in all; each failure sends the `payment_failed` notice once (services/notices: to the e-mails
the payer's notice preferences choose, each in its reader's language) with a link to pay by hand. After the
last attempt the invoice is dunning's (services/notices/dunning.py): reminders, overdue notices, the block.

Auto-recharge. When a movement leaves the wallet under the payer's threshold, the movement that brought it
under (the trigger) is answered once: `WalletSettings.recharged_for_entry_id` names it, written in the same
transaction, and the top-up's key is "recharge:<entry>". The auto-pay card is charged the recharge amount after
that transaction commits; the funds are credited when the gateway confirms, as for funds added by hand. The
balance has to rise to the threshold again before a new fall triggers another recharge.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.extensions import db
from portal.labels import PAYMENT_FAILURE_LABELS
from portal.models import Invoice, Organisation, Payment, PaymentMethod, WalletEntry, WalletSettings
from portal.services import audit
from portal.services.billing import credit_notes
from portal.services.mail import composing as mail
from portal.services.notices.dunning import send_once
from portal.services.payments import checkout, methods, settlement, wallet

AUTO_PAY_PREFIX = "autopay:"
RECHARGE_PREFIX = wallet.RECHARGE_PREFIX
# A failed attempt is tried again this many days after the first attempt: the 2nd, 3rd and 4th attempts.
RETRY_AFTER_DAYS = (1, 3, 5)
MAX_ATTEMPTS = 1 + len(RETRY_AFTER_DAYS)
EXPIRED_METHOD = "method_expired"  # the failure code of an attempt that did not charge an expired card


def is_automatic(payment: Payment) -> bool:
    """Whether a payment was made by itself (auto-pay at renewal or auto-recharge), not by a person."""
    return payment.idempotency_key.startswith((AUTO_PAY_PREFIX, RECHARGE_PREFIX))


def attempt_key(invoice_id: int, attempt: int, part: str) -> str:
    return f"{AUTO_PAY_PREFIX}{invoice_id}:{attempt}:{part}"


def attempt_of(payment: Payment) -> int | None:
    """The attempt number of an auto-pay payment (None for any other payment)."""
    if not payment.idempotency_key.startswith(AUTO_PAY_PREFIX):
        return None
    parts = payment.idempotency_key.split(":")
    return int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else None


def applies_to(org: Organisation) -> bool:
    """Whether the organisation pays its renewals by itself: from its wallet, or with an auto-pay card."""
    return wallet.settings_for(org).pay_from_wallet or methods.auto_pay_method(org) is not None


def chargeable(attempts) -> list[tuple[int, int]]:
    """Of these (invoice, attempt) pairs, those that may pay something, in one query: open invoices of payers
    that pay by themselves (an auto-pay card, whatever its state — an expired one is recorded as not charged —
    or renewals paid from the wallet), in the payers' order (their locks are taken in that order). The rest
    — half of a sweep's invoices, say — are left at once."""
    numbers: dict[int, list[int]] = {}
    for invoice_id, number in attempts:
        numbers.setdefault(invoice_id, []).append(number)
    if not numbers:
        return []
    by_card = db.select(PaymentMethod.organisation_id).where(PaymentMethod.auto_pay.is_(True),
                                                             PaymentMethod.state.in_(methods.LISTED_STATES))
    by_wallet = db.select(WalletSettings.organisation_id).where(WalletSettings.pay_from_wallet.is_(True))
    rows = db.session.execute(
        db.select(Invoice.id).where(Invoice.id.in_(list(numbers)), Invoice.kind == "invoice",
                                    Invoice.status == "open",
                                    db.or_(Invoice.organisation_id.in_(by_card),
                                           Invoice.organisation_id.in_(by_wallet)))
        .order_by(Invoice.organisation_id, Invoice.id)).scalars().all()
    return [(invoice_id, number) for invoice_id in rows for number in numbers[invoice_id]]


def claim_attempt(invoice_id: int, attempt: int, now: datetime) -> list[checkout.Claim]:
    """Claim the payments of one attempt at `invoice_id` (in the caller's writing transaction): the wallet's
    part, then the card's. The attempt's payments already made are returned as they stand (not created), so
    nothing is charged twice; an invoice with nothing left to pay gets nothing."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.kind != "invoice":
        return []
    org = db.session.get(Organisation, invoice.organisation_id)
    wallet.lock_payer(org.id)
    made = [found for part in ("wallet", "card")
            if (found := checkout.find_by_key(org.id, attempt_key(invoice_id, attempt, part))) is not None]
    if made:
        return [checkout.Claim(payment, False) for payment in made]
    db.session.refresh(invoice)
    if invoice.status != "open" or not 1 <= attempt <= MAX_ATTEMPTS:
        return []
    left = settlement.payable(invoice)
    claims = []
    if left > 0 and wallet.settings_for(org).pay_from_wallet:
        take = min(wallet.balance(org.id, invoice.currency), left)
        if take > 0:
            paid = checkout.pay_from_wallet(org, invoice, take, attempt_key(invoice_id, attempt, "wallet"), now)
            claims.append(checkout.Claim(paid.payment, False))  # settled at once: no gateway to ask
            left -= take
    method = methods.auto_pay_method(org)
    if left > 0 and method is not None:
        key = attempt_key(invoice_id, attempt, "card")
        if method.state == "active" or method.state == "failing":
            claims.append(checkout.claim_invoice_payment(org, invoice, left, "card", key, now, payment_method=method))
        else:
            claims.append(checkout.Claim(_not_charged(org, invoice, method, left, key, now), False))
    return claims


def _not_charged(org: Organisation, invoice: Invoice, method: PaymentMethod, amount: int, key: str,
                 now: datetime) -> Payment:
    """Record the attempt an expired card could not make (the gateway is not asked) and tell the payer."""
    payment = Payment(organisation_id=org.id, invoice_id=invoice.id, purpose="invoice", amount=amount,
                      currency=invoice.currency, method_kind="card", gateway=method.gateway, state="failed",
                      reference=checkout.new_reference(), idempotency_key=key, payment_method_id=method.id,
                      failure_code=EXPIRED_METHOD, instructions={}, refunded_amount=0, created_at=now, ended_at=now)
    db.session.add(payment)
    db.session.flush()
    audit.record("payment_failed", organisation=org, obj=payment,
                 details={"failure_code": EXPIRED_METHOD, "reference": payment.reference, "automatic": True})
    notify_failure(payment, now)
    return payment


def next_attempt_at(first_at: datetime, attempts: int) -> datetime | None:
    """When the attempt after `attempts` is due (None: no more attempts)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return first_at + timedelta(days=RETRY_AFTER_DAYS[attempts - 1])


@dataclass(frozen=True)
class AttemptState:
    attempts: int  # attempts made so far
    first_at: datetime
    failed: bool  # the last attempt failed (its card part), so another may follow


def attempts_at(invoice_ids) -> dict[int, AttemptState]:
    """The auto-pay attempts made at each of these invoices."""
    found: dict[int, list[Payment]] = {}
    ids = list(invoice_ids)
    if not ids:
        return {}
    for payment in db.session.scalars(db.select(Payment).where(
            Payment.invoice_id.in_(ids), Payment.idempotency_key.like(f"{AUTO_PAY_PREFIX}%"))):
        if attempt_of(payment) is not None:
            found.setdefault(payment.invoice_id, []).append(payment)
    states = {}
    for invoice_id, payments in found.items():
        last = max(attempt_of(p) for p in payments)
        last_card = [p for p in payments if attempt_of(p) == last and p.method_kind == "card"]
        first_at = min(p.created_at for p in payments if attempt_of(p) == 1) if any(
            attempt_of(p) == 1 for p in payments) else min(p.created_at for p in payments)
        states[invoice_id] = AttemptState(last, first_at, bool(last_card) and all(
            p.state in ("failed", "expired") for p in last_card))
    return states


def due_retries(now: datetime, limit: int = 500) -> list[tuple[int, int]]:
    """(invoice, attempt) of every retry due at `now`: open invoices whose last auto-pay attempt failed and
    whose next attempt's day has come."""
    failed = db.session.scalars(
        db.select(Payment.invoice_id).join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.idempotency_key.like(f"{AUTO_PAY_PREFIX}%"), Payment.state.in_(("failed", "expired")),
               Invoice.status == "open", Invoice.kind == "invoice")
        .distinct().order_by(Payment.invoice_id).limit(limit)).all()
    due = []
    for invoice_id, state in sorted(attempts_at(failed).items()):
        at = next_attempt_at(state.first_at, state.attempts) if state.failed else None
        if at is not None and _aware(at) <= _aware(now):
            due.append((invoice_id, state.attempts + 1))
    return due


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def notify_failure(payment: Payment, now: datetime) -> bool:
    """Send the `payment_failed` notice of an automatic payment that failed: why, when it is tried again (or
    that it is not, and the invoice is left to dunning), and where to pay by hand — to the e-mails the payer's
    notice preferences choose, each in its reader's language, once per attempt (the notice log's row). False
    when it had been sent already."""
    org = db.session.get(Organisation, payment.organisation_id)
    invoice = db.session.get(Invoice, payment.invoice_id)
    method = db.session.get(PaymentMethod, payment.payment_method_id) if payment.payment_method_id else None
    attempt = attempt_of(payment) or 1
    state = attempts_at([invoice.id]).get(invoice.id)
    retry_at = next_attempt_at(state.first_at if state else payment.created_at, attempt)
    link = mail.external_url("customer.invoice", invoice_id=invoice.id) if org.kind == "customer" else None
    return send_once(org, "payment_failed", f"autopay:{invoice.id}:{attempt}", now, link, payment=payment,
                     invoice=invoice, card=f"{method.brand.title()} •••• {method.last4}" if method else None,
                     reason=PAYMENT_FAILURE_LABELS.get(payment.failure_code, PAYMENT_FAILURE_LABELS["card_declined"]),
                     still_due=credit_notes.amount_due(invoice), retry_at=retry_at)


# Auto-recharge


def claim_recharge(entry_id: int, now: datetime) -> list[checkout.Claim]:
    """Claim the top-up that answers the fall of movement `entry_id` (once: its key is the movement's)."""
    entry = db.session.get(WalletEntry, entry_id)
    if entry is None:
        return []
    org = db.session.get(Organisation, entry.organisation_id)
    wallet.lock_payer(org.id)
    key = f"{RECHARGE_PREFIX}{entry_id}"
    done = checkout.find_by_key(org.id, key)
    if done is not None:
        return [checkout.Claim(done, False)]
    settings = db.session.get(WalletSettings, org.id)
    method = methods.auto_pay_method(org)
    if settings is None or not settings.auto_recharge or settings.recharge_amount <= 0 or method is None \
            or method.state not in ("active", "failing"):
        return []
    return [checkout.claim_top_up(org, settings.recharge_amount, "card", key, now, method)]


@dataclass(frozen=True)
class Summary:
    """What the payer's automatic payments will do, as its screens say it."""

    card: PaymentMethod | None  # the auto-pay card, whatever its state
    card_usable: bool  # it will be charged (active, or failing and tried again)
    pay_from_wallet: bool
    auto_recharge: bool  # on, with an amount and a card to charge it
    recharge_threshold: int
    recharge_amount: int
    retry_days: tuple[int, ...] = RETRY_AFTER_DAYS


def summary(org: Organisation) -> Summary:
    settings = wallet.settings_for(org)
    card = methods.auto_pay_method(org)
    usable = card is not None and card.state in ("active", "failing")
    return Summary(card, usable, settings.pay_from_wallet,
                   settings.auto_recharge and settings.recharge_amount > 0 and usable,
                   settings.recharge_threshold, settings.recharge_amount)
