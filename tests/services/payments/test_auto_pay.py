"""Auto-pay at renewal: the invoices the billing sweep issues are paid by themselves — the wallet first when
the customer chose it, then the auto-pay card — once per invoice and attempt however often the job runs
(QUALITY.md R1); a failed card is tried again after 1, 3 and 5 days and the customer is told, in their
language; an expired card is not charged."""

import threading
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.jobs import auto_pay_invoice, retry_auto_pay
from portal.models import Invoice, OutboxMessage, Payment, PaymentMethod, WalletEntry, WalletSettings
from portal.orm import utcnow
from portal.services.billing import credit_notes
from portal.services.payments import auto_pay, methods, wallet
from portal.workflows import auto_pay as auto_pay_flow
from portal.workflows.billing_run import run_sweep
from tests import factories
from tests.services.billing_helpers import JAN, make_catalog
from tests.services.payments.helpers import NOW, make_card


@pytest.fixture
def customer(app):
    """A Chilean customer whose administrator reads Spanish, with an open invoice of CLP 47.568."""
    member = factories.make_member("customer", "admin", locale="es")
    org = member.organisation
    invoice = factories.make_invoice(org)
    db.session.commit()
    return org, invoice


def _payments(invoice_id: int) -> list[Payment]:
    return list(db.session.scalars(db.select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.id)))


def _mails(template: str) -> list[OutboxMessage]:
    return list(db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.template == template)
                                   .order_by(OutboxMessage.id)))


def _settings(org, **fields) -> None:
    row = db.session.get(WalletSettings, org.id) or WalletSettings(organisation_id=org.id)
    for name, value in {"pay_from_wallet": False, "auto_recharge": False, "recharge_threshold": 0,
                        "recharge_amount": 0, **fields}.items():
        setattr(row, name, value)
    db.session.add(row)
    db.session.flush()


def _assert_ledger(org) -> None:
    assert wallet.balance(org.id, org.currency) == wallet.ledger_sum(org.id, org.currency) >= 0
    balances = db.session.scalars(db.select(WalletEntry.balance_after).where(WalletEntry.organisation_id == org.id))
    assert all(value >= 0 for value in balances)


def test_the_invoice_a_renewal_issues_is_paid_with_the_auto_pay_card(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        cat = make_catalog()
    paying = factories.make_org("customer", "CL")
    factories.make_member("customer", "admin", organisation=paying)
    card = make_card(paying)
    factories.make_subscription(paying, plan=cat.basic, start=JAN)
    by_hand = factories.make_org("customer", "CL")
    factories.make_subscription(by_hand, plan=cat.basic, start=JAN)
    db.session.commit()

    run_sweep(JAN + timedelta(days=32), render_pdfs=False)

    paid = db.session.scalars(db.select(Invoice).where(Invoice.organisation_id == paying.id)).one()
    assert paid.status == "paid"
    [payment] = _payments(paid.id)
    assert (payment.method_kind, payment.payment_method_id, payment.state, payment.amount) == (
        "card", card.id, "succeeded", paid.total)
    assert auto_pay.is_automatic(payment) and auto_pay.attempt_of(payment) == 1
    left = db.session.scalars(db.select(Invoice).where(Invoice.organisation_id == by_hand.id)).one()
    assert left.status == "open" and _payments(left.id) == []


def test_the_job_run_three_times_in_a_row_pays_once(customer):
    org, invoice = customer
    make_card(org)
    db.session.commit()
    for _ in range(3):
        auto_pay_invoice(invoice.id, 1)
    [payment] = _payments(invoice.id)
    assert payment.state == "succeeded" and db.session.get(Invoice, invoice.id).status == "paid"
    assert len(_mails("payment_receipt")) == 1


@pytest.mark.parametrize("behaviour, state", [("succeeds", "succeeded"), ("declined", "failed")])
def test_the_job_run_eight_times_at_once_makes_one_payment(app, customer, behaviour, state):
    org, invoice = customer
    make_card(org, behaviour)
    db.session.commit()
    invoice_id = invoice.id
    db.session.remove()
    errors, barrier = [], threading.Barrier(8)

    def run():
        with app.app_context():
            try:
                barrier.wait()
                auto_pay_flow.attempt(invoice_id, 1, NOW)
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
    payments = _payments(invoice_id)
    assert [p.state for p in payments] == [state]
    mails = _mails("payment_receipt" if state == "succeeded" else "notice_payment_failed")
    assert len(mails) == 1


def test_the_wallet_pays_first_and_the_card_the_rest(customer):
    org, invoice = customer
    _settings(org, pay_from_wallet=True)
    wallet.add_entry(org, "top_up", 20_000, NOW)
    card = make_card(org)
    db.session.commit()
    total = invoice.total

    payments = auto_pay_flow.attempt(invoice.id, 1, NOW)

    assert [(p.method_kind, p.amount, p.state) for p in payments] == [
        ("wallet", 20_000, "succeeded"), ("card", total - 20_000, "succeeded")]
    assert payments[1].payment_method_id == card.id
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert wallet.balance(org.id, "CLP") == 0
    _assert_ledger(org)


def test_a_wallet_that_covers_the_invoice_pays_it_all_and_the_card_is_not_charged(customer):
    org, invoice = customer
    _settings(org, pay_from_wallet=True)
    wallet.add_entry(org, "top_up", 100_000, NOW)
    make_card(org)
    db.session.commit()
    payments = auto_pay_flow.attempt(invoice.id, 1, NOW)
    assert [(p.method_kind, p.amount) for p in payments] == [("wallet", invoice.total)]
    assert wallet.balance(org.id, "CLP") == 100_000 - invoice.total
    _assert_ledger(org)


def test_without_pay_from_wallet_the_card_pays_and_the_balance_stays(customer):
    org, invoice = customer
    wallet.add_entry(org, "top_up", 100_000, NOW)
    make_card(org)
    db.session.commit()
    payments = auto_pay_flow.attempt(invoice.id, 1, NOW)
    assert [p.method_kind for p in payments] == ["card"]
    assert wallet.balance(org.id, "CLP") == 100_000


def test_a_declined_card_is_tried_again_on_schedule_and_pays_once_the_card_is_changed(customer):
    org, invoice = customer
    declined = make_card(org, "declined", last4="0002")
    db.session.commit()
    failed = auto_pay_flow.attempt(invoice.id, 1, NOW)
    assert [(p.state, p.failure_code) for p in failed] == [("failed", "card_declined")]

    # E-mailed in the administrator's language, with when it is tried again and a link to pay by hand.
    [mail] = _mails("notice_payment_failed")
    assert "Visa •••• 0002" in mail.text_body and "/customer/invoices/" in mail.text_body
    assert mail.locale == "es" and "Intentaremos de nuevo" in mail.text_body

    assert auto_pay.due_retries(NOW + timedelta(hours=23)) == []
    assert auto_pay.due_retries(NOW + timedelta(days=1)) == [(invoice.id, 2)]
    auto_pay_flow.attempt(invoice.id, 2, NOW + timedelta(days=1))
    assert auto_pay.due_retries(NOW + timedelta(days=2)) == []
    assert auto_pay.due_retries(NOW + timedelta(days=3)) == [(invoice.id, 3)]

    good = make_card(org, "succeeds", last4="4242", auto_pay=False)
    methods.choose_auto_pay(org, good, NOW)
    db.session.commit()
    auto_pay_flow.attempt(invoice.id, 3, NOW + timedelta(days=3))
    auto_pay_flow.attempt(invoice.id, 3, NOW + timedelta(days=3))  # the same retry again: nothing more
    states = [(auto_pay.attempt_of(p), p.payment_method_id, p.state) for p in _payments(invoice.id)]
    assert states == [(1, declined.id, "failed"), (2, declined.id, "failed"), (3, good.id, "succeeded")]
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert auto_pay.due_retries(NOW + timedelta(days=10)) == []
    assert len(_mails("notice_payment_failed")) == 2


def test_after_the_last_retry_nothing_more_is_tried_and_the_mail_says_so(customer):
    org, invoice = customer
    make_card(org, "declined")
    db.session.commit()
    for attempt, day in ((1, 0), (2, 1), (3, 3), (4, 5)):
        auto_pay_flow.attempt(invoice.id, attempt, NOW + timedelta(days=day))
    assert auto_pay_flow.attempt(invoice.id, 5, NOW + timedelta(days=9)) == []
    assert auto_pay.due_retries(NOW + timedelta(days=30)) == []
    assert len(_payments(invoice.id)) == 4
    last = _mails("notice_payment_failed")[-1]
    assert "No lo intentaremos de nuevo" in last.text_body
    assert credit_notes.amount_due(db.session.get(Invoice, invoice.id)) == invoice.total


def test_the_periodic_job_makes_the_retries_that_are_due(customer, monkeypatch):
    org, invoice = customer
    make_card(org, "declined")
    db.session.commit()
    # The job asks the clock: two days ago the first attempt, so the second (a day after it) is due, the third
    # (three days after it) not yet.
    auto_pay_flow.attempt(invoice.id, 1, utcnow() - timedelta(days=2))
    retry_auto_pay()
    retry_auto_pay()
    assert [auto_pay.attempt_of(p) for p in _payments(invoice.id)] == [1, 2]


def test_an_expired_card_is_not_charged_and_the_customer_is_told(customer):
    org, invoice = customer
    card = make_card(org, "succeeds", state="expired")
    db.session.commit()
    [payment] = auto_pay_flow.attempt(invoice.id, 1, NOW)
    assert (payment.state, payment.failure_code, payment.payment_method_id) == ("failed", "method_expired", card.id)
    assert payment.gateway_payment_id is None  # the gateway was never asked
    [mail] = _mails("notice_payment_failed")
    assert "venció" in mail.text_body
    assert db.session.get(Invoice, invoice.id).status == "open"


def test_a_card_that_expires_on_the_charge_is_not_charged_on_the_retry(customer):
    org, invoice = customer
    make_card(org, "expired")
    db.session.commit()
    first = auto_pay_flow.attempt(invoice.id, 1, NOW)
    assert first[0].failure_code == "expired_card"
    assert db.session.get(PaymentMethod, first[0].payment_method_id).state == "expired"
    second = auto_pay_flow.attempt(invoice.id, 2, NOW + timedelta(days=1))
    assert second[0].failure_code == "method_expired" and second[0].gateway_payment_id is None


def test_a_removed_card_is_never_charged(customer):
    org, invoice = customer
    card = make_card(org)
    methods.remove(org, card, NOW)
    db.session.commit()
    assert auto_pay_flow.attempt(invoice.id, 1, NOW) == []
    assert _payments(invoice.id) == []


def test_an_invoice_paid_by_hand_meanwhile_is_not_charged(customer):
    org, invoice = customer
    make_card(org)
    db.session.commit()
    from tests.services.payments.helpers import pay_by_card

    pay_by_card(org.id, invoice.id, invoice.total, make_card(org, auto_pay=False).id, "by-hand")
    assert auto_pay_flow.attempt(invoice.id, 1, NOW) == []
    assert len(_payments(invoice.id)) == 1


def test_invoices_left_to_dunning_do_not_crowd_out_a_retry_that_is_due(app):
    """An invoice whose last attempt failed stays open for weeks (dunning's): the retries due are looked for
    among the invoices with attempts left, so however many such invoices came before, a retry due is found."""
    from portal.services.payments import checkout

    org = factories.make_org("customer", "CL")
    method = make_card(org, "declined")

    def failed(invoice, number, at):
        db.session.add(checkout.new_payment_row(
            org, "invoice", invoice.total, invoice.currency, "card", "sandbox",
            auto_pay.attempt_key(invoice.id, number, "card"), at, method, None, state="failed",
            invoice_id=invoice.id, failure_code="card_declined", ended_at=at))

    for _ in range(3):  # every attempt made and failed, a month ago
        spent = factories.make_invoice(org)
        for number in range(1, auto_pay.MAX_ATTEMPTS + 1):
            failed(spent, number, NOW - timedelta(days=30))
    waiting = factories.make_invoice(org)
    failed(waiting, 1, NOW - timedelta(days=2))  # its second attempt was due a day after the first
    db.session.commit()
    assert auto_pay.due_retries(NOW, limit=3) == [(waiting.id, 2)]
