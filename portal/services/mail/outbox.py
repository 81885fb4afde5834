"""The outbox: the messages still pending, and delivering one over SMTP (or to the log when no SMTP server is
configured). The three transactions of sending one stored message are `portal.workflows.outbox`'s.
"""

import logging
import smtplib
from datetime import timedelta

from portal.extensions import db
from portal.models import OutboxMessage
from portal.orm import utcnow
from portal.services.mail.composing import compose

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 48  # every ten minutes (the periodic job) for eight hours, then the message is marked failed
SMTP_TIMEOUT = 20


def deliver(message: OutboxMessage, config) -> str:
    """Send one message over SMTP, or write it to the log when no SMTP server is configured; returns
    the status the message reaches ('sent' or 'logged'). SMTP failures raise."""
    if not config["SMTP_HOST"]:
        # The body holds links that are secrets (password resets, invitations, sign-in links): written to the
        # log only under the development server (`flask run`, the demo), where the log is the mailbox.
        if config.get("MAIL_LOG_BODIES"):
            log.info("e-mail to %s: %s\n%s", message.recipient, message.subject, message.text_body)
        else:
            log.info("e-mail to %s: %s (kept in the outbox; no SMTP server is set)", message.recipient,
                     message.subject)
        return "logged"
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(compose(message, config["MAIL_FROM"]))
    return "sent"


def pending_message_ids(limit: int = 500, older_than: timedelta | None = None) -> list[int]:
    """Messages still pending, oldest first; `older_than` leaves out the ones whose first job may still run."""
    query = db.select(OutboxMessage.id).where(OutboxMessage.status == "pending").order_by(OutboxMessage.id)
    if older_than is not None:
        query = query.where(OutboxMessage.created_at <= utcnow() - older_than)
    return list(db.session.scalars(query.limit(limit)))
