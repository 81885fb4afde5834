"""Self sign-up: a request for an account, waiting for its e-mail to be confirmed."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.orm import utcnow


class SignUp(db.Model):
    """Someone who asked for an account, until they open the e-mailed link (single use, expiring): the
    organisation and its administrator are created only then. The password is kept hashed."""

    __tablename__ = "sign_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    organisation_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    tax_id: Mapped[str] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    # Through a reseller's hiring link: the reseller, the plan it offered, whether it pays, the link's id.
    reseller_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    reseller_pays: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    hiring_link_id: Mapped[str | None] = mapped_column(String(64))
