"""E-mail: messages are rendered in the recipient's language and stored in the outbox; sending is a job.

The outbox row is written in the caller's transaction. Once that transaction commits, the
message ids it added are handed to the `send_email` job, so nothing is sent for a rolled-back
change and nothing committed is lost (the periodic job picks up anything left pending).
"""

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import OutboxMessage
from portal.orm import utcnow

log = logging.getLogger(__name__)
_PENDING_KEY = "outbox_pending"
MAX_ATTEMPTS = 48  # every ten minutes (the periodic job) for eight hours, then the message is marked failed
SMTP_TIMEOUT = 20


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, always under PORTAL_BASE_URL (which may end in a URL prefix).

    Never built from the request's Host header: a forged host must not end up in a password reset link.
    """
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def queue_email(recipient: str, template: str, locale: str, **context) -> OutboxMessage:
    """Render templates/email/<template>.{subject.txt,txt,html} in `locale` and store the message."""
    context.setdefault("brand", current_app.config["BRAND_NAME"])
    with force_locale(locale):
        subject = render_template(f"email/{template}.subject.txt", **context).strip()
        text_body = render_template(f"email/{template}.txt", **context)
        html_body = render_template(f"email/{template}.html", **context)
    message = OutboxMessage(
        recipient=recipient,
        subject=" ".join(subject.split())[:300],
        text_body=text_body,
        html_body=html_body,
        locale=locale,
        template=template,
    )
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(_PENDING_KEY, []).append(message.id)
    return message


def compose(message: OutboxMessage, sender: str) -> EmailMessage:
    """The MIME message: a plain-text part and an HTML alternative."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email


def deliver(message: OutboxMessage, config) -> str:
    """Send one message over SMTP, or write it to the log when no SMTP server is configured; returns
    the status the message reaches ('sent' or 'logged'). SMTP failures raise."""
    if not config["SMTP_HOST"]:
        log.info("e-mail to %s: %s\n%s", message.recipient, message.subject, message.text_body)
        return "logged"
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(compose(message, config["MAIL_FROM"]))
    return "sent"


def send_outbox_message(message_id: int) -> str:
    """Deliver one stored message and return its status afterwards.

    Three short transactions: claim the message (attempts + 1, only if still pending and nobody claimed
    it since we read it), talk to the SMTP server with no transaction open (so a slow server never holds
    the database's write lock), then record the outcome. A failure is kept (attempts, last_error) and the
    message stays pending for the next try.
    """
    config = current_app.config
    with Session(db.engine, expire_on_commit=False) as session:
        with session.begin():
            message = session.get(OutboxMessage, message_id)
            if message is None or message.status != "pending":
                return message.status if message is not None else "missing"
            claimed = session.execute(
                db.update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.status == "pending",
                    OutboxMessage.attempts == message.attempts,
                )
                .values(attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                return "pending"  # another worker is sending it right now
        attempts = message.attempts + 1
        try:
            status, error = deliver(message, config), None
        except (OSError, smtplib.SMTPException) as failure:
            error = f"{type(failure).__name__}: {failure}"
            status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
            log.warning("e-mail %s to %s not sent (attempt %s): %s", message_id, message.recipient, attempts, error)
        with session.begin():
            values = {"status": status, "last_error": error}
            if error is None:
                values["sent_at"] = utcnow()
            session.execute(
                db.update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
                .execution_options(synchronize_session=False)
            )
    return status


def pending_message_ids(limit: int = 500, older_than: timedelta | None = None) -> list[int]:
    """Messages still pending, oldest first; `older_than` leaves out the ones whose first job may still run."""
    query = db.select(OutboxMessage.id).where(OutboxMessage.status == "pending").order_by(OutboxMessage.id)
    if older_than is not None:
        query = query.where(OutboxMessage.created_at <= utcnow() - older_than)
    return list(db.session.scalars(query.limit(limit)))


def _enqueue_committed(session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the transaction that queued the messages is still open
    from portal import jobs

    for message_id in session.info.pop(_PENDING_KEY, []):
        try:
            jobs.send_email(message_id)
        except Exception:
            # The change is committed and the message is in the outbox: the periodic job will send it.
            log.exception("could not hand e-mail %s to the job queue; the periodic job will send it", message_id)


def _forget_rolled_back(session) -> None:
    if not session.in_nested_transaction():  # a SAVEPOINT rolled back leaves the outer transaction's queue
        session.info.pop(_PENDING_KEY, None)


def init_app(app) -> None:
    """Hand committed outbox messages to the send job (listeners are global: registered once)."""
    if not event.contains(db.session, "after_commit", _enqueue_committed):
        event.listen(db.session, "after_commit", _enqueue_committed)
        event.listen(db.session, "after_rollback", _forget_rolled_back)
