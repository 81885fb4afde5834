"""The e-mail outbox: every message is stored before it is sent, so none is lost."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.orm import utcnow


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (CheckConstraint("status IN ('pending', 'sent', 'logged', 'failed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8))
    template: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]  # taken by a sender, until it records the SMTP server's answer (a lease)
    # The values a message queued with `render_at_send` is rendered from by its sender (subject and bodies empty
    # until then; cleared once they are stored). services/mail/composing.py.
    context: Mapped[dict | None] = mapped_column(JSON)
