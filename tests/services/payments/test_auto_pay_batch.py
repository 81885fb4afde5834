"""Auto-pay of a billing run's batch (`attempt_batch`): the attempts of many payers claimed, charged and recorded
together, by the rules of one attempt — the wallet first and only up to its balance, then the card; an expired
card recorded as failed and not charged; a declined card told and tried again; installments marked; an unpaid
block lifted; a payment already made found, not made again — once per key however often the batch runs, in a
row or 8 at once (QUALITY.md R1), the ledger balanced."""

import threading
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Installment, Invoice, Organisation, OutboxMessage, Payment, WalletEntry
from portal.services.accounts import blocking
from portal.services.billing import credit_notes
from portal.services.payments import auto_pay, wallet
from portal.workflows import auto_pay as auto_pay_flow
from tests import factories
from tests.services.payments.helpers import NOW, make_card, pay_by_card
from tests.services.payments.test_auto_pay import _assert_ledger, _settings


def _payer(locale="es"):
    return factories.make_member("customer", "admin", locale=locale).organisation


@pytest.fixture
def batch(app):
    """Payers of every kind, each with an open invoice of CLP 47.568 (two for the one that pays from a wallet
    that covers only the first and part of the second)."""
    made = {}
    made["wallet"] = _payer()
    _settings(made["wallet"], pay_from_wallet=True)
    wallet.add_entry(made["wallet"], "top_up", 70_000, NOW)
    made["wallet_card"] = _payer("en")
    _settings(made["wallet_card"], pay_from_wallet=True)
    wallet.add_entry(made["wallet_card"], "top_up", 20_000, NOW)
    make_card(made["wallet_card"])
    made["card"] = _payer()
    make_card(made["card"])
    made["declined"] = _payer()
    make_card(made["declined"], "declined", last4="0002")
    made["expired"] = _payer()
    make_card(made["expired"], state="expired")
    made["paid"] = _payer()
    make_card(made["paid"])
    made["made"] = _payer()
    make_card(made["made"], "declined")
    made["installments"] = _payer()
    _settings(made["installments"], pay_from_wallet=True)
    wallet.add_entry(made["installments"], "top_up", 20_000, NOW)
    made["blocked"] = _payer()
    make_card(made["blocked"])
    made["by_hand"] = factories.make_org("customer", "CL")
    invoices = {name: factories.make_invoice(org) for name, org in made.items()}
    invoices["wallet_2"] = factories.make_invoice(made["wallet"])
    invoices["installments"] = factories.make_invoice(made["installments"], installments=3)
    invoices["blocked"] = factories.make_invoice(made["blocked"], issued_at=NOW - timedelta(days=40))
    blocking.block(made["blocked"], "unpaid", NOW)
    db.session.commit()
    # Paid by hand before the batch; and an attempt already made (declined) by the job for one invoice.
    pay_by_card(made["paid"].id, invoices["paid"].id, invoices["paid"].total,
                make_card(made["paid"], auto_pay=False).id, "by-hand")
    auto_pay_flow.attempt(invoices["made"].id, 1, NOW)
    ids = {name: invoice.id for name, invoice in invoices.items()}
    return {name: org.id for name, org in made.items()}, ids, [(invoice_id, 1) for invoice_id in ids.values()]


def _payments(invoice_id):
    return [(p.method_kind, p.amount, p.state, p.failure_code) for p in db.session.scalars(
        db.select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.id))]


def _counts():
    return (db.session.scalar(db.select(db.func.count(Payment.id))),
            db.session.scalar(db.select(db.func.count(WalletEntry.id))),
            db.session.scalar(db.select(db.func.count(OutboxMessage.id))),
            db.session.scalar(db.select(db.func.count(AuditEvent.id))))


def _check_outcome(orgs, ids):
    invoice = {name: db.session.get(Invoice, invoice_id) for name, invoice_id in ids.items()}
    total = invoice["wallet"].total
    assert _payments(ids["wallet"]) == [("wallet", total, "succeeded", None)]
    # The same wallet, further down: what is left of its balance, then nothing (it has no card).
    assert _payments(ids["wallet_2"]) == [("wallet", 70_000 - total, "succeeded", None)]
    assert _payments(ids["wallet_card"]) == [("wallet", 20_000, "succeeded", None),
                                             ("card", total - 20_000, "succeeded", None)]
    assert _payments(ids["card"]) == [("card", total, "succeeded", None)]
    assert _payments(ids["declined"]) == [("card", total, "failed", "card_declined")]
    assert _payments(ids["expired"]) == [("card", total, "failed", auto_pay.EXPIRED_METHOD)]
    assert _payments(ids["paid"]) == [("card", total, "succeeded", None)]  # paid by hand, not charged again
    assert _payments(ids["made"]) == [("card", total, "failed", "card_declined")]  # found, not made again
    assert _payments(ids["installments"]) == [("wallet", 20_000, "succeeded", None)]
    assert _payments(ids["blocked"]) == [("card", total, "succeeded", None)]
    assert _payments(ids["by_hand"]) == []
    assert {name: invoice[name].status for name in ids} == {
        "wallet": "paid", "wallet_2": "open", "wallet_card": "paid", "card": "paid", "declined": "open",
        "expired": "open", "paid": "paid", "made": "open", "installments": "open", "blocked": "paid",
        "by_hand": "open"}
    assert credit_notes.amount_due(invoice["wallet_2"]) == 2 * total - 70_000
    # The first of three installments is covered by the wallet's part; the others are not.
    parts = db.session.scalars(db.select(Installment).where(Installment.invoice_id == ids["installments"])
                               .order_by(Installment.number)).all()
    assert parts[0].amount <= 20_000 and [part.paid_at is not None for part in parts] == [True, False, False]
    assert db.session.get(Organisation, orgs["blocked"]).status == "active"
    for name in ("wallet", "wallet_card", "installments"):
        org = db.session.get(Organisation, orgs[name])
        _assert_ledger(org)
        assert wallet.balance(org.id, "CLP") == 0
    for payment in db.session.scalars(db.select(Payment).where(Payment.idempotency_key.like("autopay:%"))):
        assert auto_pay.attempt_of(payment) == 1 and payment.idempotency_key.endswith((":wallet", ":card"))


def test_a_batch_pays_each_payer_by_the_rules_of_one_attempt(batch):
    orgs, ids, attempts = batch
    receipts_before = _mails("payment_receipt")

    assert auto_pay_flow.attempt_batch(attempts, NOW) == 9

    _check_outcome(orgs, ids)
    # A receipt per payment that succeeded, to the payer's administrator in their language.
    receipts = _mails("payment_receipt")[len(receipts_before):]
    assert len(receipts) == 7
    english = db.session.scalars(db.select(OutboxMessage).where(
        OutboxMessage.template == "payment_receipt", OutboxMessage.locale == "en")).all()
    assert len(english) == 2 and all("We received" in mail.text_body for mail in english)
    assert all("Recibimos" in mail.text_body for mail in receipts if mail.locale == "es")
    # The declined card and the expired one are told (the attempt made before the batch, once, before it).
    failed = _mails("notice_payment_failed")
    assert len(failed) == 3 and sum("venció" in mail.text_body for mail in failed) == 1
    # Each failure is tried again on the schedule; the expired card's too (its payer may change the card).
    assert auto_pay.due_retries(NOW + timedelta(days=1)) == sorted(
        (ids[name], 2) for name in ("declined", "expired", "made"))
    actions = db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.action.in_(
        ("payment_started", "payment_succeeded", "payment_failed", "invoice_paid")))).all()
    # (before the batch: the payment by hand and the attempt made, started, one succeeded, one failed, one paid)
    assert sorted(set(actions)) == ["invoice_paid", "payment_failed", "payment_started", "payment_succeeded"]
    assert actions.count("payment_succeeded") == 8 and actions.count("invoice_paid") == 5


def test_a_batch_run_again_pays_nothing_more(batch):
    orgs, ids, attempts = batch
    auto_pay_flow.attempt_batch(attempts, NOW)
    after = _counts()
    for _ in range(2):
        auto_pay_flow.attempt_batch(attempts, NOW)
    assert _counts() == after
    _check_outcome(orgs, ids)


def test_the_same_batch_eight_times_at_once_makes_each_payment_once(app, batch):
    orgs, ids, attempts = batch
    db.session.remove()
    errors, barrier = [], threading.Barrier(8)

    def run():
        with app.app_context():
            try:
                barrier.wait()
                auto_pay_flow.attempt_batch(attempts, NOW)
            except Exception as error:  # noqa: BLE001 — collected and asserted below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _check_outcome(orgs, ids)
    keys = db.session.scalars(db.select(Payment.idempotency_key)).all()
    assert len(keys) == len(set(keys))
    assert len(_mails("notice_payment_failed")) == 3


def test_an_invoice_twice_in_a_batch_is_attempted_once_per_attempt(app):
    org = _payer()
    make_card(org, "declined")
    invoice = factories.make_invoice(org)
    db.session.commit()
    assert auto_pay_flow.attempt_batch([(invoice.id, 1), (invoice.id, 1), (invoice.id, 2)], NOW) == 3
    assert [(auto_pay.attempt_of(p), p.state) for p in db.session.scalars(
        db.select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.id))] == [
        (1, "failed"), (2, "failed")]


def _mails(template):
    return db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.template == template)
                              .order_by(OutboxMessage.id)).all()


def test_a_retry_that_pays_leaves_no_reference_waiting_on_its_invoice(app):
    from tests.services.payments.offline_helpers import issue, offer_demo_methods

    offer_demo_methods()
    org = factories.make_member("customer", "admin", organisation=factories.make_org("customer", "BR")).organisation
    make_card(org)
    invoice = factories.make_invoice(org, lines=[("Plano Essencial mensal", 1, 14_155)], tax_rate_bp=0)
    db.session.commit()
    issue(org.id, invoice.id, "boleto", "boleto-1")  # the payer printed a boleto after a failed attempt
    assert auto_pay_flow.attempt_batch([(invoice.id, 2)], NOW + timedelta(days=1)) == 1
    db.session.commit()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert _payments(invoice.id) == [("boleto", invoice.total, "expired", "invoice_settled"),
                                     ("card", invoice.total, "succeeded", None)]


def test_a_batch_that_pays_an_invoice_from_the_wallet_retires_its_boleto_waiting(app):
    """As one attempt does: the invoice paid in full from the wallet, the boleto issued for it earlier is no
    longer to be paid (expired, "invoice_settled"), so nobody pays it twice."""
    from tests.services.payments.offline_helpers import issue, offer_demo_methods

    offer_demo_methods()
    org = factories.make_member("customer", "admin", organisation=factories.make_org("customer", "BR")).organisation
    _settings(org, pay_from_wallet=True)
    invoice = factories.make_invoice(org, lines=[("Plano Essencial mensal", 1, 14_155)], tax_rate_bp=0)
    wallet.add_entry(org, "top_up", 20_000, NOW, currency=invoice.currency)
    db.session.commit()
    issue(org.id, invoice.id, "boleto", "boleto-1")
    assert auto_pay_flow.attempt_batch([(invoice.id, 1)], NOW) == 1
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    states = [(p.method_kind, p.state, p.failure_code) for p in db.session.scalars(
        db.select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.id))]
    assert states == [("boleto", "expired", "invoice_settled"), ("wallet", "succeeded", None)]
    _assert_ledger(org)
