"""Subscriptions: an organisation's plan and add-ons, their periods, states and history."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organisation, User, _in
from portal.models.catalog import Product
from portal.orm import utcnow

SUBSCRIPTION_STATUSES = ("trial", "active", "past_due", "suspended", "cancelled")
BILLING_PERIODS = ("monthly", "annual")


class Subscription(db.Model):
    __tablename__ = "subscription"
    __table_args__ = (
        CheckConstraint(f"status IN {_in(SUBSCRIPTION_STATUSES)}", name="status"),
        CheckConstraint(f"period IN {_in(BILLING_PERIODS)}", name="period"),
        CheckConstraint("discount_bp >= 0 AND discount_bp <= 10000", name="discount"),
        CheckConstraint("current_period_end > current_period_start", name="period_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    # Who receives the invoice: the organisation itself, or the reseller that pays for it.
    payer_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    # None for a license partner's subscription: no plan, its items are the licenses it holds (see
    # services/billing/subscriptions/licenses.py).
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16), index=True)
    discount_bp: Mapped[int] = mapped_column(default=0)  # basis points: 5000 = the reseller's 50 %
    trial_ends_at: Mapped[datetime | None]
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime] = mapped_column(index=True)
    # Changes that wait for the end of the period (downgrade, monthly suspension, cancellation).
    pending_plan_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    suspend_at_period_end: Mapped[bool] = mapped_column(default=False)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    suspended_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])
    payer: Mapped[Organisation] = relationship(foreign_keys=[payer_id])
    plan: Mapped[Product | None] = relationship(foreign_keys=[plan_id])
    pending_plan: Mapped[Product | None] = relationship(foreign_keys=[pending_plan_id])
    items: Mapped[list["SubscriptionItem"]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan", order_by="SubscriptionItem.id"
    )
    events: Mapped[list["SubscriptionEvent"]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan", order_by="SubscriptionEvent.id"
    )


class SubscriptionItem(db.Model):
    """An add-on on a subscription (module, additional users, additional companies, …) and its quantity.

    `unit_amount` is the item's own price of one unit for the subscription's period, when it is not the
    catalog's: a license partner pays the monthly fee of the price list its order was priced with. A
    subscription holds one item per product, or per product and own price: two partial unique indexes, since a
    unique constraint on the three columns lets NULL prices repeat."""

    __tablename__ = "subscription_item"
    __table_args__ = (
        Index("uq_subscription_item_catalog_price", "subscription_id", "product_id", unique=True,
              sqlite_where=text("unit_amount IS NULL"), postgresql_where=text("unit_amount IS NULL")),
        Index("uq_subscription_item_own_price", "subscription_id", "product_id", "unit_amount", unique=True,
              sqlite_where=text("unit_amount IS NOT NULL"), postgresql_where=text("unit_amount IS NOT NULL")),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_amount IS NULL OR unit_amount >= 0", name="unit_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_amount: Mapped[int | None]
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscription: Mapped[Subscription] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class SubscriptionEvent(db.Model):
    """The history of a subscription: every start, change, renewal, suspension and cancellation."""

    __tablename__ = "subscription_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    subscription: Mapped[Subscription] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    # The document the change produced (loaded with the events a page lists: portal.services.billing.history).
    invoice: Mapped["Invoice | None"] = relationship("Invoice")  # noqa: F821


CHARGE_KINDS = ("prorated", "credit", "setup")
CHARGE_REASONS = ("quantity_increase", "quantity_decrease", "addon_added", "addon_removed", "upgrade", "setup")


class SubscriptionCharge(db.Model):
    """A charge or credit made during a period (proration by day, a setup fee) for the subscription's next invoice.

    It waits, uncollected, until the next renewal invoice of the subscription takes it as a line (or an invoice
    issued at once, for a product paid up front); `invoice_id` then names the document that collected it.
    """

    __tablename__ = "subscription_charge"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(CHARGE_KINDS)}", name="kind"),
        CheckConstraint(f"reason IN {_in(CHARGE_REASONS)}", name="reason"),
        CheckConstraint("(kind = 'credit' AND amount <= 0) OR (kind <> 'credit' AND amount >= 0)", name="sign"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(24))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[int] = mapped_column(default=1)  # the units the change concerns (2 more users: 2)
    unit_amount: Mapped[int]  # the whole period's price of one unit, discount applied
    amount: Mapped[int]  # signed, rounded once: a credit is negative
    period_start: Mapped[datetime]  # the days charged or credited
    period_end: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    collected_at: Mapped[datetime | None]

    subscription: Mapped[Subscription] = relationship()
    product: Mapped[Product | None] = relationship()
