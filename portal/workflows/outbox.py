"""Sending one stored e-mail: its own session and three short transactions (see `send_outbox_message`)."""

import logging
import smtplib
from datetime import timedelta

from flask import current_app
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import OutboxMessage
from portal.orm import utcnow
from portal.services.mail.composing import render_stored
from portal.services.mail.outbox import MAX_ATTEMPTS, deliver

log = logging.getLogger(__name__)
# How long a sender holds a message it took (PORTAL_MAIL_CLAIM_SECONDS, over the SMTP timeout): past it, the
# sender is taken for dead and another may send the message.
CLAIM_LEASE = timedelta(minutes=5)


def send_outbox_message(message_id: int) -> str:
    """Deliver one stored message and return its status afterwards.

    Three short transactions: claim the message (attempts + 1 and `claimed_at`, only if still pending and
    nobody holds it: a claim is a lease of CLAIM_LEASE, for a sender that died mid-way), talk to the SMTP
    server with no transaction open (so a slow server never holds the database's write lock), then record the
    outcome and let the claim go. A failure is kept (attempts, last_error) and the message stays pending for
    the next try. So the job queued for a message, the periodic safety net and a second worker never send it
    twice at once. A message queued to be rendered by its sender is rendered before its claim, and its subject
    and bodies stored with it; one that cannot be rendered (its values do not fit its templates) is marked
    failed with the reason, as trying again would not change it.
    """
    config = current_app.config
    now = utcnow()
    with Session(db.engine, expire_on_commit=False) as session:
        with session.begin():
            message = session.get(OutboxMessage, message_id)
            if message is None or message.status != "pending":
                return message.status if message is not None else "missing"
            try:
                rendered = render_stored(message)
            except Exception as failure:  # noqa: BLE001 — a message that cannot be rendered is kept, not retried
                log.exception("e-mail %s to %s could not be rendered", message_id, message.recipient)
                session.execute(db.update(OutboxMessage).where(OutboxMessage.id == message_id).values(
                    status="failed", last_error=f"rendering: {type(failure).__name__}: {failure}"[:2000])
                    .execution_options(synchronize_session=False))
                return "failed"
            claimed = session.execute(
                db.update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.status == "pending",
                    OutboxMessage.attempts == message.attempts,
                    db.or_(OutboxMessage.claimed_at.is_(None),
                           OutboxMessage.claimed_at <= now - config.get("MAIL_CLAIM", CLAIM_LEASE)),
                )
                .values(attempts=OutboxMessage.attempts + 1, claimed_at=now, **rendered)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                return "pending"  # another sender holds it right now
        attempts = message.attempts + 1
        try:
            status, error = deliver(message, config), None
        except (OSError, smtplib.SMTPException) as failure:
            error = f"{type(failure).__name__}: {failure}"
            status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
            log.warning("e-mail %s to %s not sent (attempt %s): %s", message_id, message.recipient, attempts, error)
        with session.begin():
            values = {"status": status, "last_error": error, "claimed_at": None}
            if error is None:
                values["sent_at"] = utcnow()
            session.execute(
                db.update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
                .execution_options(synchronize_session=False)
            )
    return status
