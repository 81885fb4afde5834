"""Paying invoices by card and from the wallet: full or partial, once per idempotency key (QUALITY.md R1), the
invoice's amount due and state following, bad requests refused with nothing written."""

import threading

import pytest

from portal.database import writing
from portal.extensions import db
from portal.models import Invoice, OutboxMessage, Payment, PaymentMethod, WalletEntry
from portal.services.billing import credit_notes
from portal.services.errors import DomainError
from portal.services.payments import checkout, methods, settlement, wallet
from tests import factories
from tests.services.payments.helpers import NOW, make_card, pay_by_card


@pytest.fixture
def owed(app):
    """A Chilean customer with an administrator, an open invoice of CLP 47.568 and a working card."""
    member = factories.make_member("customer", "admin")
    org = member.organisation
    invoice = factories.make_invoice(org)
    card = make_card(org)
    db.session.commit()
    return org, invoice, card


def _payments(invoice_id: int) -> list[Payment]:
    return list(db.session.scalars(db.select(Payment).where(Payment.invoice_id == invoice_id)))


def test_a_card_payment_of_everything_owed_pays_the_invoice_and_sends_a_receipt(owed):
    org, invoice, card = owed
    total = invoice.total
    payment = pay_by_card(org.id, invoice.id, total, card.id, "key-1")
    invoice = db.session.get(Invoice, invoice.id)
    assert payment.state == "succeeded" and payment.gateway_payment_id.startswith("ch_sb_")
    assert invoice.status == "paid" and invoice.paid_at is not None
    assert credit_notes.amount_due(invoice) == 0
    receipt = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.template == "payment_receipt"))
    assert payment.reference in receipt.text_body and invoice.display_number in receipt.subject


def test_partial_payments_lower_what_is_due_until_the_invoice_is_paid(owed):
    org, invoice, card = owed
    total = invoice.total
    pay_by_card(org.id, invoice.id, 20_000, card.id, "part-1")
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.status == "open" and credit_notes.amount_due(invoice) == total - 20_000
    assert credit_notes.amounts_due(org.id) == [("CLP", total - 20_000, 1)]
    pay_by_card(org.id, invoice.id, total - 20_000, card.id, "part-2")
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert credit_notes.amounts_due(org.id) == []


def test_the_same_key_three_times_in_a_row_makes_one_payment_with_the_same_answer(owed):
    org, invoice, card = owed
    answers = [pay_by_card(org.id, invoice.id, 10_000, card.id, "same").id for _ in range(3)]
    assert len(set(answers)) == 1
    assert len(_payments(invoice.id)) == 1
    assert credit_notes.amount_due(db.session.get(Invoice, invoice.id)) == invoice.total - 10_000


def test_a_reused_key_with_another_amount_is_refused(owed):
    org, invoice, card = owed
    pay_by_card(org.id, invoice.id, 10_000, card.id, "same")
    with pytest.raises(DomainError) as refused:
        pay_by_card(org.id, invoice.id, 12_000, card.id, "same")
    assert refused.value.code == "idempotency_key_reused" and refused.value.status == 409
    assert [p.amount for p in _payments(invoice.id)] == [10_000]


def test_eight_requests_at_once_with_one_key_make_one_payment(app, owed):
    org, invoice, card = owed
    org_id, invoice_id, card_id = org.id, invoice.id, card.id
    db.session.remove()
    answers, errors = [], []
    barrier = threading.Barrier(8)

    def attempt():
        with app.app_context():
            try:
                barrier.wait()
                answers.append(pay_by_card(org_id, invoice_id, 10_000, card_id, "double-click").id)
            except Exception as error:  # noqa: BLE001 — collected and asserted below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(answers) == 8 and len(set(answers)) == 1
    payments = _payments(invoice_id)
    assert len(payments) == 1 and payments[0].state == "succeeded"
    assert len(db.session.scalars(db.select(OutboxMessage)).all()) == 1  # one receipt


def test_eight_different_payments_at_once_never_take_more_than_is_owed(app, owed):
    org, invoice, card = owed
    org_id, invoice_id, card_id, total = org.id, invoice.id, card.id, invoice.total
    db.session.remove()
    refused = []
    barrier = threading.Barrier(8)

    def attempt(n):
        with app.app_context():
            try:
                barrier.wait()
                pay_by_card(org_id, invoice_id, total - 1, card_id, f"tab-{n}")
            except DomainError as error:
                refused.append(error.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_payments(invoice_id)) == 1
    assert len(refused) == 7 and set(refused) <= {"amount_exceeds_due", "payment_in_progress"}


@pytest.mark.parametrize("amount, code", [(0, "invalid_amount"), (-5, "invalid_amount"),
                                          (10**13, "amount_too_large")])
def test_an_amount_of_nothing_or_too_much_is_refused_and_nothing_is_written(owed, amount, code):
    org, invoice, card = owed
    with pytest.raises(DomainError) as refused:
        pay_by_card(org.id, invoice.id, amount, card.id, "bad")
    assert refused.value.code == code
    assert _payments(invoice.id) == []


def test_more_than_is_owed_is_refused_with_what_can_be_paid(owed):
    org, invoice, card = owed
    with pytest.raises(DomainError) as refused:
        pay_by_card(org.id, invoice.id, invoice.total + 1, card.id, "over")
    assert refused.value.code == "amount_exceeds_due"
    assert f"${invoice.total:,}".replace(",", ".") in str(refused.value.message)
    assert _payments(invoice.id) == []


def test_an_expired_or_removed_card_is_refused(owed):
    org, invoice, card = owed
    expired = make_card(org, state="expired", auto_pay=False)
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        pay_by_card(org.id, invoice.id, 1000, expired.id, "expired")
    assert refused.value.code == "method_expired"
    methods.remove(org, db.session.get(PaymentMethod, card.id), NOW)
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        pay_by_card(org.id, invoice.id, 1000, card.id, "removed")
    assert refused.value.code == "method_removed"
    assert _payments(invoice.id) == []


def test_another_organisations_invoice_or_card_cannot_be_paid(owed):
    org, invoice, card = owed
    other = factories.make_org("customer")
    their_invoice = factories.make_invoice(other)
    their_card = make_card(other)
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        pay_by_card(org.id, their_invoice.id, 1000, card.id, "theirs")
    assert refused.value.status == 404
    with pytest.raises(DomainError) as refused:
        pay_by_card(org.id, invoice.id, 1000, their_card.id, "their-card")
    assert refused.value.code == "method_removed"
    assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0


@pytest.mark.parametrize("behaviour, code, method_state", [
    ("declined", "card_declined", "active"),
    ("expired", "expired_card", "expired"),
    ("fails_later", "card_declined", "failing"),
])
def test_a_refused_card_leaves_the_invoice_owing_and_says_why(owed, behaviour, code, method_state):
    org, invoice, _card = owed
    card = make_card(org, behaviour, auto_pay=False)
    db.session.commit()
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, f"k-{behaviour}")
    assert payment.state == "failed" and payment.failure_code == code
    assert db.session.get(PaymentMethod, card.id).state == method_state
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.status == "open" and credit_notes.amount_due(invoice) == invoice.total
    # A failed payment reserves nothing: paying again with a good card works.
    assert pay_by_card(org.id, invoice.id, invoice.total, _card.id, "retry").state == "succeeded"


def test_a_card_confirmed_later_reserves_its_amount_until_then(owed):
    org, invoice, _card = owed
    card = make_card(org, "confirms_later", auto_pay=False)
    db.session.commit()
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "later")
    assert payment.state == "processing"
    with pytest.raises(DomainError) as refused:
        pay_by_card(org.id, invoice.id, 1000, _card.id, "meanwhile")
    assert refused.value.code == "payment_in_progress"
    assert settlement.succeed(db.session.get(Payment, payment.id), NOW) is True
    assert settlement.succeed(db.session.get(Payment, payment.id), NOW) is False  # applied once
    db.session.commit()
    assert db.session.get(Invoice, invoice.id).status == "paid"


def test_installments_are_paid_in_order_as_payments_cover_them(app):
    org = factories.make_org("customer")
    invoice = factories.make_invoice(org, installments=3)
    card = make_card(org)
    db.session.commit()
    first = invoice.installments[0].amount
    pay_by_card(org.id, invoice.id, first, card.id, "cuota-1")
    paid = [i.paid_at is not None for i in db.session.get(Invoice, invoice.id).installments]
    assert paid == [True, False, False]


def test_wallet_funds_pay_an_invoice_and_the_balance_is_the_ledger(owed):
    org, invoice, card = owed
    wallet.add_entry(org, "top_up", 30_000, NOW)
    db.session.commit()
    with writing():
        claim = checkout.pay_from_wallet(org, invoice, 20_000, "wallet-1", NOW)
        again = checkout.pay_from_wallet(org, invoice, 20_000, "wallet-1", NOW)
        db.session.commit()
    assert claim.payment.id == again.payment.id and not again.created
    assert wallet.balance(org.id, "CLP") == wallet.ledger_sum(org.id, "CLP") == 10_000
    assert credit_notes.amount_due(db.session.get(Invoice, invoice.id)) == invoice.total - 20_000


def test_a_wallet_that_is_short_is_refused_and_nothing_is_written(owed):
    org, invoice, _card = owed
    wallet.add_entry(org, "top_up", 5_000, NOW)
    db.session.commit()
    with pytest.raises(DomainError) as refused, writing():
        checkout.pay_from_wallet(org, invoice, 6_000, "short", NOW)
    db.session.rollback()
    assert refused.value.code == "insufficient_balance"
    assert _payments(invoice.id) == []
    assert wallet.balance(org.id, "CLP") == 5_000
    assert db.session.scalar(db.select(db.func.count(WalletEntry.id))) == 1


def test_a_payment_for_an_invoice_already_paid_waits_in_the_wallet(owed):
    org, invoice, card = owed
    later = make_card(org, "confirms_later", auto_pay=False)
    db.session.commit()
    slow = pay_by_card(org.id, invoice.id, 10_000, later.id, "slow")
    pay_by_card(org.id, invoice.id, invoice.total - 10_000, card.id, "rest")
    # The invoice is settled meanwhile by a credit note for what the slow payment reserved.
    credit_notes.issue_credit_note(db.session.get(Invoice, invoice.id), NOW, amount=10_000, reason="ajuste")
    db.session.commit()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    settlement.succeed(db.session.get(Payment, slow.id), NOW)
    db.session.commit()
    assert wallet.balance(org.id, "CLP") == 10_000


def test_a_top_up_by_card_funds_the_wallet(owed):
    from portal.workflows import payments as payment_flow

    org, _invoice, card = owed
    with pytest.raises(DomainError) as refused:
        payment_flow.pay(lambda: [checkout.claim_top_up(org, -100, "card", "neg", NOW, card)], NOW)
    assert refused.value.code == "negative_amount"
    payment_flow.pay(lambda: [checkout.claim_top_up(db.session.merge(org), 25_000, "card", "fund", NOW,
                                                    db.session.merge(card))], NOW)
    assert wallet.balance(org.id, "CLP") == 25_000


def test_money_received_outside_is_recorded_once_and_pays_the_invoice(owed):
    org, invoice, _card = owed
    with writing():
        first = checkout.record_received(org, invoice, invoice.total, "bank_transfer", "stmt:row-7", NOW,
                                         payer_reference="RF18539007547034")
        again = checkout.record_received(org, invoice, invoice.total, "bank_transfer", "stmt:row-7", NOW)
        db.session.commit()
    assert first.payment.id == again.payment.id and first.payment.state == "succeeded"
    assert checkout.find_by_payer_reference("manual", "RF18539007547034").id == first.payment.id
    assert db.session.get(Invoice, invoice.id).status == "paid"
    with pytest.raises(DomainError):
        checkout.record_received(org, invoice, 1, "card", "stmt:row-8", NOW)
