"""License partners: their price lists (versioned), orders of licenses, stock, clients and activations."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organisation, User, _in
from portal.models.catalog import Product
from portal.models.subscriptions import SubscriptionEvent
from portal.orm import utcnow

ORDER_KINDS = ("purchase", "additional")
ORDER_STATUSES = ("draft", "pending", "finalised", "cancelled")
MOVEMENT_KINDS = ("order", "activation", "cancellation", "client_cancellation")
ACTIVATION_STATUSES = ("active", "cancelled")


class PriceList(db.Model):
    """One version of a price list ("Pauta Preço"): a partner's own (`partner_id`) or the default one (no
    partner). A change makes a new version (`version` + 1, same `lineage`) and marks this one superseded; an
    order keeps the version it was priced with, and its lines their own copies of the amounts."""

    __tablename__ = "price_list"
    __table_args__ = (UniqueConstraint("lineage", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lineage: Mapped[int | None] = mapped_column(index=True)  # the first version's id
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]

    partner: Mapped[Organisation | None] = relationship()
    items: Mapped[list["PriceListItem"]] = relationship(
        back_populates="price_list", cascade="all, delete-orphan", order_by="PriceListItem.id")


class PriceListItem(db.Model):
    """What one product costs a partner on a price list: per license and month, the setup fee ("adesão") per
    license, the users each license brings, and the bonus tiers: [[minimum bought, free licenses], …]."""

    __tablename__ = "price_list_item"
    __table_args__ = (
        UniqueConstraint("price_list_id", "product_id"),
        CheckConstraint("unit_monthly >= 0", name="unit_monthly"),
        CheckConstraint("setup_fee >= 0", name="setup_fee"),
        CheckConstraint("users_per_license >= 1", name="users_per_license"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_list.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    unit_monthly: Mapped[int]
    setup_fee: Mapped[int] = mapped_column(default=0)
    users_per_license: Mapped[int] = mapped_column(default=1)
    bonus_tiers: Mapped[list] = mapped_column(JSON, default=list)

    price_list: Mapped[PriceList] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class PartnerOrder(db.Model):
    """An order of licenses ("Pedido"): a draft while its items are chosen, then pending approval, then
    finalised (stock credited) or cancelled, once."""

    __tablename__ = "partner_order"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(ORDER_KINDS)}", name="kind"),
        CheckConstraint(f"status IN {_in(ORDER_STATUSES)}", name="status"),
        Index("ix_partner_order_partner_status", "partner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_list.id"))
    kind: Mapped[str] = mapped_column(String(16), default="purchase")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    currency: Mapped[str] = mapped_column(String(3))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    setup_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))

    partner: Mapped[Organisation] = relationship()
    price_list: Mapped[PriceList] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    lines: Mapped[list["PartnerOrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="PartnerOrderLine.id")

    @property
    def monthly_total(self) -> int:
        return sum(line.monthly_total for line in self.lines)

    @property
    def setup_total(self) -> int:
        return sum(line.setup_total for line in self.lines)

    @property
    def total_with_setup(self) -> int:
        return self.monthly_total + self.setup_total


class PartnerOrderLine(db.Model):
    """One product of an order, priced when it was added and frozen there: a later price list never changes
    it. For an Additional order the line adds `quantity` users to the licenses of `product` in stock."""

    __tablename__ = "partner_order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("bonus >= 0", name="bonus"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("partner_order.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[int]
    bonus: Mapped[int] = mapped_column(default=0)
    users: Mapped[int]  # users the line brings (licenses × users per license, or the additional users)
    unit_monthly: Mapped[int]
    setup_fee: Mapped[int]  # per license
    monthly_total: Mapped[int]
    setup_total: Mapped[int]
    # What approving the line did to the partner's subscription (its licenses billed every month).
    subscription_event_id: Mapped[int | None] = mapped_column(ForeignKey("subscription_event.id"))

    order: Mapped[PartnerOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    subscription_event: Mapped[SubscriptionEvent | None] = relationship()

    @property
    def total_quantity(self) -> int:
        return self.quantity + self.bonus

    @property
    def total_with_setup(self) -> int:
        return self.monthly_total + self.setup_total


class PartnerStock(db.Model):
    """A partner's licenses of one product: how many are free to activate, and the users they bring. Never
    below zero (the constraint is the last word; activation takes one with a conditional update)."""

    __tablename__ = "partner_stock"
    __table_args__ = (
        UniqueConstraint("partner_id", "product_id"),
        CheckConstraint("available >= 0", name="available"),
        CheckConstraint("total >= 0", name="total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    available: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)  # every license ever credited
    users_per_license: Mapped[int] = mapped_column(default=1)
    additional_users: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship()

    @property
    def active(self) -> int:
        return self.total - self.available


class StockMovement(db.Model):
    """One change of a partner's stock: licenses credited by an order (+), taken by an activation (−), given
    back by a cancellation (+). Their sum per product is the stock available."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(MOVEMENT_KINDS)}", name="kind"),
        Index("ix_stock_movement_partner_product", "partner_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    kind: Mapped[str] = mapped_column(String(24))
    quantity: Mapped[int]  # signed
    order_id: Mapped[int | None] = mapped_column(ForeignKey("partner_order.id"))
    activation_id: Mapped[int | None] = mapped_column(ForeignKey("license_activation.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship()
    user: Mapped[User | None] = relationship()


class PartnerClient(db.Model):
    """A client of a partner ("Cliente / ECF"), known by its tax id until it is cancelled: then the tax id is
    removed and only its masked form stays."""

    __tablename__ = "partner_client"
    __table_args__ = (
        UniqueConstraint("partner_id", "tax_id"),
        Index("ix_partner_client_partner_search", "partner_id", "search_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(Text, default="")
    tax_id: Mapped[str | None] = mapped_column(String(20))  # compact digits; None once cancelled
    tax_id_masked: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]


class LicenseActivation(db.Model):
    """One license of a partner's stock activated for a client, under an authorisation code."""

    __tablename__ = "license_activation"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(ACTIVATION_STATUSES)}", name="status"),
        Index("ix_license_activation_partner_client", "partner_id", "client_id"),
        Index("ix_license_activation_partner_id_desc", "partner_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("partner_client.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)  # compact, no separators
    users: Mapped[int]
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    activated_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    activated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    cancelled_at: Mapped[datetime | None]
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    client: Mapped[PartnerClient] = relationship()
    product: Mapped[Product] = relationship()
    activated_by: Mapped[User] = relationship(foreign_keys=[activated_by_id])
