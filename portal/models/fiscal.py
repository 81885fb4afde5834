"""Fiscal documents (NF-e, NFC-e) that a client's software sends for its reseller and accountant."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import User, _in
from portal.orm import utcnow

FISCAL_MODELS = ("55", "65")  # NF-e, NFC-e
# issued: the client is the issuer (emit); received: the client is the recipient (dest), a supplier's document.
FISCAL_DIRECTIONS = ("issued", "received")
# From the protocol (protNFe) the file carries; not_authorised: it carries none.
FISCAL_DOCUMENT_STATUSES = ("authorised", "denied", "rejected", "not_authorised")


class FiscalDocument(db.Model):
    """One NF-e / NFC-e of a client, kept once per access key: the facts read from it and the XML itself
    (zlib-compressed, exactly the bytes received)."""

    __tablename__ = "fiscal_document"
    __table_args__ = (
        UniqueConstraint("organisation_id", "access_key"),
        CheckConstraint(f"model IN {_in(FISCAL_MODELS)}", name="model"),
        CheckConstraint(f"direction IN {_in(FISCAL_DIRECTIONS)}", name="direction"),
        CheckConstraint(f"status IN {_in(FISCAL_DOCUMENT_STATUSES)}", name="status"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("series >= 0 AND series <= 999", name="series_range"),
        CheckConstraint("number >= 1 AND number <= 999999999", name="number_range"),
        # Only a supplier's document is recognised by the client's reseller: when, and by whom, together.
        CheckConstraint("recognised_at IS NULL OR direction = 'received'", name="recognised_received"),
        CheckConstraint("(recognised_at IS NULL) = (recognised_by_id IS NULL)", name="recognised_by"),
        # A month's issued NF-e (or NFC-e) of a client, and its supplier documents, in date order.
        Index("ix_fiscal_document_org_direction_model_issued", "organisation_id", "direction", "model", "issued_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    direction: Mapped[str] = mapped_column(String(8))
    access_key: Mapped[str] = mapped_column(String(44))
    model: Mapped[str] = mapped_column(String(2))
    series: Mapped[int]
    number: Mapped[int]
    issued_at: Mapped[datetime]
    issuer_tax_id: Mapped[str] = mapped_column(String(14))
    issuer_name: Mapped[str] = mapped_column(String(200))
    recipient_tax_id: Mapped[str | None] = mapped_column(String(14))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    total: Mapped[int] = mapped_column(BigInteger)  # centavos
    currency: Mapped[str] = mapped_column(String(3), default="BRL")
    status: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[str | None] = mapped_column(String(3))
    status_reason: Mapped[str | None] = mapped_column(String(255))
    cfops: Mapped[list] = mapped_column(JSON, default=list)
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A supplier's document (received) that the reseller's manager has seen and taken in; pending while None.
    recognised_at: Mapped[datetime | None]
    recognised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recognised_by: Mapped[User | None] = relationship()
