"""Dunning: reminders before renewals and due dates, invoice and overdue notices, and the block after the grace
period; each notice once per trigger (run 3 times in a row or 8 at once: one e-mail), to the e-mails chosen in
the billing preferences, in each reader's language, delivered over real SMTP."""

import threading
from datetime import timedelta

import pytest

from portal.database import writing
from portal.extensions import db
from portal.models import NoticeLog, Organisation, OutboxMessage
from portal.services.notices import dunning, preferences
from tests import factories
from tests.services.payments.helpers import NOW, make_card, pay_by_card
from tests.smtp import SmtpSink, parts

GRACE = 15


@pytest.fixture
def smtp(app):
    with SmtpSink() as sink:
        app.config.update(sink.config)
        yield sink


def _mails(template: str | None = None) -> list[OutboxMessage]:
    query = db.select(OutboxMessage).order_by(OutboxMessage.id)
    if template:
        query = query.where(OutboxMessage.template == template)
    return list(db.session.scalars(query))


def _customer(country: str = "CL", locale: str | None = None):
    member = factories.make_member("customer", "admin", organisation=factories.make_org("customer", country),
                                   locale=locale)
    return member.organisation, member.user


def _run(now=NOW):
    result = dunning.run_dunning(now, GRACE)
    db.session.commit()
    return result


def test_an_overdue_invoice_is_told_once_then_blocks_after_the_grace_period_and_paying_unblocks(app):
    org, admin = _customer()
    invoice = factories.make_invoice(org, issued_at=NOW - timedelta(days=20), due_days=10)  # due 10 days ago
    card = make_card(org)
    db.session.commit()
    for _ in range(3):
        _run()
    overdue = _mails("notice_overdue")
    assert len(overdue) == 1 and overdue[0].recipient == admin.email
    assert invoice.display_number in overdue[0].subject and "bloqueada" in overdue[0].text_body
    assert db.session.get(Organisation, org.id).status == "active"
    later = NOW + timedelta(days=GRACE - 10)
    for _ in range(3):
        result = _run(later)
    org = db.session.get(Organisation, org.id)
    assert (org.status, org.blocked_reason) == ("blocked", "unpaid")
    assert len(_mails("notice_blocked")) == 1 and len(_mails("notice_overdue")) == 1 and result.blocked == 0
    pay_by_card(org.id, invoice.id, invoice.total, card.id, "pay-it")
    assert db.session.get(Organisation, org.id).status == "active"


def test_an_invoice_paid_in_time_is_never_overdue(app):
    org, _admin = _customer()
    invoice = factories.make_invoice(org, issued_at=NOW - timedelta(days=9), due_days=10)
    card = make_card(org)
    db.session.commit()
    pay_by_card(org.id, invoice.id, invoice.total, card.id, "on-time")
    _run(NOW + timedelta(days=30))
    assert _mails("notice_overdue") == [] and _mails("notice_due_soon") == []
    assert db.session.get(Organisation, org.id).status == "active"


def test_invoice_issued_due_soon_and_renewal_reminders_each_once(app):
    org, admin = _customer()
    factories.make_invoice(org, issued_at=NOW - timedelta(days=8), due_days=10)  # due in 2 days
    factories.make_subscription(org, start=NOW - timedelta(days=25))  # renews in about 5 days
    db.session.commit()
    for _ in range(3):
        _run()
    assert [len(_mails(t)) for t in ("notice_invoice_issued", "notice_due_soon", "notice_renewal_upcoming")] \
        == [0, 1, 1]  # issued 8 days ago: too old to announce now
    fresh = factories.make_invoice(org, issued_at=NOW - timedelta(hours=2), due_days=10)
    db.session.commit()
    _run()
    _run()
    issued = _mails("notice_invoice_issued")
    assert len(issued) == 1 and fresh.display_number in issued[0].subject


def test_the_renewal_reminder_follows_the_days_chosen(app):
    org, admin = _customer()
    sub = factories.make_subscription(org, start=NOW - timedelta(days=25))
    preferences.save_preferences(org, 2, {"renewal_upcoming": [admin.email]}, NOW, admin)
    db.session.commit()
    _run()
    assert _mails("notice_renewal_upcoming") == []
    assert sub.current_period_end - NOW > timedelta(days=2)
    _run(sub.current_period_end - timedelta(days=1))
    assert len(_mails("notice_renewal_upcoming")) == 1


def test_notices_go_only_where_the_preferences_say_in_each_readers_language(app, smtp):
    org, admin = _customer("BR", locale="pt_BR")
    spanish = factories.make_member("customer", "member", organisation=org, locale="es").user
    english = factories.make_member("customer", "member", organisation=org, locale="en").user
    org.accountant_email = "contador@estudio.com.br"
    invoice = factories.make_invoice(org, issued_at=NOW - timedelta(days=20), due_days=10)
    preferences.save_preferences(org, 7, {"overdue": [spanish.email, english.email, admin.email,
                                                      "contador@estudio.com.br"],
                                          "due_soon": []}, NOW, admin)
    db.session.commit()
    _run()
    expected = {spanish.email: "vencida", english.email: "is overdue", admin.email: "está vencida",
                "contador@estudio.com.br": "está vencida"}  # not a user: the organisation's language
    for email, words in expected.items():
        received = smtp.wait_for(email)
        text, html = parts(received)
        assert words in received["Subject"] and invoice.display_number in received["Subject"]
        assert "http://portal.test/customer/pay" in text and "http://portal.test/customer/pay" in html
    assert len(_mails("notice_overdue")) == 4


def test_a_notice_nobody_chose_is_logged_and_not_sent(app):
    org, admin = _customer()
    factories.make_invoice(org, issued_at=NOW - timedelta(days=20), due_days=10)
    preferences.save_preferences(org, 7, {}, NOW, admin)
    db.session.commit()
    _run()
    _run()
    assert _mails("notice_overdue") == []
    assert db.session.scalar(db.select(db.func.count(NoticeLog.id)).where(NoticeLog.notice == "overdue")) == 1


def test_eight_runs_at_once_send_each_notice_once(app):
    org, admin = _customer()
    factories.make_invoice(org, issued_at=NOW - timedelta(days=30), due_days=10)  # overdue past the grace period
    factories.make_invoice(org, issued_at=NOW - timedelta(hours=1), due_days=2)  # issued, and due soon
    db.session.commit()
    org_id = org.id
    db.session.remove()
    errors = []
    barrier = threading.Barrier(8)

    def attempt():
        with app.app_context():
            try:
                barrier.wait()
                with writing():
                    dunning.run_dunning(NOW, GRACE)
                    db.session.commit()
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
    counts = {t: len(_mails(t)) for t in ("notice_overdue", "notice_blocked", "notice_invoice_issued",
                                          "notice_due_soon")}
    assert counts == {"notice_overdue": 1, "notice_blocked": 1, "notice_invoice_issued": 1, "notice_due_soon": 1}
    assert db.session.get(Organisation, org_id).status == "blocked"


def test_a_license_partner_is_reminded_of_its_renewal_with_its_products_quantities_and_amount(app):
    """A license subscription has no plan: its reminder names each product held, its quantity and monthly fee,
    and the renewal invoice's total (the estimate's: taxes and prorated additions included), and links to the
    partner's own invoices, never a customer's screen."""
    from portal.services.billing import estimate
    from portal.services.partners import orders

    partner = factories.make_org("partner", country="BR", currency="BRL")
    admin = factories.make_member("partner", "admin", organisation=partner, locale="pt_BR").user
    _list, products = factories.make_partner_catalog(partner)
    start = NOW - timedelta(days=26)
    for product, quantity in ((products["completo"], 10), (products["light"], 2)):
        orders.add_line(partner, admin, "purchase", product, quantity, start)
    orders.approve(orders.confirm(orders.draft_for(partner, admin), admin, start), admin, start)
    db.session.commit()
    for _ in range(3):
        _run()
    [mail] = _mails("notice_renewal_upcoming")
    sub_id = db.session.scalar(db.select(NoticeLog.trigger).where(NoticeLog.notice == "renewal_upcoming"))
    total = next(iter(estimate.next_invoices(partner.id).values())).total
    body = " ".join(mail.text_body.replace("\xa0", " ").split())
    assert mail.recipient == admin.email and "licenças" in mail.subject and sub_id.startswith("sub:")
    assert "10 × Moderniza Completo a R$ 89,90 por mês: R$ 899,00" in body
    assert "2 × Moderniza Light a R$ 49,90 por mês: R$ 99,80" in body
    assert total >= 99_880 and f"R$ {total // 100:,}".replace(",", ".") in body
    assert "/partner/invoices" in body and "/customer/" not in body
