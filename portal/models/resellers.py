"""The e-mails a reseller links to itself: a customer whose accountant's e-mail is one of them is its customer."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organisation
from portal.orm import utcnow


class ResellerEmail(db.Model):
    """One e-mail a reseller links to itself; an e-mail belongs to one reseller at most (unique)."""

    __tablename__ = "reseller_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reseller: Mapped[Organisation] = relationship()


class HiringLinkUse(db.Model):
    """A reseller's hiring link once it created its client: the link's random id is unique, so a link is used
    once."""

    __tablename__ = "hiring_link_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[str] = mapped_column(String(64), unique=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
