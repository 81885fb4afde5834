"""Refunding through a gateway in three short transactions, as paying does (see workflows/payments.py): claim
the refund (its key, what it holds of the payment), ask the gateway with no transaction open, record the
answer. A refund to the wallet is done by the claim alone. A refund to a card left "processing" (the process
stopped before asking, or before recording the answer) is asked again by `ask_again_unasked`, the periodic
safety net: its reference is the gateway's idempotency key, so the money goes back once."""

import logging
from collections.abc import Callable
from datetime import datetime

from portal.database import writing
from portal.extensions import db
from portal.models import Payment, Refund, User
from portal.services.payments import gateway as gateways
from portal.services.payments import refunds

log = logging.getLogger(__name__)


def refund(claim: Callable[[], refunds.RefundClaim], now: datetime, actor_id: int | None = None) -> Refund:
    """Run `claim` in a writing transaction (DomainError refuses), commit, then ask the gateway for a refund
    it left processing and record the answer. The same key again returns the refund as it stands."""
    with writing():
        try:
            claimed = claim()
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    refund_id = claimed.refund.id
    if claimed.created and claimed.refund.state == "processing":
        ask_gateway(refund_id, now, actor_id)
    return db.session.get(Refund, refund_id)


def ask_gateway(refund_id: int, now: datetime, actor_id: int | None = None, retry_unreached: bool = False) -> Refund:
    """Ask the gateway for a refund still processing, then record the answer (a refund answered already is
    returned as it stands, the gateway not asked). A gateway that cannot be reached has refused it, or, with
    `retry_unreached`, left it processing to be asked again (nothing is known to have happened)."""
    found = db.session.get(Refund, refund_id)
    if found.state != "processing":
        db.session.commit()
        return found
    payment = db.session.get(Payment, found.payment_id)
    request = refunds.refund_request(found)
    gateway = gateways.get(payment.gateway)
    db.session.commit()  # nothing written: this ends the read before the gateway is asked
    try:
        result = gateway.refund(request)
    except gateways.GatewayError as error:
        log.warning("gateway %s could not refund %s: %s", payment.gateway, request.reference, error)
        if retry_unreached:
            return db.session.get(Refund, refund_id)
        result = gateways.RefundResult("failed", failure_code="gateway_error")
    with writing():
        found = db.session.get(Refund, refund_id)
        actor = db.session.get(User, actor_id) if actor_id is not None else None
        refunds.record_result(found, result, now, actor=actor)
        db.session.commit()
    return found


def ask_again_unasked(now: datetime) -> list[Refund]:
    """Ask the gateways again for the card refunds claimed but never answered (refunds.unasked_refunds) and
    record each answer in its own transaction, as the refund's own request would have: a success credits the
    invoice, a refusal frees the amount or, for a credit note paid out already, gives it to the wallet. A
    gateway that cannot be reached leaves the refund to the next run: what it did is not known, and a refund
    it made must not be given to the wallet as well. Returns the refunds, as recorded."""
    ids = refunds.unasked_refunds(now)
    db.session.commit()
    recorded = []
    for refund_id in ids:
        try:
            found = ask_gateway(refund_id, now, retry_unreached=True)
        except Exception:
            db.session.rollback()
            log.exception("the gateway's answer to refund %s, asked again, could not be recorded", refund_id)
            continue
        if found.state == "processing":
            continue
        recorded.append(found)
        log.info("refund %s, never answered, asked again: %s", found.reference, found.state)
    return recorded
