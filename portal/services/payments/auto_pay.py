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

A billing run's batch of attempts is claimed together (`claim_batch`) and its card answers recorded together
(`record_answers`), by the same functions one attempt uses: the payers locked in one statement in id order,
what the rules ask read in a few queries for all, the rows written in bulk; what is rare stays on the path of
one payment (an answer other than a success, a payment a webhook reached first, an invoice twice in a batch).

Auto-recharge. When a movement leaves the wallet under the payer's threshold, the movement that brought it
under (the trigger) is answered once: `WalletSettings.recharged_for_entry_id` names it, written in the same
transaction, and the top-up's key is "recharge:<entry>". The auto-pay card is charged the recharge amount after
that transaction commits; the funds are credited when the gateway confirms, as for funds added by hand. The
balance has to rise to the threshold again before a new fall triggers another recharge.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.bulk import BulkWriter, among
from portal.extensions import db
from portal.labels import PAYMENT_FAILURE_LABELS
from portal.models import Invoice, Organisation, Payment, PaymentMethod, WalletEntry, WalletSettings
from portal.services import audit
from portal.services.billing import credit_notes
from portal.services.mail import composing as mail
from portal.services.notices.dunning import send_once
from portal.services.payments import checkout, methods, settlement, wallet
from portal.services.payments import gateway as gateways

AUTO_PAY_PREFIX = "autopay:"
RECHARGE_PREFIX = wallet.RECHARGE_PREFIX
# A failed attempt is tried again this many days after the first attempt: the 2nd, 3rd and 4th attempts.
RETRY_AFTER_DAYS = (1, 3, 5)
MAX_ATTEMPTS = 1 + len(RETRY_AFTER_DAYS)
EXPIRED_METHOD = "method_expired"  # the failure code of an attempt that did not charge an expired card
CHARGED_STATES = ("active", "failing")  # an auto-pay card in these states is charged (a failing one tried again)
PARTS = ("wallet", "card")  # an attempt's payments, in the order it makes them


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
        db.select(Invoice.id).where(among(Invoice.id, numbers), Invoice.kind == "invoice",
                                    Invoice.status == "open",
                                    db.or_(Invoice.organisation_id.in_(by_card),
                                           Invoice.organisation_id.in_(by_wallet)))
        .order_by(Invoice.organisation_id, Invoice.id)).scalars().all()
    return [(invoice_id, number) for invoice_id in rows for number in numbers[invoice_id]]


def split(left: int, pay_from_wallet: bool, balance: int, method: PaymentMethod | None) -> tuple[int, int]:
    """What an attempt takes from the wallet and what it asks of the auto-pay card, of `left` (what the invoice
    still lets be asked for): the wallet first, up to its balance, when the payer chose it; the card the rest,
    when the payer has one."""
    take = max(min(balance, left), 0) if left > 0 and pay_from_wallet else 0
    return take, (left - take if left > take and method is not None else 0)


def claim_attempt(invoice_id: int, attempt: int, now: datetime) -> list[checkout.Claim]:
    """Claim the payments of one attempt at `invoice_id` (in the caller's writing transaction): the wallet's
    part, then the card's. The attempt's payments already made are returned as they stand (not created), so
    nothing is charged twice; an invoice with nothing left to pay gets nothing."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.kind != "invoice":
        return []
    org = db.session.get(Organisation, invoice.organisation_id)
    wallet.lock_payer(org.id)
    made = [found for part in PARTS
            if (found := checkout.find_by_key(org.id, attempt_key(invoice_id, attempt, part))) is not None]
    if made:
        return [checkout.Claim(payment, False) for payment in made]
    db.session.refresh(invoice)
    if invoice.status != "open" or not 1 <= attempt <= MAX_ATTEMPTS:
        return []
    left = settlement.payable(invoice)
    settings = wallet.settings_for(org)
    balance = wallet.balance(org.id, invoice.currency) if left > 0 and settings.pay_from_wallet else 0
    method = methods.auto_pay_method(org)
    take, rest = split(left, settings.pay_from_wallet, balance, method)
    claims = []
    if take > 0:
        paid = checkout.pay_from_wallet(org, invoice, take, attempt_key(invoice_id, attempt, "wallet"), now)
        claims.append(checkout.Claim(paid.payment, False))  # settled at once: no gateway to ask
    if rest > 0:
        key = attempt_key(invoice_id, attempt, "card")
        if method.state in CHARGED_STATES:
            claims.append(checkout.claim_invoice_payment(org, invoice, rest, "card", key, now, payment_method=method))
        else:
            claims.append(checkout.Claim(_not_charged(org, invoice, method, rest, key, now), False))
    return claims


def claim_batch(attempts: list[tuple[int, int]], now: datetime) -> tuple[dict, list[tuple[int, int]]]:
    """`claim_attempt` for many attempts at once (in the caller's writing transaction), by the same rules: the
    payers locked in one statement, in id order; the invoices, the attempts' payments already made, what each
    invoice owes, the wallets' settings, balances and the auto-pay cards read in a few queries for all; the
    payments, wallet movements, audit events and receipts written together. Returns the claims of each attempt
    and the attempts left to `claim_attempt` (an invoice twice in the batch)."""
    count = Counter(invoice_id for invoice_id, _number in attempts)
    rest = [pair for pair in attempts if count[pair[0]] > 1]
    batch = [pair for pair in attempts if count[pair[0]] == 1]
    if not batch:
        return {}, rest
    ids = [invoice_id for invoice_id, _number in batch]
    orgs = {org.id: org for org in db.session.scalars(
        db.select(Organisation).where(Organisation.id.in_(
            db.select(Invoice.organisation_id).where(among(Invoice.id, ids))))
        .order_by(Organisation.id).with_for_update(of=Organisation).execution_options(populate_existing=True))}
    invoices = {invoice.id: invoice for invoice in db.session.scalars(
        db.select(Invoice).where(among(Invoice.id, ids))
        .options(db.selectinload(Invoice.installments), db.joinedload(Invoice.series))
        .execution_options(populate_existing=True))}
    keys = [attempt_key(invoice_id, number, part) for invoice_id, number in batch for part in PARTS]
    made = {payment.idempotency_key: payment for payment in db.session.scalars(
        db.select(Payment).where(among(Payment.organisation_id, orgs), among(Payment.idempotency_key, keys)))}
    settings = {row.organisation_id: row for row in db.session.scalars(
        db.select(WalletSettings).where(among(WalletSettings.organisation_id, orgs)))}
    cards: dict[int, PaymentMethod] = {}
    for method in db.session.scalars(db.select(PaymentMethod).where(
            among(PaymentMethod.organisation_id, orgs), PaymentMethod.auto_pay.is_(True),
            PaymentMethod.state.in_(methods.LISTED_STATES)).order_by(PaymentMethod.id)):
        cards.setdefault(method.organisation_id, method)
    dues = settlement.payable_of([invoice for invoice in invoices.values() if invoice.kind == "invoice"])
    lasts = wallet.last_entries([org_id for org_id, row in settings.items() if row.pay_from_wallet])
    contacts = settlement.billing_contacts_of(list(orgs))
    balances = {pair: entry.balance_after for pair, entry in lasts.items()}
    claims: dict[tuple[int, int], list[checkout.Claim]] = {}
    decided = []  # (attempt, payer, invoice, what it owed, [(part, payment)]) of each attempt that pays now
    for pair in batch:
        invoice_id, number = pair
        invoice = invoices.get(invoice_id)
        claims[pair] = []
        if invoice is None or invoice.kind != "invoice":
            continue
        org = orgs[invoice.organisation_id]
        found = [made[key] for part in PARTS if (key := attempt_key(invoice_id, number, part)) in made]
        if found:
            claims[pair] = [checkout.Claim(payment, False) for payment in found]
            continue
        if invoice.status != "open" or not 1 <= number <= MAX_ATTEMPTS:
            continue
        due, left = dues[invoice_id]
        chosen = settings.get(org.id) or wallet.default_settings(org)
        wallet_of = (org.id, invoice.currency)
        method = cards.get(org.id)
        take, card = split(left, chosen.pay_from_wallet, balances.get(wallet_of, 0), method)
        parts = []
        if take > 0:
            checkout.check_invoice_claim(org, invoice, take, "wallet", None, lambda _invoice, left=left: left)
            balances[wallet_of] = balances.get(wallet_of, 0) - take
            parts.append(("wallet", checkout.new_payment_row(
                org, "invoice", take, invoice.currency, "wallet", checkout.WALLET_GATEWAY,
                attempt_key(invoice_id, number, "wallet"), now, None, None, invoice_id=invoice.id)))
        if card > 0:
            key = attempt_key(invoice_id, number, "card")
            if method.state in CHARGED_STATES:
                gateway = checkout.check_invoice_claim(org, invoice, card, "card", method,
                                                       lambda _invoice, card=card: card)
                parts.append(("card", checkout.new_payment_row(org, "invoice", card, invoice.currency, "card",
                                                               gateway, key, now, method, None,
                                                               invoice_id=invoice.id)))
            else:
                parts.append(("not_charged", _not_charged_row(org, invoice, method, card, key, now)))
        decided.append((pair, org, invoice, due, parts))
    stored = iter(checkout.add_payments([payment for *_rest, parts in decided for _part, payment in parts]))
    decided = [(pair, org, invoice, due, [(part, next(stored)) for part, _payment in parts])
               for pair, org, invoice, due, parts in decided]
    for pair, org, invoice, due, parts in decided:
        for part, payment in parts:
            if part == "wallet":
                checkout.record_started(payment, org, flush=False)
                wallet_of = (org.id, invoice.currency)
                lasts[wallet_of] = checkout.take_from_wallet(payment, org, invoice, due, lasts.get(wallet_of),
                                                             contacts.get(org.id, []), now)
                due = max(due - payment.amount, 0)
                claims[pair].append(checkout.Claim(payment, False))  # settled at once: no gateway to ask
            elif part == "card":
                checkout.record_started(payment, org, flush=False)
                claims[pair].append(checkout.Claim(payment, True))
            else:
                _record_not_charged(org, payment)
                claims[pair].append(checkout.Claim(payment, False))
    _write_settled([invoice for _pair, _org, invoice, _due, _parts in decided],
                   [payment for *_rest, parts in decided for _part, payment in parts])
    # The wallet paid some in full: their boletos, Pix codes (…) still waiting are no longer to be paid.
    settlement.retire_references(sorted({invoice.id for _pair, _org, invoice, _due, _parts in decided
                                         if invoice.status == "paid"}), now)
    mail.hand_on()
    audit.write_held()
    return claims, rest


def record_answers(answers: list[tuple[int, gateways.ChargeResult]], now: datetime) -> list[Payment]:
    """Record the gateway's answers to a batch's card payments (in the caller's writing transaction), as
    `checkout.record_charge` does each: the payers locked in one statement, in id order; the payments, their
    invoices, what those owe and the payers' contacts read in a few queries; the successes written together.
    Any other answer, or a payment that is no longer waiting for it (a webhook came first), is recorded one at a
    time. Returns the payments that failed, whose payers are to be told."""
    if not answers:
        return []
    ids = [payment_id for payment_id, _result in answers]
    orgs = {org.id: org for org in db.session.scalars(
        db.select(Organisation).where(Organisation.id.in_(
            db.select(Payment.organisation_id).where(among(Payment.id, ids))))
        .order_by(Organisation.id).with_for_update(of=Organisation).execution_options(populate_existing=True))}
    payments = {payment.id: payment for payment in db.session.scalars(
        db.select(Payment).where(among(Payment.id, ids)).execution_options(populate_existing=True))}
    invoices = {invoice.id: invoice for invoice in db.session.scalars(
        db.select(Invoice).where(among(Invoice.id, {p.invoice_id for p in payments.values() if p.invoice_id}))
        .options(db.selectinload(Invoice.installments), db.joinedload(Invoice.series))
        .execution_options(populate_existing=True))}
    dues = {invoice_id: due for invoice_id, (due, _left) in settlement.payable_of(list(invoices.values())).items()}
    contacts = settlement.billing_contacts_of(list(orgs))
    failed = []
    for payment_id, result in answers:
        payment = payments[payment_id]
        invoice = invoices.get(payment.invoice_id)
        if result.status == "succeeded" and payment.state == "processing" and invoice is not None:
            checkout.note_answer(payment, result)
            settlement.succeed_read(payment, orgs[payment.organisation_id], invoice, dues[invoice.id], now,
                                    result.gateway_payment_id, contacts=contacts.get(payment.organisation_id, []),
                                    flush=False)
            dues[invoice.id] = max(dues[invoice.id] - payment.amount, 0)
        else:
            checkout.record_charge(payment, result, now)
            if payment.state == "failed":
                failed.append(payment)
    _write_settled(invoices.values(), payments.values())
    settlement.retire_references([invoice.id for invoice in invoices.values() if invoice.status == "paid"], now)
    mail.hand_on()
    audit.write_held()
    return failed


# What settling a payment and its invoice changes, written for a batch in a statement per table.
_INVOICE_SETTLED = {"status": "text", "paid_at": "timestamptz"}
_PAYMENT_SETTLED = {"state": "text", "succeeded_at": "timestamptz", "ended_at": "timestamptz",
                    "gateway_payment_id": "text", "failure_code": "text"}


def _write_settled(invoices, payments) -> None:
    """The batch's invoices and payments that were settled (or failed), in one UPDATE each: the ORM's flush
    would send one per row."""
    bulk = BulkWriter()
    bulk.write_changes(list(invoices), _INVOICE_SETTLED)
    bulk.write_changes(list(payments), _PAYMENT_SETTLED)


def _not_charged(org: Organisation, invoice: Invoice, method: PaymentMethod, amount: int, key: str,
                 now: datetime) -> Payment:
    """Record the attempt an expired card could not make (the gateway is not asked) and tell the payer."""
    payment = _not_charged_row(org, invoice, method, amount, key, now)
    db.session.add(payment)
    db.session.flush()
    _record_not_charged(org, payment)
    return payment


def _not_charged_row(org: Organisation, invoice: Invoice, method: PaymentMethod, amount: int, key: str,
                     now: datetime) -> Payment:
    payment = checkout.new_payment_row(org, "invoice", amount, invoice.currency, "card", method.gateway, key, now,
                                       method, None, state="failed", invoice_id=invoice.id,
                                       failure_code=EXPIRED_METHOD, ended_at=now)
    return payment


def _record_not_charged(org: Organisation, payment: Payment) -> None:
    audit.record("payment_failed", organisation=org, obj=payment,
                 details={"failure_code": EXPIRED_METHOD, "reference": payment.reference, "automatic": True})
    notify_failure(payment, payment.created_at)


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
    # An invoice whose last attempt was made is dunning's: left out before the limit, or the oldest of them,
    # open for weeks, would crowd out the retries due behind them.
    last = db.aliased(Payment)
    spent = db.select(last.id).where(last.invoice_id == Invoice.id,
                                     last.idempotency_key.like(f"{AUTO_PAY_PREFIX}%:{MAX_ATTEMPTS}:%"))
    failed = db.session.scalars(
        db.select(Payment.invoice_id).join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.idempotency_key.like(f"{AUTO_PAY_PREFIX}%"), Payment.state.in_(("failed", "expired")),
               Invoice.status == "open", Invoice.kind == "invoice", ~spent.correlate(Invoice).exists())
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
            or method.state not in CHARGED_STATES:
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
    usable = card is not None and card.state in CHARGED_STATES
    return Summary(card, usable, settings.pay_from_wallet,
                   settings.auto_recharge and settings.recharge_amount > 0 and usable,
                   settings.recharge_threshold, settings.recharge_amount)
