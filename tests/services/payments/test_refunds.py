"""Refunds: all or part of a payment, to the card through the gateway or to the wallet, backed by a credit note;
the invoice's amount due follows; once per idempotency key; never more than was paid; bad requests refused with
nothing written."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Invoice, Payment, Refund, WalletEntry
from portal.services.billing import credit_notes
from portal.services.errors import DomainError
from portal.services.payments import checkout, refunds, wallet
from portal.services.payments import gateway as gateways
from portal.workflows import refunds as refund_flow
from tests import factories
from tests.services.payments.helpers import NOW, make_card, pay_by_card


@pytest.fixture
def paid(app):
    """A Chilean customer whose invoice was paid in full by card."""
    member = factories.make_member("customer", "admin")
    org = member.organisation
    invoice = factories.make_invoice(org)
    card = make_card(org)
    db.session.commit()
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "pay-1")
    assert payment.state == "succeeded"
    return org, db.session.get(Invoice, invoice.id), payment


def _refund(payment_id: int, amount: int, destination: str, key: str, actor=None) -> Refund:
    def claim():
        payment = db.session.get(Payment, payment_id)
        return refunds.claim_refund(payment, amount, destination, key, NOW, reason="customer asked", actor=actor)

    return refund_flow.refund(claim, NOW)


def _refunds(payment_id: int) -> list[Refund]:
    return list(db.session.scalars(db.select(Refund).where(Refund.payment_id == payment_id)))


def test_a_full_refund_to_the_card_credits_the_invoice_and_counts_the_money_refunded(paid):
    org, invoice, payment = paid
    refund = _refund(payment.id, payment.amount, "method", "r-1")
    assert refund.state == "succeeded" and refund.gateway_refund_id.startswith("re_sb")
    note = db.session.get(Invoice, refund.credit_note_id)
    assert note.kind == "credit_note" and note.credit_for_id == invoice.id and note.total == payment.amount
    assert note.status == "paid"  # the money went back
    assert db.session.get(Payment, payment.id).refunded_amount == payment.amount
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert refunds.refundable(db.session.get(Payment, payment.id)) == 0
    assert wallet.balance(org.id, "CLP") == 0  # to the card, not to the wallet
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"payment_refunded", "credit_note_issued"} <= actions


def test_a_partial_refund_to_the_wallet_is_a_movement_of_the_wallet_at_once(paid):
    org, invoice, payment = paid
    refund = _refund(payment.id, 10_000, "wallet", "r-1")
    assert refund.state == "succeeded" and refund.gateway_refund_id is None
    assert wallet.balance(org.id, "CLP") == 10_000 == wallet.ledger_sum(org.id, "CLP")
    entry = db.session.scalar(db.select(WalletEntry))
    assert (entry.kind, entry.payment_id, entry.invoice_id) == ("refund_in", payment.id, invoice.id)
    assert refunds.refundable(db.session.get(Payment, payment.id)) == payment.amount - 10_000
    _refund(payment.id, payment.amount - 10_000, "wallet", "r-2")
    assert wallet.balance(org.id, "CLP") == payment.amount
    assert credit_notes.credited_total(db.session.get(Invoice, invoice.id)) == invoice.total


def test_refunding_part_of_a_partial_payment_leaves_the_open_invoice_owing_the_same(app):
    member = factories.make_member("customer", "admin")
    org = member.organisation
    invoice = factories.make_invoice(org)
    card = make_card(org)
    db.session.commit()
    payment = pay_by_card(org.id, invoice.id, 20_000, card.id, "part")
    due = credit_notes.amount_due(db.session.get(Invoice, invoice.id))
    _refund(payment.id, 5_000, "method", "r-1")
    invoice = db.session.get(Invoice, invoice.id)
    # 5.000 given back and 5.000 credited: what is still owed does not move, the invoice is smaller.
    assert invoice.status == "open" and credit_notes.amount_due(invoice) == due
    assert credit_notes.amounts_due(org.id) == [("CLP", due, 1)]


def test_the_same_key_twice_makes_one_refund_and_another_amount_is_refused(paid):
    org, invoice, payment = paid
    first = _refund(payment.id, 10_000, "method", "same")
    again = _refund(payment.id, 10_000, "method", "same")
    assert first.id == again.id and len(_refunds(payment.id)) == 1
    with pytest.raises(DomainError) as refused:
        _refund(payment.id, 12_000, "method", "same")
    assert refused.value.code == "idempotency_key_reused" and refused.value.status == 409
    with pytest.raises(DomainError):
        _refund(payment.id, 10_000, "wallet", "same")
    assert db.session.get(Payment, payment.id).refunded_amount == 10_000


@pytest.mark.parametrize("amount,code", [(0, "invalid_amount"), (-100, "invalid_amount"),
                                         (True, "invalid_amount"), ("5", "invalid_amount")])
def test_zero_negative_or_not_a_whole_amount_is_refused(paid, amount, code):
    _org, _invoice, payment = paid
    with pytest.raises(DomainError) as refused:
        _refund(payment.id, amount, "method", "bad")
    assert refused.value.code == code
    assert _refunds(payment.id) == []


def test_more_than_was_paid_is_refused_and_nothing_is_written(paid):
    _org, invoice, payment = paid
    notes_before = db.session.scalar(db.select(db.func.count()).select_from(Invoice))
    with pytest.raises(DomainError) as refused:
        _refund(payment.id, payment.amount + 1, "method", "too-much")
    assert refused.value.code == "amount_exceeds_paid" and refused.value.field == "amount"
    _refund(payment.id, 30_000, "method", "r-1")
    with pytest.raises(DomainError) as refused:
        _refund(payment.id, payment.amount - 30_000 + 1, "wallet", "r-2")
    assert refused.value.code == "amount_exceeds_paid"
    assert db.session.scalar(db.select(db.func.count()).select_from(Invoice)) == notes_before + 1
    assert len(_refunds(payment.id)) == 1


def test_a_refunded_payment_cannot_be_refunded_again(paid):
    _org, _invoice, payment = paid
    _refund(payment.id, payment.amount, "method", "r-1")
    with pytest.raises(DomainError) as refused:
        _refund(payment.id, 1, "method", "r-2")
    assert refused.value.code == "already_refunded" and refused.value.status == 409


def test_a_payment_not_received_or_a_top_up_is_not_refunded(app):
    member = factories.make_member("customer", "admin")
    org = member.organisation
    invoice = factories.make_invoice(org)
    card = make_card(org, behaviour="declined")
    db.session.commit()
    failed = pay_by_card(org.id, invoice.id, 1_000, card.id, "declined")
    assert failed.state == "failed"
    with pytest.raises(DomainError) as refused:
        _refund(failed.id, 1_000, "method", "r-1")
    assert refused.value.code == "not_refundable"


def test_a_recorded_transfer_is_refunded_to_the_wallet_only(app):
    member = factories.make_member("customer", "admin")
    org = member.organisation
    invoice = factories.make_invoice(org)
    db.session.commit()
    claim = checkout.record_received(org, invoice, invoice.total, "bank_transfer", "recv-1", NOW, actor=member.user)
    db.session.commit()
    payment = claim.payment
    assert refunds.destinations(payment) == ["wallet"]
    with pytest.raises(DomainError) as refused:
        _refund(payment.id, 1_000, "method", "r-1")
    assert refused.value.code == "method_cannot_refund"
    assert _refund(payment.id, 1_000, "wallet", "r-2").state == "succeeded"


def test_a_payment_from_the_wallet_is_refunded_into_the_wallet(app):
    member = factories.make_member("customer", "admin")
    org = member.organisation
    invoice = factories.make_invoice(org)
    wallet.add_entry(org, "top_up", invoice.total, NOW)
    db.session.commit()
    payment = checkout.pay_from_wallet(org, invoice, invoice.total, "wallet-1", NOW).payment
    db.session.commit()
    assert wallet.balance(org.id, "CLP") == 0
    _refund(payment.id, 2_000, "method", "r-1")
    assert wallet.balance(org.id, "CLP") == 2_000 == wallet.ledger_sum(org.id, "CLP")


def test_a_refund_the_gateway_refuses_frees_its_amount_and_credits_nothing(paid, monkeypatch):
    org, invoice, payment = paid
    sandbox = gateways.get("sandbox")
    monkeypatch.setattr(sandbox, "refund", lambda request: gateways.RefundResult("failed", failure_code="declined"))
    refund = _refund(payment.id, 10_000, "method", "r-1")
    assert refund.state == "failed" and refund.failure_code == "declined" and refund.credit_note_id is None
    assert refunds.refundable(db.session.get(Payment, payment.id)) == payment.amount
    assert credit_notes.credited_total(db.session.get(Invoice, invoice.id)) == 0
    assert "refund_failed" in set(db.session.scalars(db.select(AuditEvent.action)))
