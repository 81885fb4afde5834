"""Charging through a gateway in three short transactions: claim the payment (its key, its reservation),
ask the gateway with no transaction open, record the answer (see services/payments/checkout.py)."""

import logging
from collections.abc import Callable
from datetime import datetime

from portal.database import writing
from portal.extensions import db
from portal.models import Payment
from portal.services.payments import checkout
from portal.services.payments import gateway as gateways

log = logging.getLogger(__name__)


def pay(claim: Callable[[], list[checkout.Claim]], now: datetime, actor_id: int | None = None) -> list[Payment]:
    """Run `claim` (it claims payments in a writing transaction, raising DomainError to refuse), commit, then
    charge each payment it created and record the outcome. A payment claimed before (the same key again)
    is returned as it stands, never charged twice. Returns the payments, refreshed."""
    with writing():
        try:
            claims = claim()
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    ids = [c.payment.id for c in claims]
    for claimed in (c for c in claims if c.created):
        charge(claimed.payment.id, now, actor_id)
    return [db.session.get(Payment, payment_id) for payment_id in ids]


def charge(payment_id: int, now: datetime, actor_id: int | None = None) -> Payment:
    """Ask the payment's gateway for it, then record the answer."""
    [(_payment_id, result)] = ask_gateways([payment_id])
    with writing():
        payment = record(payment_id, result, now, actor_id)
        db.session.commit()
    return payment


def ask_gateways(payment_ids: list[int]) -> list[tuple[int, gateways.ChargeResult]]:
    """Ask each payment's gateway for it (the requests read in one go, then no transaction open while the
    gateways answer): (payment, answer) in the same order. A gateway that cannot be reached has failed it."""
    if not payment_ids:
        return []
    asked = checkout.charge_requests(payment_ids)
    db.session.commit()  # nothing written: this ends the read before the gateways are asked
    answers = []
    for payment_id, gateway_code, reference, request in asked:
        try:
            result = gateways.get(gateway_code).charge(request)
        except gateways.GatewayError as error:
            log.warning("gateway %s could not charge %s: %s", gateway_code, reference, error)
            result = gateways.ChargeResult("failed", failure_code="gateway_error")
        answers.append((payment_id, result))
    return answers


def record(payment_id: int, result: gateways.ChargeResult, now: datetime, actor_id: int | None = None) -> Payment:
    """Record a gateway's answer to a payment (in the caller's writing transaction)."""
    payment = db.session.get(Payment, payment_id)
    actor = None
    if actor_id is not None:
        from portal.models import User

        actor = db.session.get(User, actor_id)
    checkout.record_charge(payment, result, now, actor=actor)
    return payment


def ask_again_unasked(now: datetime) -> list[Payment]:
    """Ask the gateways again for the payments claimed but never answered (see checkout.unasked_payments) and
    record each answer in its own transaction; an automatic payment that fails tells its payer, as its attempt
    would have. Returns the payments, as recorded."""
    from portal.services.payments import auto_pay

    ids = checkout.unasked_payments(now)
    db.session.commit()
    recorded = []
    for payment_id, result in ask_gateways(ids):
        try:
            with writing():
                payment = record(payment_id, result, now)
                if payment.state == "failed" and auto_pay.attempt_of(payment) is not None:
                    auto_pay.notify_failure(payment, now)
                db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("the gateway's answer to payment %s, asked again, could not be recorded", payment_id)
            continue
        recorded.append(payment)
        log.info("payment %s, never answered, asked again: %s", payment.reference, payment.state)
    return recorded
