"""The webhook endpoint: the sandbox's deliveries arrive through it, signed; anything else is refused there."""

import pytest

from portal.extensions import db
from portal.models import Invoice, Payment, WebhookEvent
from portal.workflows import webhook_delivery
from tests import factories
from tests.services.payments.helpers import make_card, pay_by_card, webhook


@pytest.fixture
def customer(app):
    member = factories.make_member("customer", "admin")
    invoice = factories.make_invoice(member.organisation)
    db.session.commit()
    return member.organisation, invoice


def test_a_card_payment_is_followed_by_its_webhook_through_the_endpoint(customer):
    org, invoice = customer
    card = make_card(org)
    db.session.commit()
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "k")
    events = db.session.scalars(db.select(WebhookEvent)).all()
    assert [(e.event_type, e.verified, e.outcome, e.payment_id) for e in events] == \
        [("charge.succeeded", True, "already_applied", payment.id)]


def test_a_declined_charge_is_followed_by_its_failure_event(customer):
    org, invoice = customer
    card = make_card(org, "declined")
    db.session.commit()
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "k")
    event = db.session.scalar(db.select(WebhookEvent))
    assert (payment.state, event.event_type, event.outcome) == ("failed", "charge.failed", "already_applied")


def test_a_forged_webhook_is_refused_with_400_and_recorded(client, customer):
    headers, body = webhook("charge.succeeded", {"charge": "ch_sb_x", "reference": "PAY-AAAA-BBBB"},
                            secret="whsec_forger")
    response = client.post("/webhooks/sandbox", data=body, headers=headers)
    assert response.status_code == 400 and response.get_json() == {"outcome": "bad_signature"}
    assert db.session.scalar(db.select(WebhookEvent.outcome)) == "bad_signature"


def test_an_unknown_gateway_is_not_found(client):
    assert client.post("/webhooks/nobody", data=b"{}").status_code == 404


def test_a_delivery_the_portal_does_not_accept_is_retried(app, customer):
    from portal.jobs import deliver_webhook

    body = '{"id":"evt_sb_lost","type":"charge.succeeded","data":{"charge":"ch_sb_lost","reference":"PAY-LOST-LOST"}}'
    assert webhook_delivery.deliver("sandbox", body) == 404
    with pytest.raises(RuntimeError, match="answered 404"):
        deliver_webhook.call_local("sandbox", body)
    assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0
    assert db.session.get(Invoice, customer[1].id).status == "open"


def test_a_card_confirmed_later_is_confirmed_by_a_scheduled_delivery(app, customer):
    from portal.extensions import huey

    org, invoice = customer
    card = make_card(org, "confirms_later")
    db.session.commit()
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "k")
    assert payment.state == "processing"
    scheduled = [task for task in huey.scheduled() if task.name == "deliver_webhook"]
    assert scheduled
    task = scheduled[-1]
    assert webhook_delivery.deliver(*task.args) == 200
    db.session.commit()  # end the test's own read: the delivery committed in its own session
    assert db.session.get(Payment, payment.id).state == "succeeded"
    assert db.session.get(Invoice, invoice.id).status == "paid"
