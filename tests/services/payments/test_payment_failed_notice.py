"""The `payment_failed` notice: an automatic payment that failed is told once per attempt, by e-mail over real
SMTP, to the e-mails the payer's notice preferences choose, each in its reader's language, with when it is tried
again (1, 3 and 5 days after the first attempt) — and after the last attempt, that it is not, the invoice being
left to dunning. And the batch of a billing run: attempts with nothing to charge cost one query."""

from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import NoticeLog, OutboxMessage, Payment
from portal.services.notices import dunning, preferences
from portal.services.payments import auto_pay
from portal.workflows import auto_pay as auto_pay_flow
from tests import factories
from tests.services.payments.helpers import NOW, make_card
from tests.smtp import SmtpSink, parts


@pytest.fixture
def smtp(app):
    with SmtpSink() as sink:
        app.config.update(sink.config)
        yield sink


def _mails() -> list[OutboxMessage]:
    return list(db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.template == "notice_payment_failed")
                                   .order_by(OutboxMessage.id)))


def _declined_customer(country="BR", locale="pt_BR"):
    member = factories.make_member("customer", "admin", organisation=factories.make_org("customer", country),
                                   locale=locale)
    org = member.organisation
    make_card(org, "declined", last4="0002")
    invoice = factories.make_invoice(org)
    db.session.commit()
    return org, member.user, invoice


def test_each_chosen_reader_gets_it_in_their_language_over_smtp(app, smtp):
    org, admin, invoice = _declined_customer()
    spanish = factories.make_member("customer", "member", organisation=org, locale="es").user
    english = factories.make_member("customer", "member", organisation=org, locale="en").user
    left_out = factories.make_member("customer", "admin", organisation=org, locale="pt_BR").user
    org.accountant_email = "contador@estudio.com.br"
    preferences.save_preferences(org, 7, {"payment_failed": [admin.email, spanish.email, english.email,
                                                             "contador@estudio.com.br"]}, NOW, admin)
    db.session.commit()

    [payment] = auto_pay_flow.attempt(invoice.id, 1, NOW)

    assert (payment.state, payment.failure_code) == ("failed", "card_declined")
    expected = {admin.email: ("O pagamento automático da fatura", "Tentaremos de novo"),
                spanish.email: ("Falló el pago automático", "Intentaremos de nuevo"),
                english.email: ("Automatic payment of invoice", "We will try again"),
                "contador@estudio.com.br": ("O pagamento automático da fatura", "Tentaremos de novo")}
    for email, (subject, retry) in expected.items():
        received = smtp.wait_for(email)
        text, html = parts(received)
        assert subject in received["Subject"] and invoice.display_number in received["Subject"]
        assert retry in text and "Visa •••• 0002" in text and payment.reference in text
        assert f"http://portal.test/customer/invoices/{invoice.id}" in text and "/customer/invoices/" in html
    assert smtp.to(left_out.email) == []
    assert len(_mails()) == 4
    [logged] = db.session.scalars(db.select(NoticeLog).where(NoticeLog.notice == "payment_failed")).all()
    assert logged.trigger == f"autopay:{invoice.id}:1"


def test_without_stored_preferences_the_administrators_are_told(app, smtp):
    org, admin, invoice = _declined_customer("CL", "es")
    factories.make_member("customer", "member", organisation=org, locale="es")
    db.session.commit()
    auto_pay_flow.attempt(invoice.id, 1, NOW)
    received = smtp.wait_for(admin.email)
    assert "Falló el pago automático" in received["Subject"]
    assert [mail.recipient for mail in _mails()] == [admin.email]


def test_a_payer_that_chose_nobody_gets_no_e_mail_but_the_attempt_is_recorded(app):
    org, admin, invoice = _declined_customer()
    preferences.save_preferences(org, 7, {"payment_failed": []}, NOW, admin)
    db.session.commit()
    [payment] = auto_pay_flow.attempt(invoice.id, 1, NOW)
    assert payment.state == "failed" and _mails() == []
    assert db.session.scalar(db.select(db.func.count(NoticeLog.id)).where(NoticeLog.notice == "payment_failed")) == 1


def test_it_is_sent_once_per_attempt_however_often_it_is_asked(app):
    org, admin, invoice = _declined_customer()
    [payment] = auto_pay_flow.attempt(invoice.id, 1, NOW)
    for _ in range(3):
        assert auto_pay.notify_failure(db.session.get(Payment, payment.id), NOW) is False
        db.session.commit()
    auto_pay_flow.attempt(invoice.id, 1, NOW)  # the same attempt again: no new payment, no new notice
    assert len(_mails()) == 1


def test_the_retries_follow_the_schedule_then_dunning_takes_over(app):
    org, admin, invoice = _declined_customer("CL", "es")
    due_at = invoice.due_at
    attempts = []
    at = NOW
    while (due := auto_pay.due_retries(at + timedelta(days=30))) or not attempts:
        number = due[0][1] if due else 1
        at = NOW if number == 1 else NOW + timedelta(days=auto_pay.RETRY_AFTER_DAYS[number - 2])
        assert auto_pay.due_retries(at - timedelta(minutes=1)) == []
        auto_pay_flow.attempt(invoice.id, number, at)
        attempts.append((number, (at - NOW).days))
    assert attempts == [(1, 0), (2, 1), (3, 3), (4, 5)]
    mails = _mails()
    assert len(mails) == 4 and all("Intentaremos de nuevo" in mail.text_body for mail in mails[:3])
    assert "No lo intentaremos de nuevo" in mails[-1].text_body
    # Left unpaid, the invoice is dunning's: overdue once its due date has passed.
    dunning.run_dunning(due_at + timedelta(days=1), grace_days=15)
    db.session.commit()
    overdue = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.template == "notice_overdue")).all()
    assert [mail.recipient for mail in overdue] == [admin.email]


def test_the_preferences_page_offers_the_notice(login_as):
    client = login_as("customer", "admin", locale="es")
    page = client.get("/customer/account/billing-preferences").get_data(as_text=True)
    assert 'name="notice-payment_failed"' in page and "Pago automático fallido" in page


def test_a_batch_leaves_at_once_what_has_nothing_to_charge(app, count_queries):
    by_hand = [factories.make_invoice(factories.make_org("customer", "CL")) for _ in range(5)]
    db.session.commit()
    attempts = [(invoice.id, 1) for invoice in by_hand]
    with count_queries() as counter:
        assert auto_pay_flow.attempt_batch(attempts, NOW) == 0
    assert counter["n"] <= 3  # one query, in its own transaction
    assert db.session.scalar(db.select(db.func.count(Payment.id))) == 0


def test_a_batch_pays_each_payer_its_way_and_again_pays_nothing(app):
    from portal.models import Invoice, WalletSettings
    from portal.services.payments import wallet

    carded = factories.make_member("customer", "admin", locale="es").organisation
    make_card(carded)
    walleted = factories.make_member("customer", "admin", locale="es").organisation
    db.session.add(WalletSettings(organisation_id=walleted.id, pay_from_wallet=True, auto_recharge=False,
                                  recharge_threshold=0, recharge_amount=0))
    wallet.add_entry(walleted, "top_up", 1_000_000, NOW)
    declined = factories.make_member("customer", "admin", locale="es").organisation
    make_card(declined, "declined")
    by_hand = factories.make_org("customer", "CL")
    invoices = [factories.make_invoice(org) for org in (carded, walleted, declined, by_hand)]
    db.session.commit()
    attempts = [(invoice.id, 1) for invoice in invoices]

    assert auto_pay_flow.attempt_batch(attempts, NOW) == 3
    assert auto_pay_flow.attempt_batch(attempts, NOW) == 1  # the declined one finds its attempt made

    states = [db.session.get(Invoice, invoice.id).status for invoice in invoices]
    assert states == ["paid", "paid", "open", "open"]
    payments = db.session.scalars(db.select(Payment).order_by(Payment.id)).all()
    assert [(p.organisation_id, p.method_kind, p.state) for p in payments] == [
        (carded.id, "card", "succeeded"), (walleted.id, "wallet", "succeeded"), (declined.id, "card", "failed")]
    assert len(_mails()) == 1 and wallet.balance(walleted.id, "CLP") == 1_000_000 - invoices[1].total
