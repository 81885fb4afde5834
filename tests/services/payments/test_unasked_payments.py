"""A payment claimed but never put to its gateway — the process that was to ask it stopped right after the claim
committed — is asked again by the periodic job once UNASKED_AFTER has passed: it does not stay "processing",
holding what its invoice owes, for ever. Its reference is the gateway's idempotency key: asked again and again,
the money is taken once. A payment the gateway answered "processing" (awaiting its webhook) is left to it."""

from datetime import timedelta

import pytest

from portal.database import writing
from portal.extensions import db
from portal.models import Invoice, OutboxMessage, Payment
from portal.services.errors import DomainError
from portal.services.payments import auto_pay, checkout
from portal.workflows import payments as payment_flow
from tests import factories
from tests.services.payments.helpers import NOW, make_card


def _claimed_only(org, invoice, card, key, now=NOW):
    """Claim a card payment and commit, as the workflow's first transaction does, then stop."""
    with writing():
        claim = checkout.claim_invoice_payment(org, db.session.get(Invoice, invoice.id), invoice.total, "card", key,
                                               now, payment_method=card)
        db.session.commit()
    return claim.payment.id


@pytest.fixture
def payer(app):
    org = factories.make_member("customer", "admin", locale="es").organisation
    invoice = factories.make_invoice(org)
    db.session.commit()
    return org, invoice


def test_a_payment_never_asked_is_asked_again_and_paid_once(payer):
    org, invoice = payer
    card = make_card(org)
    db.session.commit()
    payment_id = _claimed_only(org, invoice, card, "pay-1")
    # Meanwhile it holds the invoice: paying it by hand is refused.
    with pytest.raises(DomainError), writing():
        checkout.claim_invoice_payment(org, db.session.get(Invoice, invoice.id), invoice.total, "card", "pay-2",
                                       NOW, payment_method=card)
    db.session.rollback()
    assert payment_flow.ask_again_unasked(NOW + timedelta(minutes=5)) == []  # too soon: it may be on its way
    [asked] = payment_flow.ask_again_unasked(NOW + checkout.UNASKED_AFTER)
    assert (asked.id, asked.state) == (payment_id, "succeeded")
    assert payment_flow.ask_again_unasked(NOW + timedelta(hours=1)) == []  # answered: nothing more
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert db.session.scalar(db.select(db.func.count(Payment.id)).where(Payment.invoice_id == invoice.id)) == 1


def test_an_automatic_payment_never_asked_that_fails_tells_the_payer(payer):
    org, invoice = payer
    make_card(org, "declined", last4="0002")
    db.session.commit()
    with writing():
        claims = auto_pay.claim_attempt(invoice.id, 1, NOW)
        db.session.commit()
    [claim] = claims
    [asked] = payment_flow.ask_again_unasked(NOW + timedelta(minutes=20))
    assert (asked.id, asked.state, asked.failure_code) == (claim.payment.id, "failed", "card_declined")
    mails = db.session.scalars(db.select(OutboxMessage).filter_by(template="notice_payment_failed")).all()
    assert len(mails) == 1 and "0002" in mails[0].text_body and mails[0].locale == "es"


def test_a_payment_awaiting_its_webhook_is_left_to_it(payer):
    org, invoice = payer
    card = make_card(org, "confirms_later")
    db.session.commit()
    payment = payment_flow.pay(lambda: [checkout.claim_invoice_payment(
        org, db.session.get(Invoice, invoice.id), invoice.total, "card", "pay-1", NOW, payment_method=card)], NOW)[0]
    assert payment.state == "processing" and payment.gateway_payment_id
    assert payment_flow.ask_again_unasked(NOW + timedelta(hours=1)) == []
