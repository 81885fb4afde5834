"""Automatic payments as jobs run them (services/payments/auto_pay.py says what they do): an attempt at an
invoice the sweep issued, and the top-up that answers a wallet's fall under its threshold. Each claims its
payments in a short writing transaction, charges the card with no transaction open, records the answer, and
tells the payer when the card failed."""

import logging
from datetime import datetime

from portal.database import writing
from portal.extensions import db
from portal.models import Payment
from portal.services.payments import auto_pay
from portal.workflows import payments as payment_flow

log = logging.getLogger(__name__)


def attempt(invoice_id: int, number: int, now: datetime) -> list[Payment]:
    """Make attempt `number` at paying `invoice_id` automatically (again: the payments it made, unchanged)."""
    claimed: list = []

    def claim():
        claimed[:] = auto_pay.claim_attempt(invoice_id, number, now)
        return claimed

    payments = payment_flow.pay(claim, now)
    charged = {c.payment.id for c in claimed if c.created and c.payment.method_kind == "card"}
    for payment in payments:
        if payment.id in charged and payment.state == "failed":
            with writing():
                auto_pay.notify_failure(db.session.get(Payment, payment.id), now)
                db.session.commit()
    if payments:
        log.info("auto-pay of invoice %s, attempt %s: %s", invoice_id, number,
                 ", ".join(f"{p.method_kind} {p.state}" for p in payments))
    return payments


def retry_due(now: datetime) -> list[tuple[int, int]]:
    """The retries due at `now` (invoice, attempt), read in a transaction of their own."""
    due = auto_pay.due_retries(now)
    db.session.commit()
    return due


def recharge(entry_id: int, now: datetime) -> list[Payment]:
    """Top up the wallet whose movement `entry_id` brought it under its threshold (once per movement)."""
    return payment_flow.pay(lambda: auto_pay.claim_recharge(entry_id, now), now)
