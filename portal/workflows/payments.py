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
    payment = db.session.get(Payment, payment_id)
    request = checkout.charge_request(payment)
    gateway = gateways.get(payment.gateway)
    db.session.commit()  # nothing written: this ends the read before the gateway is asked
    try:
        result = gateway.charge(request)
    except gateways.GatewayError as error:
        log.warning("gateway %s could not charge %s: %s", payment.gateway, payment.reference, error)
        result = gateways.ChargeResult("failed", failure_code="gateway_error")
    with writing():
        payment = db.session.get(Payment, payment_id)
        actor = None
        if actor_id is not None:
            from portal.models import User

            actor = db.session.get(User, actor_id)
        checkout.record_charge(payment, result, now, actor=actor)
        db.session.commit()
    return payment
