"""Notices of a threshold crossed: a wallet falling below its threshold (once per fall, again after a top-up
above it), and usage reaching 80 % and then 100 % of a quota (once each per period and metric, again the next
period); to the e-mails chosen in the billing preferences that are still the organisation's, in each reader's
language, in a number of statements that does not grow with the organisations."""

from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import Membership, NoticeLog, OutboxMessage, WalletSettings
from portal.services import catalog
from portal.services.billing import usage
from portal.services.billing.rules import add_months
from portal.services.notices import preferences, thresholds
from portal.services.payments import wallet
from tests import factories
from tests.services.payments.helpers import NOW
from tests.smtp import SmtpSink, parts

START = NOW.replace(day=1, hour=0)


@pytest.fixture
def smtp(app):
    with SmtpSink() as sink:
        app.config.update(sink.config)
        yield sink


def _mails(template: str) -> list[OutboxMessage]:
    return list(db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.template == template)
                                   .order_by(OutboxMessage.id)))


def _customer(country: str = "CL", locale: str | None = "es"):
    member = factories.make_member("customer", "admin", organisation=factories.make_org("customer", country),
                                   locale=locale)
    return member.organisation, member.user


def _run(now=NOW):
    result = thresholds.run_threshold_notices(now)
    db.session.commit()
    return result


def _move(org, amount: int) -> None:
    wallet.add_entry(org, "top_up" if amount > 0 else "adjustment", amount, NOW, reason="test")
    db.session.commit()


_events = iter(range(1, 10**9))


def _report(org, quantity: int, at=NOW, metric: str = "documents") -> None:
    usage.record_events(org, [usage.Event(f"e-{next(_events)}", metric, quantity, at)], at)
    db.session.commit()


def _metered(org, included: int = 100, price: int | None = 50):
    plan = factories.make_product("plan", prices=((org.currency, "monthly", 19_990, 0),))
    catalog.set_quota(plan, "documents", included, {org.currency: price} if price else {})
    sub = factories.make_subscription(org, plan=plan, start=START)
    db.session.commit()
    return sub


def test_a_wallet_falling_below_its_threshold_is_told_once_per_fall(app):
    org, admin = _customer()
    _move(org, 50_000)
    _run()
    assert _mails("notice_low_balance") == []
    _move(org, -45_000)  # $5.000 left, below the default $10.000 of a CLP wallet
    for _ in range(3):
        _run()
    [mail] = _mails("notice_low_balance")
    assert mail.recipient == admin.email and "$5.000" in mail.subject
    assert "$5.000" in mail.text_body and "$10.000" in mail.text_body
    assert "http://portal.test/customer/wallet#top_up" in mail.text_body
    assert 'href="http://portal.test/customer/wallet#top_up"' in mail.html_body and "Agregar fondos" in mail.html_body
    _move(org, -1_000)  # lower still: the same fall
    _run()
    assert len(_mails("notice_low_balance")) == 1
    _move(org, 6_000)  # back to the threshold of $10.000: the fall is over, and the next one is told again
    _move(org, -2_000)
    _run()
    assert len(_mails("notice_low_balance")) == 2
    _move(org, 2_000)  # back to $10.000 without a fall: nothing
    _run()
    assert len(_mails("notice_low_balance")) == 2


def test_the_auto_recharge_threshold_counts_when_set_and_a_wallet_never_used_is_not_low(app):
    org, _admin = _customer("BR", locale="pt_BR")
    _run()
    assert _mails("notice_low_balance") == []  # no movement yet: no wallet to warn about
    db.session.add(WalletSettings(organisation_id=org.id, auto_recharge=True, recharge_threshold=20_000,
                                  recharge_amount=50_000))
    _move(org, 15_000)  # R$ 150,00: above the default R$ 50,00 but below the threshold chosen
    _run()
    [mail] = _mails("notice_low_balance")
    assert "R$\xa0150,00" in mail.text_body and "R$\xa0200,00" in mail.text_body
    assert thresholds.threshold_of(org) == 20_000
    other, _admin = _customer("BR", locale="pt_BR")
    assert thresholds.threshold_of(other) == thresholds.LOW_BALANCE_DEFAULTS["BRL"] == 5_000


def test_usage_is_told_at_80_then_100_per_cent_once_each_and_again_the_next_period(app):
    org, admin = _customer()
    sub = _metered(org, included=100, price=50)
    _report(org, 79)
    _run()
    assert _mails("notice_usage_quota") == []
    _report(org, 1)
    for _ in range(3):
        _run()
    [eighty] = _mails("notice_usage_quota")
    assert eighty.recipient == admin.email and "80" in eighty.subject and "Documentos electrónicos" in eighty.subject
    assert "80 de los 100" in eighty.text_body and "$50" in eighty.text_body
    assert "http://portal.test/customer/account/month" in eighty.text_body
    _report(org, 25)  # 105 of 100
    for _ in range(3):
        _run()
    assert len(_mails("notice_usage_quota")) == 2
    hundred = _mails("notice_usage_quota")[-1]
    assert "100" in hundred.subject and "105" in hundred.text_body
    assert "$250" in hundred.text_body  # 5 beyond the quota at $50 each
    # The next period: told again from 80 %.
    sub.current_period_start, sub.current_period_end = sub.current_period_end, add_months(sub.current_period_end, 1)
    db.session.commit()
    later = sub.current_period_start + timedelta(days=3)
    _report(org, 85, at=later)
    _run(later)
    assert len(_mails("notice_usage_quota")) == 3 and "80" in _mails("notice_usage_quota")[-1].subject
    assert db.session.scalar(db.select(db.func.count(NoticeLog.id)).where(NoticeLog.notice == "usage_quota")) == 3


def test_usage_beyond_the_quota_at_once_tells_100_only_and_without_an_overage_price_says_so(app):
    org, _admin = _customer("MX", locale="en")
    _metered(org, included=10, price=None)
    _report(org, 12)
    _run()
    [mail] = _mails("notice_usage_quota")
    assert "quota of 10 is used up" in mail.subject
    assert "Units beyond the quota are not charged in this plan." in mail.text_body


def test_a_notice_turned_off_is_not_sent(app):
    org, admin = _customer()
    preferences.save_preferences(org, 7, {"overdue": [admin.email]}, NOW, admin)
    _metered(org, included=10)
    _report(org, 10)
    _move(org, 100)
    _run()
    _run()
    assert _mails("notice_low_balance") == [] and _mails("notice_usage_quota") == []


def test_preferences_saved_before_these_notices_existed_send_them_to_the_administrators(app):
    org, admin = _customer()
    preferences.save_preferences(org, 7, {"overdue": [admin.email]}, NOW, admin)
    stored = db.session.get(preferences.BillingPreferences, org.id)
    stored.recipients = {notice: emails for notice, emails in stored.recipients.items()
                         if notice not in ("low_balance", "usage_quota")}
    db.session.commit()
    _move(org, 100)
    _run()
    assert [mail.recipient for mail in _mails("notice_low_balance")] == [admin.email]


def test_an_email_no_longer_the_organisations_is_not_written_to(app):
    org, admin = _customer()
    leaving = factories.make_member("customer", "member", organisation=org)
    org.accountant_email = "contador@estudio.cl"
    preferences.save_preferences(org, 7, {"low_balance": [leaving.user.email, "contador@estudio.cl"],
                                          "usage_quota": [leaving.user.email]}, NOW, admin)
    db.session.delete(db.session.get(Membership, leaving.id))
    org.accountant_email = None
    db.session.commit()
    _metered(org, included=10)
    _report(org, 9)
    _move(org, 100)
    _run()
    assert _mails("notice_low_balance") == [] and _mails("notice_usage_quota") == []
    assert db.session.scalar(db.select(db.func.count(NoticeLog.id))) == 2  # logged: the fall is not told later


def test_each_reader_gets_the_notice_in_their_language_over_smtp(app, smtp):
    org, admin = _customer("BR", locale="pt_BR")
    english = factories.make_member("customer", "member", organisation=org, locale="en").user
    org.accountant_email = "contador@estudio.com.br"
    preferences.save_preferences(org, 7, {"low_balance": [admin.email, english.email, "contador@estudio.com.br"],
                                          "usage_quota": [admin.email, english.email]}, NOW, admin)
    _metered(org, included=1_000, price=15)
    _report(org, 800)
    _move(org, 1_000)
    _run()
    expected = {admin.email: ("está acabando", "Adicionar saldo", "R$\xa010,00"),
                english.email: ("running low", "Add funds", "R$10.00"),
                "contador@estudio.com.br": ("está acabando", "Adicionar saldo", "R$\xa010,00")}  # not a user's
    for email, (subject, button, amount) in expected.items():
        smtp.wait_for(email, count=1 if email.startswith("contador") else 2)
        [received] = [message for message in smtp.to(email) if subject in message["Subject"]]
        text, html = parts(received)
        assert amount in text and button in html
    portuguese = [m for m in _mails("notice_usage_quota") if m.recipient == admin.email][0]
    assert "800 de 1.000" in portuguese.text_body and "R$\xa00,15" in portuguese.text_body
    english_usage = [m for m in _mails("notice_usage_quota") if m.recipient == english.email][0]
    assert "80% of the quota" in english_usage.text_body and "Electronic documents" in english_usage.subject


def test_a_pass_costs_the_same_statements_for_2_or_6_organisations(app, count_queries):
    def add_customers(count: int) -> None:
        for _ in range(count):
            org, _admin = _customer()
            _metered(org, included=10)
            _report(org, 9)
            _move(org, 500)

    add_customers(2)
    _run()
    db.session.expire_all()
    with count_queries() as small:
        _run()
    add_customers(4)
    _run()
    db.session.expire_all()
    with count_queries() as large:
        result = _run()
    assert result.sent == {} and large["n"] == small["n"]
    assert len(_mails("notice_low_balance")) == 6 and len(_mails("notice_usage_quota")) == 6
