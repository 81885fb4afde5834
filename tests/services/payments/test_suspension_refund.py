"""Suspending an annual plan: the whole unused months are credited, and what of them the customer had already paid
goes back to its wallet at once, as refunds backed by the suspension's credit note. A partly paid invoice is never
settled for more than it still owed (the credit beyond it goes to the wallet); an unpaid one just owes less; the
refund appears once even when the suspension is confirmed twice."""

from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Invoice, Payment, Refund, WalletEntry
from portal.services.billing import credit_notes, invoicing
from portal.services.billing import subscriptions as subs
from portal.services.billing.rules import add_months
from portal.services.errors import DomainError
from portal.services.payments import suspension, wallet
from tests import factories
from tests.services.billing_helpers import JAN, invoices_of, make_catalog
from tests.services.payments.helpers import make_card, pay_by_card

MOMENT = add_months(JAN, 4) + timedelta(days=3)  # in the 5th month: 7 whole months unused


@pytest.fixture
def annual(app):
    """A Chilean customer's annual Plan Básico (CLP 119,000 with tax), invoiced and not paid yet."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        cat = make_catalog()
        admin = factories.make_member("customer", "admin")
        org = admin.organisation
        sub = subs.start_subscription(org, cat.basic, "CLP", "annual", JAN, trial_days=0)
        card = make_card(org)
        db.session.commit()
        [invoice] = invoices_of(org)
        yield org, sub, invoice, card


def _left(invoice: Invoice) -> int:
    """What the invoice asks, less what it was credited and paid net of refunds: never below zero."""
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    return invoice.total - credit_notes.credited_total(invoice) - credit_notes.paid_total(invoice)


def test_a_paid_annual_plan_suspended_gets_the_unused_months_back_in_its_wallet(annual):
    org, sub, invoice, card = annual
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "pay-all", now=JAN)
    assert payment.state == "succeeded"
    preview = subs.preview_suspension(db.session.get(type(sub), sub.id), MOMENT)
    assert preview.refund == round(100_000 * 7 / 12) + round(round(100_000 * 7 / 12) * 0.19)
    assert preview.returned == preview.refund  # all of it was paid: all of it goes back
    suspension.suspend(db.session.get(type(sub), sub.id), MOMENT)
    db.session.commit()
    [note] = invoices_of(org, "credit_note")
    assert (note.total, note.status) == (preview.refund, "paid")  # owed back, and paid out to the wallet
    assert wallet.balance(org.id, "CLP") == preview.refund == wallet.ledger_sum(org.id, "CLP")
    [refund] = db.session.scalars(db.select(Refund)).all()
    assert (refund.amount, refund.destination, refund.credit_note_id, refund.state) == (
        preview.refund, "wallet", note.id, "succeeded")
    assert db.session.get(Payment, payment.id).refunded_amount == preview.refund
    assert _left(invoice) == 0 and db.session.get(Invoice, invoice.id).status == "paid"
    assert "credit_refunded_to_wallet" in set(db.session.scalars(db.select(AuditEvent.action)))


def test_a_partly_paid_invoice_is_not_settled_for_more_than_it_owed(annual):
    """The risk noted at stop 17: 60,000 paid of 119,000, then a credit of 69,416 for 7 unused months. The credit
    used to settle the invoice whole, 60,000 + 69,416 covering 119,000 with 10,416 too many and nothing given
    back. Now the credit settles the 59,000 still owed and the 10,416 beyond it are refunded to the wallet."""
    org, sub, invoice, card = annual
    pay_by_card(org.id, invoice.id, 60_000, card.id, "pay-part", now=JAN)
    owed = credit_notes.amount_due(db.session.get(Invoice, invoice.id))
    assert owed == invoice.total - 60_000 == 59_000
    preview = subs.preview_suspension(db.session.get(type(sub), sub.id), MOMENT)
    assert preview.refund > owed  # the credit is more than what the invoice still owes
    assert preview.returned == preview.refund - owed
    suspension.suspend(db.session.get(type(sub), sub.id), MOMENT)
    db.session.commit()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert wallet.balance(org.id, "CLP") == preview.refund - owed
    assert _left(invoice) == 0  # paid (net of refunds) + credited == total, not more
    # what the customer paid, less what came back, is what it owed for the five months used
    assert 60_000 - wallet.balance(org.id, "CLP") == invoice.total - preview.refund


def test_a_partly_paid_invoice_owing_more_than_the_credit_just_owes_less(annual):
    org, sub, invoice, card = annual
    pay_by_card(org.id, invoice.id, 10_000, card.id, "pay-little", now=JAN)
    preview = subs.preview_suspension(db.session.get(type(sub), sub.id), MOMENT)
    assert preview.returned == 0
    suspension.suspend(db.session.get(type(sub), sub.id), MOMENT)
    db.session.commit()
    assert wallet.balance(org.id, "CLP") == 0 and db.session.scalar(db.select(db.func.count(WalletEntry.id))) == 0
    assert credit_notes.amount_due(db.session.get(Invoice, invoice.id)) == invoice.total - 10_000 - preview.refund


def test_an_invoice_settled_by_hand_is_refunded_to_the_wallet_too(annual):
    org, sub, invoice, _card = annual
    invoicing.mark_paid(db.session.get(Invoice, invoice.id), JAN)
    db.session.commit()
    preview = subs.preview_suspension(db.session.get(type(sub), sub.id), MOMENT)
    suspension.suspend(db.session.get(type(sub), sub.id), MOMENT)
    db.session.commit()
    [note] = invoices_of(org, "credit_note")
    assert note.status == "paid" and wallet.balance(org.id, "CLP") == preview.refund == preview.returned
    assert db.session.scalar(db.select(db.func.count(Refund.id))) == 0  # no payment to refund: a movement only


def test_suspending_twice_refunds_once(annual):
    org, sub, invoice, card = annual
    pay_by_card(org.id, invoice.id, invoice.total, card.id, "pay-all", now=JAN)
    suspension.suspend(db.session.get(type(sub), sub.id), MOMENT)
    db.session.commit()
    balance = wallet.balance(org.id, "CLP")
    with pytest.raises(DomainError):
        suspension.suspend(db.session.get(type(sub), sub.id), MOMENT + timedelta(minutes=1))
    db.session.rollback()
    assert wallet.balance(org.id, "CLP") == balance and len(invoices_of(org, "credit_note")) == 1


@pytest.mark.parametrize("paid_first", [60_000, 0], ids=["partly-paid", "unpaid"])
def test_any_credit_beyond_what_an_open_invoice_owed_goes_to_the_wallet(annual, paid_first):
    """Not only a suspension's: a refund by credit notes (a cancellation's leftover credits, the sweep's) on an
    invoice partly paid gives what exceeds its debt back to the wallet, as a movement naming the credit note;
    on an unpaid one the credit only lowers the debt."""
    from portal.services.billing import refunds as billing_refunds

    org, sub, invoice, card = annual
    if paid_first:
        pay_by_card(org.id, invoice.id, paid_first, card.id, "pay-part", now=JAN)
    owed = credit_notes.amount_due(db.session.get(Invoice, invoice.id))
    credit = billing_refunds.refund(db.session.get(type(sub), sub.id), round(100_000 * 7 / 12), MOMENT)
    db.session.commit()
    given = max(credit - owed, 0)
    assert wallet.balance(org.id, "CLP") == given
    assert _left(invoice) == max(owed - credit, 0)  # paid (net of refunds) + credited never exceed the total
    if paid_first:
        assert given == 10_416 and db.session.get(Invoice, invoice.id).status == "paid"
        entry = db.session.scalar(db.select(WalletEntry).where(WalletEntry.organisation_id == org.id))
        assert entry.kind == "refund_in" and "suspension" not in entry.reason
    else:
        assert given == 0 and db.session.get(Invoice, invoice.id).status == "open"


def test_a_card_refund_the_gateway_refuses_goes_to_the_wallet_instead(annual):
    """The suspension's credit note is paid out when it is issued: should the card's gateway refuse the refund
    (here a charge it does not know), the money goes to the wallet rather than nowhere, once."""
    from portal.workflows import refunds as refund_flow

    org, sub, invoice, card = annual
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "pay-all", now=JAN)
    db.session.get(Payment, payment.id).gateway_payment_id = None
    db.session.commit()
    assert [c.id for c in suspension.refund_cards(db.session.get(type(sub), sub.id))] == [card.id]
    suspension.suspend(db.session.get(type(sub), sub.id), MOMENT, destination="method")
    db.session.commit()
    [waiting] = suspension.waiting_refunds(db.session.get(type(sub), sub.id))
    refund_flow.ask_gateway(waiting, MOMENT)
    refund_flow.ask_gateway(waiting, MOMENT)  # asked again: nothing more
    db.session.expire_all()
    [note] = invoices_of(org, "credit_note")
    states = [(r.destination, r.state, r.amount) for r in db.session.scalars(db.select(Refund).order_by(Refund.id))]
    assert states == [("method", "failed", note.total), ("wallet", "succeeded", note.total)]
    assert wallet.balance(org.id, "CLP") == note.total == db.session.get(Payment, payment.id).refunded_amount
    assert _left(invoice) == 0 and note.status == "paid"


def test_the_cards_that_can_take_money_back_are_read_in_the_same_statements_for_any_number_of_payments(
        annual, count_queries):
    org, sub, invoice, card = annual
    pay_by_card(org.id, invoice.id, 10_000, card.id, "pay-1", now=JAN)
    db.session.expire_all()
    with count_queries() as one:
        assert [c.id for c in suspension.refund_cards(db.session.get(type(sub), sub.id))] == [card.id]
    for n in range(2, 6):
        pay_by_card(org.id, invoice.id, 10_000, card.id, f"pay-{n}", now=JAN)
    db.session.expire_all()
    with count_queries() as five:
        assert [c.id for c in suspension.refund_cards(db.session.get(type(sub), sub.id))] == [card.id]
    assert five["n"] == one["n"]
