"""A customer's requests to its commercial advisor (seed 000: "selecciona la barra superior, que indica quién es
tu asesor comercial ... se desplegará un formulario"), and staff's answers."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organisation, User
from portal.orm import utcnow

# How the customer would like to be answered: by e-mail, a phone call (to `phone`), or a video call
# (at `preferred_time`).
CONTACT_CHOICES = ("email", "phone", "video")
# open: waiting for staff; answered: staff wrote back (the customer reads it); closed: nothing more to do.
ADVISOR_REQUEST_STATUSES = ("open", "answered", "closed")
SUBJECT_MAX, MESSAGE_MAX, ANSWER_MAX, PHONE_MAX, TIME_MAX = 200, 4000, 4000, 40, 100


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class AdvisorRequest(db.Model):
    """One request: who sent it for which organisation, to which advisor (none: the vendor's staff), and
    how it ended."""

    __tablename__ = "advisor_request"
    __table_args__ = (
        CheckConstraint(f"contact IN {_in(CONTACT_CHOICES)}", name="contact"),
        CheckConstraint(f"status IN {_in(ADVISOR_REQUEST_STATUSES)}", name="status"),
        CheckConstraint("contact != 'phone' OR phone IS NOT NULL", name="phone_for_a_call"),
        CheckConstraint("status = 'open' OR answered_at IS NOT NULL OR closed_at IS NOT NULL", name="settled_when"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # The organisation's advisor when the request was sent (None: it went to the vendor's staff).
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    message: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(PHONE_MAX))
    preferred_time: Mapped[str | None] = mapped_column(String(TIME_MAX))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
