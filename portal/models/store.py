"""The customer store: each user's cart in an organisation, and the activations made from it."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import User
from portal.models.catalog import Product
from portal.orm import utcnow


class CartLine(db.Model):
    """A product a user put in their organisation's cart, with the price per period the store showed then
    (so that the cart can tell when the price changed since)."""

    __tablename__ = "cart_line"
    __table_args__ = (
        UniqueConstraint("organisation_id", "user_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[int] = mapped_column(default=1)
    currency: Mapped[str] = mapped_column(String(3))
    unit_amount: Mapped[int]  # one unit's price per period (or once) when it was added
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship()


class Activation(db.Model):
    """One confirmation of a cart: everything in it activated at once, under the idempotency key of the form
    that confirmed it (the same key again is the same activation)."""

    __tablename__ = "activation"
    __table_args__ = (UniqueConstraint("organisation_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    key: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))  # the cart as it was shown: products, quantities, prices
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    lines: Mapped[list["ActivationLine"]] = relationship(
        back_populates="activation", cascade="all, delete-orphan", order_by="ActivationLine.id")


class ActivationLine(db.Model):
    """One product of an activation: how many, what it cost now (prorated, setup fee) and per period, and the
    invoice that charged it at once when it was paid at activation."""

    __tablename__ = "activation_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activation_id: Mapped[int] = mapped_column(ForeignKey("activation.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id"))
    quantity: Mapped[int]
    amount: Mapped[int]  # net, charged for the rest of the period (or once), setup fee included
    period_amount: Mapped[int]  # net, added to every later bill (0 for a one-time purchase)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    activation: Mapped[Activation] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

