"""Webhooks from the gateways: verified, recorded every one (accepted or refused), applied once.

A webhook whose signature does not verify, whose timestamp is outside the gateway's tolerance, that cannot
be read, whose event id was already accepted, whose type the portal does not handle, that names no payment we
know, or whose amount is not the payment's, is refused: it is recorded with its outcome and nothing else
changes. An accepted event's id is kept unique, so a replay — in a row or at the same moment — is applied
once.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import WebhookEvent
from portal.services.payments import checkout, settlement
from portal.services.payments import gateway as gateways

# The HTTP status a gateway gets for each outcome: 2xx tells it to stop sending; a replay is acknowledged
# with 409 (the first delivery was applied); the rest are refused as the gateway's error (4xx).
STATUS = {
    "processed": 200, "already_applied": 200, "replayed": 409, "bad_signature": 400, "stale": 400,
    "malformed": 400, "unknown_type": 422, "unknown_payment": 404, "mismatch": 422,
}
ACCEPTED = ("processed", "already_applied")


@dataclass(frozen=True)
class Received:
    event: WebhookEvent
    status: int


def receive(gateway_code: str, headers: Mapping[str, str], body: bytes, now: datetime) -> Received | None:
    """Verify, record and apply one webhook of the gateway `gateway_code` (None: no such gateway)."""
    found = gateways.get(gateway_code)
    if found is None:
        return None
    row = WebhookEvent(gateway=gateway_code, verified=False, body_sha256=hashlib.sha256(body).hexdigest(),
                       received_at=now, outcome="malformed")
    try:
        event = found.parse_webhook(headers, body, now)
    except gateways.WebhookRefused as refused:
        row.outcome, row.event_id = refused.reason, (refused.event_id or None) and refused.event_id[:120]
        return _recorded(row)
    except gateways.NotSupported:
        row.outcome = "unknown_type"
        return _recorded(row)
    row.verified, row.event_id, row.event_type = True, event.event_id[:120], (event.event_type or "")[:60]
    if event.kind not in gateways.EVENT_KINDS:
        row.outcome = "unknown_type"
        return _recorded(row)
    row.accepted_id, row.outcome = row.event_id, "processed"
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        replay = WebhookEvent(gateway=gateway_code, verified=True, body_sha256=row.body_sha256, received_at=now,
                              event_id=row.event_id, event_type=row.event_type, outcome="replayed")
        return _recorded(replay)
    outcome, payment = _apply(found.code, event, now)
    row.outcome, row.payment_id = outcome, payment.id if payment is not None else None
    if outcome not in ACCEPTED:
        row.accepted_id = None  # refused: the same event may be sent again once it can be applied
    db.session.flush()
    return Received(row, STATUS[outcome])


def _recorded(row: WebhookEvent) -> Received:
    db.session.add(row)
    db.session.flush()
    return Received(row, STATUS[row.outcome])


def _apply(gateway_code: str, event: gateways.GatewayEvent, now: datetime):
    payment = checkout.find_for_gateway(gateway_code, event.gateway_payment_id, event.reference)
    if payment is None:
        return "unknown_payment", None
    if event.kind == "refunded":  # the refund was recorded when it was asked for; the event confirms it
        return "already_applied", payment
    if event.amount is not None and (event.amount != payment.amount or
                                     (event.currency or payment.currency) != payment.currency):
        return "mismatch", payment
    if event.kind == "succeeded":
        changed = settlement.succeed(payment, now, event.gateway_payment_id)
    elif event.kind in ("failed", "expired"):
        changed = settlement.end(payment, event.kind, now, event.failure_code)
    else:
        changed = False
    return ("processed" if changed else "already_applied"), payment
