"""The single-use tokens that open a client's software for a reseller's manager ("Acessar software do cliente")."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.orm import utcnow


class SoftwareAccessToken(db.Model):
    """The random id of one issued token: consumed (used_at) the first time the token is verified."""

    __tablename__ = "software_access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    software_id: Mapped[int] = mapped_column(ForeignKey("software.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
