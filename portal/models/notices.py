"""Billing notices: which ones an organisation wants and to which of its e-mails, and the log that makes each
notice go out once per trigger."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.accounts import _in
from portal.orm import utcnow

# The notices an organisation chooses: upcoming renewal, invoice issued, due soon, overdue, an automatic payment
# that failed, the wallet's balance running low, and usage reaching 80 % and 100 % of a quota. `blocked` tells
# that the grace period has passed and goes to the overdue notice's recipients.
NOTICE_KINDS = ("renewal_upcoming", "invoice_issued", "due_soon", "overdue", "payment_failed", "low_balance",
                "usage_quota")
# Logged but not chosen in the preferences: a block, and a client certificate about to expire (to the client's
# administrators and its reseller's managers).
LOGGED_NOTICES = (*NOTICE_KINDS, "blocked", "certificate_expiring")


class BillingPreferences(db.Model):
    """An organisation's choice of notices ("Preferencias de facturación"); without a row, every notice goes to
    its administrators, the renewal one 7 days before."""

    __tablename__ = "billing_preferences"
    __table_args__ = (CheckConstraint("renewal_days BETWEEN 1 AND 60", name="renewal_days"),)

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    renewal_days: Mapped[int] = mapped_column(default=7)
    # {"overdue": ["ana@empresa.cl", "contador@estudio.cl"], …}: a notice with no e-mail is not sent; one missing
    # (offered after the preferences were saved) goes to the administrators, as without a row.
    recipients: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoticeLog(db.Model):
    """One notice sent for one trigger (an invoice's due date, a renewal, a balance falling low): unique, so two
    runs of the job at once send it once."""

    __tablename__ = "notice_log"
    __table_args__ = (
        UniqueConstraint("organisation_id", "notice", "trigger"),
        CheckConstraint(f"notice IN {_in(LOGGED_NOTICES)}", name="notice"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    notice: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(80))
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
