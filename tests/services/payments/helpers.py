"""Helpers of the payment tests: a stored sandbox card, paying by card or wallet, signed webhooks."""

import json
import secrets
import time
from datetime import UTC, datetime

from portal.extensions import db
from portal.models import Invoice, Organisation, Payment, PaymentMethod
from portal.services.payments import checkout, sandbox
from portal.workflows import payments as payment_flow

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def make_card(org: Organisation, behaviour: str = "succeeds", last4: str = "4242", auto_pay: bool = True,
              state: str = "active") -> PaymentMethod:
    """A card as the sandbox's hosted page hands it over: a token naming its behaviour, never a number."""
    method = PaymentMethod(organisation_id=org.id, gateway="sandbox", kind="card", brand="visa", last4=last4,
                           token=f"tok_sb_{behaviour}_{secrets.token_urlsafe(8)}", exp_month=12, exp_year=2030,
                           state=state, auto_pay=auto_pay)
    db.session.add(method)
    db.session.flush()
    return method


def make_payment(org: Organisation, amount: int = 1000, state: str = "succeeded") -> Payment:
    """A card payment of `amount` against a new invoice of `org`, recorded as it stands."""
    from tests import factories

    invoice = factories.make_invoice(org)
    payment = Payment(organisation_id=org.id, invoice_id=invoice.id, amount=amount, currency=invoice.currency,
                      method_kind="card", gateway="sandbox", state=state, reference=checkout.new_reference(),
                      idempotency_key=secrets.token_urlsafe(8), instructions={}, refunded_amount=0)
    db.session.add(payment)
    db.session.flush()
    return payment


def pay_by_card(org_id: int, invoice_id: int, amount: int, method_id: int, key: str, now: datetime = NOW):
    """Pay as the customer's form does: claim, charge, record (the workflow's three transactions)."""

    def claim():
        org = db.session.get(Organisation, org_id)
        invoice = db.session.get(Invoice, invoice_id)
        method = db.session.get(PaymentMethod, method_id)
        return [checkout.claim_invoice_payment(org, invoice, amount, "card", key, now, payment_method=method)]

    return payment_flow.pay(claim, now)[0]


def webhook(event_type: str, data: dict, event_id: str | None = None, timestamp: int | None = None,
            secret: str | None = None) -> tuple[dict, bytes]:
    """A webhook as the sandbox signs it: (headers, raw body)."""
    body = json.dumps({"id": event_id or f"evt_sb_{secrets.token_urlsafe(8)}", "type": event_type,
                       "created": int(time.time()), "data": data}).encode()
    stamp = int(NOW.timestamp()) if timestamp is None else timestamp
    return {sandbox.SIGNATURE_HEADER: sandbox.sign(body, stamp, secret)}, body
