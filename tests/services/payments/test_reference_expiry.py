"""Offline references past their expiry are marked expired once, audited, and are no longer payable; one not
yet expired stays pending; money that still arrives for an expired one is recorded."""

from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Invoice, Payment
from portal.services.payments import settlement
from portal.services.payments.offline import expiry
from tests.services.payments.helpers import NOW
from tests.services.payments.offline_helpers import brazilian_customer, issue, offer_demo_methods


@pytest.fixture
def brazil(app):
    offer_demo_methods()
    return brazilian_customer()


@pytest.mark.parametrize("kind", ["boleto", "pix"])
def test_a_reference_past_its_expiry_is_marked_expired_once(brazil, kind):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, kind, f"{kind}-1")
    assert payment.state == "pending" and payment.expires_at is not None
    assert expiry.expire_references(payment.expires_at - timedelta(minutes=1)) == 0
    db.session.commit()
    assert db.session.get(Payment, payment.id).state == "pending"
    later = payment.expires_at + timedelta(minutes=1)
    assert expiry.expire_references(later) == 1
    assert expiry.expire_references(later) == 0
    db.session.commit()
    payment = db.session.get(Payment, payment.id)
    assert (payment.state, payment.failure_code) == ("expired", "reference_expired")
    events = db.session.scalars(db.select(AuditEvent).filter_by(action="payment_expired")).all()
    assert len(events) == 1
    assert settlement.payable(db.session.get(Invoice, invoice.id)) == invoice.total  # the invoice still owes it


def test_money_that_arrives_for_an_expired_reference_is_still_recorded(brazil):
    org, invoice = brazil
    payment = issue(org.id, invoice.id, "boleto", "boleto-late")
    expiry.expire_references(payment.expires_at + timedelta(days=1))
    db.session.commit()
    assert settlement.succeed(db.session.get(Payment, payment.id), NOW + timedelta(days=40))
    db.session.commit()
    assert db.session.get(Invoice, invoice.id).status == "paid"


def test_the_references_waiting_on_an_invoice_paid_another_way_are_no_longer_asked_for(app, brazil):
    from portal.models import WalletEntry
    from portal.services.payments import wallet
    from portal.templating import payment_failure
    from tests.services.payments.helpers import make_card, pay_by_card

    org, invoice = brazil
    boleto, pix = issue(org.id, invoice.id, "boleto", "boleto-1"), issue(org.id, invoice.id, "pix", "pix-1")
    card = make_card(org)
    db.session.commit()
    assert pay_by_card(org.id, invoice.id, invoice.total, card.id, "card-1").state == "succeeded"
    db.session.commit()
    waiting = [db.session.get(Payment, payment.id) for payment in (boleto, pix)]
    assert [(p.state, p.failure_code) for p in waiting] == [("expired", "invoice_settled")] * 2
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(action="payment_expired")) == 2
    with app.test_request_context(headers={"Accept-Language": "pt-BR"}):
        assert "Não é mais necessário" in payment_failure(waiting[0])
    # The boleto is paid at the bank all the same: the money is recorded and, the invoice paid, waits in the wallet.
    assert settlement.succeed(waiting[0], NOW + timedelta(hours=2))
    db.session.commit()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert wallet.balance(org.id, "BRL") == invoice.total
    assert db.session.scalar(db.select(WalletEntry.reason).filter_by(organisation_id=org.id)) == "overpayment"
