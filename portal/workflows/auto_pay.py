"""Automatic payments as jobs run them (services/payments/auto_pay.py says what they do): an attempt at an
invoice the sweep issued, and the top-up that answers a wallet's fall under its threshold. Each claims its
payments in a short writing transaction, charges the card with no transaction open, records the answer, and
tells the payer when the card failed."""

import logging
from datetime import datetime

from portal.database import writing
from portal.extensions import db
from portal.memory import paused_collection
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


def attempt_batch(attempts: list[tuple[int, int]], now: datetime) -> int:
    """The attempts (invoice, attempt number) of a billing run's batch, in three steps for all of them: one
    query leaves those with nothing to charge (`auto_pay.chargeable`); one writing transaction claims the
    payments of the rest (`auto_pay.claim_batch`); the gateway is asked for each card payment with no
    transaction open; one writing transaction records the answers and sends the failure notices
    (`auto_pay.record_answers`). Should a step's transaction fail, its attempts are made one at a time (each
    safe to make again). Returns how many attempts made or found payments."""
    with paused_collection():
        return _attempt_batch(attempts, now)


def _attempt_batch(attempts: list[tuple[int, int]], now: datetime) -> int:
    todo = auto_pay.chargeable(attempts)
    db.session.commit()
    if not todo:
        return 0
    try:
        with writing():
            claimed, rest = auto_pay.claim_batch(todo, now)
            created = [c.payment.id for claims in claimed.values() for c in claims
                       if c.created and c.payment.method_kind == "card" and c.payment.state == "processing"]
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("auto-pay: claiming a batch of %d attempts failed; making them one at a time", len(todo))
        return _one_at_a_time(todo, now)
    answers = payment_flow.ask_gateways(created)
    try:
        with writing():
            for payment in auto_pay.record_answers(answers, now):
                auto_pay.notify_failure(payment, now)
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("auto-pay: recording a batch of %d answers failed; recording them one at a time", len(answers))
        for payment_id, result in answers:
            _record_one(payment_id, result, now)
    paid = sum(1 for claims in claimed.values() if claims) + _one_at_a_time(rest, now)
    log.info("auto-pay of a batch: %d attempts, %d with something to pay, %d paid or tried, %d card charges",
             len(attempts), len(todo), paid, len(answers))
    return paid


def _one_at_a_time(todo: list[tuple[int, int]], now: datetime) -> int:
    paid = 0
    for invoice_id, number in todo:
        try:
            paid += bool(attempt(invoice_id, number, now))
        except Exception:
            db.session.rollback()
            log.exception("auto-pay attempt %s at invoice %s failed", number, invoice_id)
    return paid


def _record_one(payment_id: int, result, now: datetime) -> None:
    try:
        with writing():
            payment = payment_flow.record(payment_id, result, now)
            if payment.state == "failed":
                auto_pay.notify_failure(payment, now)
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("auto-pay: the answer to payment %s could not be recorded", payment_id)


def retry_due(now: datetime) -> list[tuple[int, int]]:
    """The retries due at `now` (invoice, attempt), read in a transaction of their own."""
    due = auto_pay.due_retries(now)
    db.session.commit()
    return due


def recharge(entry_id: int, now: datetime) -> list[Payment]:
    """Top up the wallet whose movement `entry_id` brought it under its threshold (once per movement)."""
    return payment_flow.pay(lambda: auto_pay.claim_recharge(entry_id, now), now)
