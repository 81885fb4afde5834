"""The e-mail outbox: every message is stored, then sent by a job once its transaction commits; without SMTP
it is written to the log; a failure is kept and the message is sent by the next try."""

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from portal import jobs
from portal.extensions import db
from portal.models import OutboxMessage
from portal.services.errors import DomainError
from portal.services.mail import composing, outbox
from tests import factories
from tests.smtp import SmtpSink, free_port, parts


@pytest.fixture
def smtp(app):
    with SmtpSink() as sink:
        app.config.update(sink.config)
        yield sink


def _queue(recipient="ana@example.com", locale="en", commit=True):
    user = factories.make_user(email=recipient, name="Ana Lima")
    message = composing.queue_email(recipient, "password_reset", locale, user=user, link="http://portal.test/x",
                                    hours=2)
    if commit:
        db.session.commit()
    return message.id


def _message(message_id) -> OutboxMessage:
    db.session.rollback()  # end the read transaction: on SQLite (WAL) it would keep seeing its old snapshot
    return db.session.get(OutboxMessage, message_id)


def test_without_smtp_the_message_is_written_to_the_log_and_kept(app, caplog):
    with caplog.at_level("INFO", logger="portal.services.mail"):
        message_id = _queue()
    message = _message(message_id)
    assert message.status == "logged" and message.sent_at is not None and message.attempts == 1
    assert "e-mail to ana@example.com: Choose a new password for Vitrine" in caplog.text
    # Its link is a secret: the log names the message, and only the development server's log shows it whole.
    assert "http://portal.test/x" not in caplog.text
    from portal.services.mail import outbox

    caplog.clear()
    with caplog.at_level("INFO", logger="portal.services.mail"):
        assert outbox.deliver(message, {**app.config, "MAIL_LOG_BODIES": True}) == "logged"
    assert "http://portal.test/x" in caplog.text


def test_with_smtp_the_message_arrives_with_text_and_html(app, smtp):
    message_id = _queue(locale="pt_BR")
    received = smtp.wait_for("ana@example.com")
    assert received["From"] == "Vitrine <no-reply@vitrine.localhost>" and received["To"] == "ana@example.com"
    assert received["Subject"] == "Escolha uma nova senha para o Vitrine" and received["Message-ID"]
    text, html = parts(received)
    assert text.startswith("Olá, Ana Lima") and "http://portal.test/x" in text
    assert html.lstrip().startswith("<!doctype html>") and 'href="http://portal.test/x"' in html
    message = _message(message_id)
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)


def test_a_failure_is_recorded_and_the_retry_sends_it(app, smtp):
    smtp.refusing = True
    message_id = _queue()
    message = _message(message_id)
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.last_error.startswith("SMTPDataError") and "451" in message.last_error
    assert smtp.messages == []

    smtp.refusing = False
    jobs.send_email(message_id)
    assert smtp.wait_for("ana@example.com")
    message = _message(message_id)
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, None)
    jobs.send_email(message_id)  # a late duplicate of the job sends nothing more
    assert len(smtp.messages) == 1 and _message(message_id).attempts == 2


def test_an_unreachable_server_is_recorded_too(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())
    message_id = _queue()
    message = _message(message_id)
    assert message.status == "pending" and message.last_error.startswith("ConnectionRefusedError")


def test_the_periodic_job_retries_pending_messages_but_not_the_newest(app, smtp):
    smtp.refusing = True
    start = datetime(2025, 4, 1, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        old = _queue("old@example.com")
        clock.move_to(start + timedelta(minutes=9))
        new = _queue("new@example.com")
        smtp.refusing = False
        clock.move_to(start + timedelta(minutes=10))
        jobs.resend_pending_email.call_local()
    smtp.wait_for("old@example.com")
    assert _message(old).status == "sent"
    assert _message(new).status == "pending" and smtp.to("new@example.com") == []


def test_a_message_that_keeps_failing_is_marked_failed_and_kept(app, smtp):
    smtp.refusing = True
    message_id = _queue()
    db.session.get(OutboxMessage, message_id).attempts = outbox.MAX_ATTEMPTS - 1
    db.session.commit()
    jobs.send_email(message_id)
    message = _message(message_id)
    assert (message.status, message.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert message.text_body and message.last_error


def test_nothing_is_emailed_for_a_rolled_back_transaction(app, smtp):
    _queue(commit=False)
    db.session.rollback()
    other = _queue("after@example.com")  # the next commit sends only its own message
    smtp.wait_for("after@example.com")
    assert [m["To"] for m in smtp.messages] == ["after@example.com"]
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 1
    assert _message(other).status == "sent"


def test_a_savepoint_inside_the_transaction_neither_sends_nor_forgets(app, smtp):
    message_id = _queue(commit=False)
    with db.session.begin_nested():  # released: the outer transaction is still open
        factories.make_user(email="inner@example.com")
    refused = None
    try:
        with db.session.begin_nested():  # rolled back: the outer transaction's message stays queued
            factories.make_user(email="inner@example.com")
    except DomainError as error:
        refused = error.code
    assert refused == "email_taken"
    assert smtp.messages == [] and db.session.get(OutboxMessage, message_id).status == "pending"
    db.session.commit()
    smtp.wait_for("ana@example.com")
    assert _message(message_id).status == "sent"


def test_a_queue_that_cannot_be_reached_loses_nothing(app, monkeypatch, caplog):
    def unreachable(_message_id):
        raise ConnectionError("the job queue is down")

    monkeypatch.setattr(jobs, "send_email", unreachable)
    message_id = _queue()  # the commit itself succeeds
    assert _message(message_id).status == "pending"
    assert "periodic job will send it" in caplog.text


def test_no_transaction_is_open_while_talking_to_the_smtp_server(app, smtp):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the write lock question is SQLite's")
    database = db.engine.url.database
    writes = []

    def write_meanwhile(_message):
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # fails at once if the send held the write lock
        other.execute("ROLLBACK")
        other.close()
        writes.append(True)

    smtp.on_message = write_meanwhile
    _queue()
    smtp.wait_for("ana@example.com")
    assert writes == [True]


def test_links_in_emails_use_the_base_url_even_under_a_prefix(app):
    app.config["BASE_URL"] = "https://intranet.example.com/portal"
    with app.test_request_context("/", base_url="http://attacker.example/"):
        link = composing.external_url("auth.password_reset", token="abc")
    assert link == "https://intranet.example.com/portal/password/reset/abc"
    assert composing.external_url("auth.login") == "https://intranet.example.com/portal/login"


def test_a_message_being_sent_is_not_sent_again_by_a_second_sender(app, smtp):
    """While one sender talks to the SMTP server, another (the periodic safety net, a second worker) finds the
    message claimed and leaves it: it arrives once. A claim older than its lease (the sender died mid-way) is
    taken over, and every try carries the same Message-ID, so a message that did arrive twice reads as one."""
    import threading

    from portal.workflows.outbox import CLAIM_LEASE, send_outbox_message

    seconds = []

    def second_sender(_message):
        def run():
            with app.app_context():
                seconds.append(send_outbox_message(message_id))

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=10)

    smtp.on_message = second_sender
    message_id = _queue(commit=False)
    db.session.commit()  # the job sends it at once (tests run jobs immediately)
    first = smtp.wait_for("ana@example.com")
    assert seconds == ["pending"] and len(smtp.to("ana@example.com")) == 1
    assert _message(message_id).status == "sent" and _message(message_id).claimed_at is None

    smtp.on_message = None
    stale = _queue("bruno@example.com", commit=False)
    db.session.get(OutboxMessage, stale).claimed_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()  # claimed a minute ago by a sender still at work: left alone
    assert _message(stale).status == "pending" and not smtp.to("bruno@example.com")
    db.session.get(OutboxMessage, stale).claimed_at = datetime.now(UTC) - CLAIM_LEASE - timedelta(seconds=1)
    db.session.commit()
    assert send_outbox_message(stale) == "sent"
    again = smtp.wait_for("bruno@example.com")
    sender = app.config["MAIL_FROM"]
    assert again["Message-ID"] == composing.compose(_message(stale), sender)["Message-ID"] != first["Message-ID"]


def test_a_message_queued_to_be_rendered_by_its_sender_arrives_rendered_in_its_language(app, smtp):
    """A batch's receipts are stored with their values and rendered by the sender (services/mail/composing.py):
    until the sender takes the message it has no subject nor body; a failed first try stores what it rendered,
    and the retry sends the same message; once rendered, the values are gone."""
    from portal.services import hooks

    queued = []
    with hooks.handled_by("send_email", queued.extend):
        composing.queue_email("carla@example.com", "payment_receipt", "pt_BR", flush=False, render_at_send=True,
                              name="Carla Souza", org_name="Padaria Pão Dourado", invoice=True, number="F000042",
                              reference="PAY-ABCD-1234", link="http://portal.test/customer/invoices/42",
                              amount="R$ 141,55", still_due="R$ 0,00", method="Cartão")
        db.session.commit()
    (message_id,) = queued
    stored = _message(message_id)
    assert (stored.subject, stored.text_body, stored.html_body) == ("", "", "")
    assert stored.context["number"] == "F000042" and stored.status == "pending"

    smtp.refusing = True
    jobs.send_email(message_id)
    tried = _message(message_id)
    assert tried.status == "pending" and tried.attempts == 1 and tried.context is None
    assert tried.subject == "Pagamento recebido pela fatura F000042"
    assert "Recebemos R$ 141,55 de Padaria Pão Dourado" in tried.text_body and "PAY-ABCD-1234" in tried.html_body

    smtp.refusing = False
    jobs.send_email(message_id)
    received = smtp.wait_for("carla@example.com")
    assert received["Subject"] == tried.subject
    text, html = parts(received)
    assert text.startswith("Olá, Carla Souza") and 'href="http://portal.test/customer/invoices/42"' in html
    assert _message(message_id).status == "sent"


def test_a_message_its_sender_cannot_render_is_marked_failed_with_the_reason(app, smtp):
    from portal.services import hooks

    queued = []
    with hooks.handled_by("send_email", queued.extend):
        # Queued before an upgrade that renamed its templates: its sender has none to render it with.
        composing.queue_email("dario@example.com", "a_notice_no_longer_sent", "es", flush=False,
                              render_at_send=True, number="F000043")
        db.session.commit()
    (message_id,) = queued
    jobs.send_email(message_id)
    message = _message(message_id)
    assert message.status == "failed" and message.last_error.startswith("rendering: ")
    assert smtp.messages == []
    jobs.send_email(message_id)  # the periodic job leaves it: only pending messages are sent
    assert _message(message_id).status == "failed" and smtp.messages == []
