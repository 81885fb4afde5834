"""Organisations, users and their memberships (DESIGN.md §1)."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.extensions import db
from portal.orm import utcnow
from portal.text import search_text

ORG_KINDS = ("vendor", "customer", "reseller", "partner")
ROLES: dict[str, tuple[str, ...]] = {
    "vendor": ("admin", "billing", "advisor"),
    "customer": ("admin", "member"),
    "reseller": ("manager", "accountant"),
    "partner": ("admin", "seller"),
}
# What an invitation offers first: the role that can do least (a higher one is a deliberate choice).
LEAST_PRIVILEGED_ROLE = {"vendor": "advisor", "customer": "member", "reseller": "accountant", "partner": "seller"}
ORG_STATUSES = ("active", "blocked")
# Why an organisation is blocked: an overdue balance past its grace period (dunning, lifted when it is paid),
# or by hand, by its reseller or by staff (lifted by hand).
BLOCK_REASONS = ("unpaid", "reseller", "staff")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Organisation(db.Model):
    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(ORG_KINDS)}", name="kind"),
        CheckConstraint(f"status IN {_in(ORG_STATUSES)}", name="status"),
        CheckConstraint(f"blocked_reason IS NULL OR blocked_reason IN {_in(BLOCK_REASONS)}", name="blocked_reason"),
        CheckConstraint("(status = 'blocked' AND blocked_reason IS NOT NULL AND blocked_at IS NOT NULL)"
                        " OR (status = 'active' AND blocked_reason IS NULL)", name="blocked_has_reason"),
        UniqueConstraint("country", "tax_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    trade_name: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    tax_id: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Santiago")
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(8), default="es")
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="active")
    blocked_reason: Mapped[str | None] = mapped_column(String(16))
    blocked_at: Mapped[datetime | None]
    reseller_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The customer's accountant: a reseller that links this e-mail to itself becomes the customer's reseller.
    accountant_email: Mapped[str | None] = mapped_column(String(254))
    # Where invoices are e-mailed besides the administrators (at most a few addresses).
    invoice_emails: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # The receiver's fields of a Mexican CFDI 4.0: régimen fiscal, fiscal postal code, uso CFDI (SAT codes).
    tax_regime: Mapped[str | None] = mapped_column(String(3))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    cfdi_use: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Legal and trade name without accents or case, for searches by name (kept by _keep_search_name).
    search_name: Mapped[str] = mapped_column(Text, default="", server_default="")

    memberships: Mapped[list["Membership"]] = relationship(back_populates="organisation")
    reseller: Mapped["Organisation | None"] = relationship(remote_side=[id])
    advisor: Mapped["User | None"] = relationship(foreign_keys=[advisor_id])

    @validates("name", "trade_name")
    def _keep_search_name(self, key: str, value: str | None) -> str | None:
        names = {"name": self.name, "trade_name": self.trade_name, key: value}
        self.search_name = search_text(names["name"], names["trade_name"])
        return value

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.kind} {self.name!r}>"


class User(db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Changes when the password changes, which ends every other session of the user.
    session_token: Mapped[str] = mapped_column(String(64))
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="user", order_by="Membership.id", foreign_keys="Membership.user_id"
    )

    # Flask-Login protocol
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class Membership(db.Model):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None while an invitation waits for its answer: no access yet, and the team sees only the address.
    accepted_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")

    @property
    def kind(self) -> str:
        return self.organisation.kind

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None


class AuthToken(db.Model):
    """A single-use, expiring token e-mailed for a password reset or an invitation; only its hash is kept."""

    __tablename__ = "auth_token"
    __table_args__ = (CheckConstraint("purpose IN ('reset', 'invite')", name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # The membership an invitation offers (accepted when the link is used).
    membership_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    membership: Mapped[Membership | None] = relationship()


class EntryLinkUse(db.Model):
    """A signed entry link from the vendor's software, kept once used: its id is unique, so a link opens the
    portal once (the signature alone says who it is for and until when)."""

    __tablename__ = "entry_link_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
