"""A refund to a card claimed but never put to its gateway — the process that was to ask it stopped right after
the claim committed — or whose answer was lost is asked again by the periodic job once UNASKED_AFTER has
passed: it does not stay "processing", holding its amount of the payment, for ever. Its reference is the
gateway's idempotency key: asked again and again, from one worker or from eight at once, the money goes back
once, with one credit note; a refusal goes to the wallet as it does when the refund's own request is refused."""

import json
from datetime import timedelta

import pytest

from portal.database import writing
from portal.extensions import db
from portal.models import Invoice, Payment, Refund
from portal.services import hooks
from portal.services.billing import credit_notes
from portal.services.billing import subscriptions as subs
from portal.services.payments import checkout, refunds, suspension, wallet
from portal.services.payments import gateway as gateways
from portal.workflows import refunds as refund_flow
from tests import factories
from tests.concurrency import at_once
from tests.services.billing_helpers import JAN, invoices_of, make_catalog
from tests.services.payments.helpers import NOW, make_card, pay_by_card
from tests.services.payments.test_suspension_refund import MOMENT

LATER = NOW + checkout.UNASKED_AFTER


@pytest.fixture
def paid(app):
    """A customer whose invoice was paid in full by card."""
    org = factories.make_member("customer", "admin").organisation
    invoice = factories.make_invoice(org)
    card = make_card(org)
    db.session.commit()
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "pay-1")
    assert payment.state == "succeeded"
    return org, invoice.id, payment.id


@pytest.fixture
def sent():
    """The refunds the sandbox gateway makes (the webhook it sends after each one), as (reference, refund id)."""
    made = []

    def keep(items):
        for _gateway, body, _delay in items:
            event = json.loads(body)
            if event["type"] == "charge.refunded":
                made.append((event["data"]["reference"], event["data"]["refund_id"]))

    with hooks.handled_by("deliver_webhook", keep):
        yield made


def _claimed_only(payment_id: int, amount: int, key: str, now=NOW) -> int:
    """Claim a refund to the card and commit, as the workflow's first transaction does, then stop."""
    with writing():
        claim = refunds.claim_refund(db.session.get(Payment, payment_id), amount, "method", key, now)
        db.session.commit()
    assert claim.refund.state == "processing"
    return claim.refund.id


def _notes(invoice_id: int) -> list[Invoice]:
    return list(db.session.scalars(db.select(Invoice).where(Invoice.credit_for_id == invoice_id,
                                                            Invoice.kind == "credit_note")))


def _ledger_holds(org_id: int) -> None:
    """Invoiced − paid (net of refunds) − credited is what the open invoices still owe."""
    db.session.expire_all()
    invoices = list(db.session.scalars(db.select(Invoice).where(
        Invoice.organisation_id == org_id, Invoice.kind == "invoice", Invoice.status != "void")))
    paid = db.session.scalar(db.select(db.func.coalesce(db.func.sum(Payment.amount - Payment.refunded_amount), 0))
                             .where(Payment.organisation_id == org_id, Payment.state == "succeeded",
                                    Payment.purpose == "invoice"))
    credited = db.session.scalar(db.select(db.func.coalesce(db.func.sum(Invoice.total), 0)).where(
        Invoice.organisation_id == org_id, Invoice.kind == "credit_note", Invoice.status != "void"))
    assert sum(i.total for i in invoices) - paid - credited == sum(credit_notes.amount_due(i) for i in invoices)
    for payment in db.session.scalars(db.select(Payment).where(Payment.organisation_id == org_id)):
        done = db.session.scalars(db.select(Refund.amount).where(Refund.payment_id == payment.id,
                                                                 Refund.state == "succeeded")).all()
        assert sum(done) == payment.refunded_amount <= payment.amount


def test_asking_the_sandbox_twice_for_one_refund_refunds_once_and_answers_the_same(paid, sent):
    _org, _invoice_id, payment_id = paid
    refund_id = _claimed_only(payment_id, 10_000, "r-1")
    request = refunds.refund_request(db.session.get(Refund, refund_id))
    sandbox = gateways.get("sandbox")
    first, again = sandbox.refund(request), sandbox.refund(request)
    db.session.commit()
    assert first == again and first.status == "succeeded" and first.gateway_refund_id.startswith("re_sb_")
    assert sent == [(request.reference, first.gateway_refund_id)]
    other = gateways.RefundRequest(request.reference, request.gateway_payment_id, 9_000, request.currency)
    assert sandbox.refund(other) == gateways.RefundResult("failed", failure_code="idempotency_key_reused")
    assert len(sent) == 1


def test_a_refund_never_asked_is_asked_again_and_made_once_with_its_credit_note(paid, sent):
    org, invoice_id, payment_id = paid
    refund_id = _claimed_only(payment_id, 10_000, "r-1")
    payment = db.session.get(Payment, payment_id)
    assert refunds.refundable(payment) == payment.amount - 10_000  # held by the refund meanwhile
    assert refund_flow.ask_again_unasked(NOW + timedelta(minutes=5)) == []  # too soon: it may be on its way
    assert sent == []
    [asked] = refund_flow.ask_again_unasked(LATER)
    assert (asked.id, asked.state) == (refund_id, "succeeded")
    for _ in range(3):  # answered: the job finds nothing more to ask, run after run
        assert refund_flow.ask_again_unasked(LATER + timedelta(hours=1)) == []
    db.session.expire_all()
    refund = db.session.get(Refund, refund_id)
    [note] = _notes(invoice_id)
    assert (refund.credit_note_id, note.total, note.status) == (note.id, 10_000, "paid")
    assert sent == [(refund.reference, refund.gateway_refund_id)]
    assert db.session.get(Payment, payment_id).refunded_amount == 10_000
    assert db.session.get(Invoice, invoice_id).status == "paid"
    assert wallet.balance(org.id, "CLP") == 0  # to the card, not to the wallet
    _ledger_holds(org.id)


def test_the_job_run_three_times_in_a_row_asks_and_records_once(paid, sent):
    org, invoice_id, payment_id = paid
    refund_id = _claimed_only(payment_id, 10_000, "r-1")
    runs = [refund_flow.ask_again_unasked(LATER) for _ in range(3)]
    assert [[r.id for r in run] for run in runs] == [[refund_id], [], []]
    assert len(sent) == 1 and len(_notes(invoice_id)) == 1
    assert db.session.get(Payment, payment_id).refunded_amount == 10_000
    _ledger_holds(org.id)


def test_the_job_from_eight_workers_at_once_makes_one_refund_and_one_credit_note(app, paid, sent):
    org, invoice_id, payment_id = paid
    org_id = org.id
    refund_id = _claimed_only(payment_id, 10_000, "r-1")
    db.session.remove()
    results, errors = at_once(app, lambda: [(r.id, r.state, r.gateway_refund_id)
                                            for r in refund_flow.ask_again_unasked(LATER)])
    answers = [answer for found in results for answer in found]
    assert errors == []
    refund = db.session.get(Refund, refund_id)
    assert refund.state == "succeeded"
    assert answers and set(answers) == {(refund_id, "succeeded", refund.gateway_refund_id)}  # the same answer
    assert sent == [(refund.reference, refund.gateway_refund_id)]  # one refund at the gateway
    assert len(_notes(invoice_id)) == 1
    assert db.session.get(Payment, payment_id).refunded_amount == 10_000
    _ledger_holds(org_id)


def test_a_refund_whose_answer_was_lost_gets_the_same_gateway_refund_again(paid, sent):
    """The gateway refunded, then the process stopped before recording it: asked again, the gateway answers the
    refund it made, and nothing more goes back."""
    org, invoice_id, payment_id = paid
    refund_id = _claimed_only(payment_id, 10_000, "r-1")
    lost = gateways.get("sandbox").refund(refunds.refund_request(db.session.get(Refund, refund_id)))
    db.session.commit()
    assert lost.status == "succeeded" and db.session.get(Refund, refund_id).state == "processing"
    [asked] = refund_flow.ask_again_unasked(LATER)
    assert (asked.id, asked.state, asked.gateway_refund_id) == (refund_id, "succeeded", lost.gateway_refund_id)
    assert sent == [(asked.reference, lost.gateway_refund_id)]  # the second ask made no second refund
    assert len(_notes(invoice_id)) == 1
    assert db.session.get(Payment, payment_id).refunded_amount == 10_000
    _ledger_holds(org.id)


def test_a_refund_refused_when_asked_again_frees_its_amount_and_credits_nothing(paid, monkeypatch):
    org, invoice_id, payment_id = paid
    refund_id = _claimed_only(payment_id, 10_000, "r-1")
    monkeypatch.setattr(gateways.get("sandbox"), "refund",
                        lambda request: gateways.RefundResult("failed", failure_code="declined"))
    [asked] = refund_flow.ask_again_unasked(LATER)
    assert (asked.id, asked.state, asked.failure_code) == (refund_id, "failed", "declined")
    payment = db.session.get(Payment, payment_id)
    assert refunds.refundable(payment) == payment.amount and _notes(invoice_id) == []
    _ledger_holds(org.id)


def test_a_gateway_that_cannot_be_reached_leaves_the_refund_to_the_next_run(paid, sent, monkeypatch):
    """Nothing is known to have happened: the refund stays processing, holding its amount, and the next run
    asks again and records the answer."""
    org, invoice_id, payment_id = paid
    refund_id = _claimed_only(payment_id, 10_000, "r-1")
    sandbox = gateways.get("sandbox")

    def unreachable(request):
        raise gateways.GatewayError("timed out")

    monkeypatch.setattr(sandbox, "refund", unreachable)
    assert refund_flow.ask_again_unasked(LATER) == []
    refund = db.session.get(Refund, refund_id)
    assert (refund.state, refund.failure_code) == ("processing", None) and _notes(invoice_id) == []
    monkeypatch.undo()
    [asked] = refund_flow.ask_again_unasked(LATER + timedelta(minutes=10))
    assert (asked.id, asked.state) == (refund_id, "succeeded") and len(_notes(invoice_id)) == 1
    assert len(sent) == 1
    _ledger_holds(org.id)


def _suspended_with_a_refund_never_asked(unknown_charge: bool = False):
    """An annual plan paid by card and suspended with its credit note paid back to the card: the refund is claimed
    and committed, and the process stops before asking the gateway. `unknown_charge`: the gateway does not know
    the charge (its id forgotten), so it refuses the refund. Returns (org, subscription, payment, refund id)."""
    cat = make_catalog()
    org = factories.make_member("customer", "admin").organisation
    sub = subs.start_subscription(org, cat.basic, "CLP", "annual", JAN, trial_days=0)
    card = make_card(org)
    db.session.commit()
    [invoice] = invoices_of(org)
    payment = pay_by_card(org.id, invoice.id, invoice.total, card.id, "pay-all", now=JAN)
    if unknown_charge:
        db.session.get(Payment, payment.id).gateway_payment_id = None
        db.session.commit()
    with writing():
        suspension.suspend(db.session.get(type(sub), sub.id), MOMENT, destination="method")
        db.session.commit()  # the process stops here: the refund is claimed, never asked
    [waiting] = suspension.waiting_refunds(db.session.get(type(sub), sub.id))
    return org, sub, payment, waiting


def test_a_suspension_refund_to_a_card_never_asked_and_refused_goes_to_the_wallet_once(app, sent):
    """A suspension's credit note is paid out when it is issued; its refund to the card, left unasked, is asked
    by the job, refused (a charge the gateway does not know), and the money goes to the wallet instead, once."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        org, sub, payment, waiting = _suspended_with_a_refund_never_asked(unknown_charge=True)
        for _ in range(3):
            refund_flow.ask_again_unasked(MOMENT + checkout.UNASKED_AFTER)
        db.session.expire_all()
        [note] = invoices_of(org, "credit_note")
        states = [(r.destination, r.state, r.amount) for r in db.session.scalars(db.select(Refund).order_by(Refund.id))]
        assert states == [("method", "failed", note.total), ("wallet", "succeeded", note.total)]
        assert db.session.get(Refund, waiting).failure_code == "charge_unknown"
        assert wallet.balance(org.id, "CLP") == note.total == db.session.get(Payment, payment.id).refunded_amount
        assert wallet.balance(org.id, "CLP") == wallet.ledger_sum(org.id, "CLP")
        assert note.status == "paid" and sent == []
        _ledger_holds(org.id)


def test_a_suspension_refund_to_a_card_never_asked_is_made_once(app, sent):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        org, sub, payment, waiting = _suspended_with_a_refund_never_asked()
        [asked] = refund_flow.ask_again_unasked(MOMENT + checkout.UNASKED_AFTER)
        assert refund_flow.ask_again_unasked(MOMENT + checkout.UNASKED_AFTER) == []
        db.session.expire_all()
        [note] = invoices_of(org, "credit_note")
        assert (asked.id, asked.state, asked.credit_note_id) == (waiting, "succeeded", note.id)
        assert sent == [(asked.reference, asked.gateway_refund_id)] and note.status == "paid"
        assert db.session.get(Payment, payment.id).refunded_amount == note.total and wallet.balance(org.id, "CLP") == 0
        assert suspension.waiting_refunds(db.session.get(type(sub), sub.id)) == []
        _ledger_holds(org.id)
