"""Reminders of a client's digital certificate about to expire: 30 days before and 7 days before, each once, to
the client's administrators (from its account) and its reseller's managers (with the link to upload the new
one), each in their language; a replaced certificate starts over; real PFX files, real SMTP."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.extensions import db
from portal.models import NoticeLog, OutboxMessage
from portal.services.notices import certificates as reminders
from portal.services.resellers import certificates
from tests import factories
from tests.pfx import PASSWORD, make_pfx
from tests.smtp import SmtpSink, parts

CNPJ = "45398765000160"


@pytest.fixture
def smtp(app):
    with SmtpSink() as sink:
        app.config.update(sink.config)
        yield sink


@pytest.fixture
def client_org(app):
    office = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    factories.make_member("reseller", "manager", organisation=office, email="gestor@horizonte.test", locale="pt_BR")
    factories.make_member("reseller", "accountant", organisation=office, email="contador@horizonte.test")
    client = factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda", tax_id=CNPJ,
                                reseller_id=office.id)
    factories.make_member("customer", "admin", organisation=client, email="dona@paodourado.test", locale="en")
    factories.make_member("customer", "member", organisation=client, email="caixa@paodourado.test")
    db.session.commit()
    return client


def _keep(client, days_left: int, now: datetime):
    row = certificates.store_certificate(client, make_pfx(CNPJ, days_left=days_left, now=now), PASSWORD, now)
    db.session.commit()
    return row


def _run(now: datetime):
    result = reminders.run_certificate_reminders(now)
    db.session.commit()
    return result


def _sent() -> list[tuple[str, str]]:
    return [(m.recipient, m.subject) for m in db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.template == "notice_certificate_expiring")
        .order_by(OutboxMessage.id))]


def test_a_certificate_is_recalled_30_then_7_days_before_each_once(client_org):
    now = datetime.now(UTC).replace(microsecond=0)
    _keep(client_org, 40, now)
    assert _run(now).sent == {}  # 40 days left: nothing yet
    assert _run(now + timedelta(days=11)).sent == {30: 1}
    assert {email for email, _s in _sent()} == {"dona@paodourado.test", "gestor@horizonte.test"}
    assert _run(now + timedelta(days=12)).sent == {}  # told once
    assert _run(now + timedelta(days=34)).sent == {7: 1}
    assert len(_sent()) == 4
    assert _run(now + timedelta(days=35)).sent == {} and _run(now + timedelta(days=41)).sent == {}  # expired
    # Members and accountants are not told; every reminder is logged where it was sent from.
    assert db.session.scalar(db.select(db.func.count(NoticeLog.id)).where(
        NoticeLog.notice == "certificate_expiring")) == 4


def test_a_certificate_found_at_5_days_gets_only_the_7_day_reminder(client_org):
    now = datetime.now(UTC).replace(microsecond=0)
    _keep(client_org, 5, now)
    assert _run(now).sent == {7: 1}
    assert len(_sent()) == 2


def test_a_replaced_certificate_starts_its_own_reminders(client_org):
    now = datetime.now(UTC).replace(microsecond=0)
    _keep(client_org, 20, now)
    _run(now)
    _keep(client_org, 25, now + timedelta(days=1))  # renewed with a short one: it expires soon too
    assert _run(now + timedelta(days=1)).sent == {30: 1}
    assert len(_sent()) == 4


def test_a_client_without_a_reseller_is_told_to_renew_it_itself(app):
    client = factories.make_org("customer", "BR", name="Padaria Sozinha Ltda", tax_id=CNPJ)
    factories.make_member("customer", "admin", organisation=client, email="dono@sozinha.test", locale="es")
    db.session.commit()
    now = datetime.now(UTC).replace(microsecond=0)
    _keep(client, 10, now)
    assert _run(now).sent == {30: 1}
    [(email, subject)] = _sent()
    body = db.session.scalar(db.select(OutboxMessage.text_body))
    assert email == "dono@sozinha.test" and "certificado digital" in subject
    assert "autoridad certificadora" in body


def test_each_reads_it_in_their_language_with_the_link_they_can_open(client_org, smtp):
    now = datetime.now(UTC).replace(microsecond=0)
    _keep(client_org, 20, now)
    _run(now)
    smtp.wait_for("gestor@horizonte.test", count=1)
    smtp.wait_for("dona@paodourado.test", count=1)
    [manager] = smtp.to("gestor@horizonte.test")
    text, html = parts(manager)
    assert "certificado digital do seu cliente Padaria Pão Dourado Ltda" in text
    assert "45.398.765/0001-60" in text and f"/reseller/clients/{client_org.id}/settings/certificate" in text
    assert "Enviar o novo certificado" in html
    [owner] = smtp.to("dona@paodourado.test")
    text, _html = parts(owner)
    assert "Contabilidade Horizonte Ltda keeps it for you" in text and "/reseller/" not in text
