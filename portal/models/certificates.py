"""The digital certificates (ICP-Brasil A1 PFX files) that resellers keep for their client companies."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organisation, User
from portal.orm import utcnow


class ClientCertificate(db.Model):
    """A client's A1 certificate, checked before it was kept: the PFX file and its password are stored only
    encrypted (portal.services.crypto), the facts read from it in the clear. One row per client: a new
    certificate replaces the previous one."""

    __tablename__ = "client_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), unique=True)
    encrypted_pfx: Mapped[str] = mapped_column(Text)
    encrypted_password: Mapped[str] = mapped_column(Text)
    holder: Mapped[str] = mapped_column(String(300))
    tax_id: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(300))
    serial: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the certificate's DER
    not_before: Mapped[datetime]
    not_after: Mapped[datetime] = mapped_column(index=True)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    organisation: Mapped[Organisation] = relationship()
    uploaded_by: Mapped[User | None] = relationship()
