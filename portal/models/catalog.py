"""The catalog: software, store categories, products, their prices per currency and period, and quotas."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.extensions import db
from portal.models.accounts import _in
from portal.orm import utcnow
from portal.text import search_text

PRODUCT_KINDS = ("plan", "module", "additional_user", "additional_company", "exporter", "service")
PERIODS = ("monthly", "annual", "one_time")
METRICS = ("documents", "users", "companies", "api_calls")
CURRENCIES = ("CLP", "BRL", "MXN", "USD")


class Localised:
    """Staff write a name (and description) once, with optional translations in `names` per locale."""

    name: str
    names: dict

    def display_name(self, locale: str | None) -> str:
        return (self.names or {}).get(locale or "", {}).get("name") or self.name

    def display_description(self, locale: str | None) -> str:
        return (self.names or {}).get(locale or "", {}).get("description") or getattr(self, "description", "")


class Software(db.Model, Localised):
    __tablename__ = "software"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    launch_url: Mapped[str] = mapped_column(String(300))
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Category(db.Model, Localised):
    """A row of the store carousel, shown in `position` order."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(default=0)
    retired_at: Mapped[datetime | None]


class Product(db.Model, Localised):
    __tablename__ = "product"
    __table_args__ = (CheckConstraint(f"kind IN {_in(PRODUCT_KINDS)}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    software_id: Mapped[int] = mapped_column(ForeignKey("software.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(120))
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    is_free: Mapped[bool] = mapped_column(default=False)
    # Paid now at activation instead of on the next monthly bill.
    pay_upfront: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    retired_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Name, code and translated names without accents or case, for searches (kept by _keep_search_name).
    search_name: Mapped[str] = mapped_column(Text, default="", server_default="")

    software: Mapped[Software] = relationship()
    category: Mapped[Category | None] = relationship()
    prices: Mapped[list["Price"]] = relationship(back_populates="product", cascade="all, delete-orphan")
    quotas: Mapped[list["Quota"]] = relationship(back_populates="product", cascade="all, delete-orphan")

    @validates("name", "code", "names")
    def _keep_search_name(self, key: str, value):
        fields = {"name": self.name, "code": self.code, "names": self.names, key: value}
        translated = [entry.get("name") for entry in (fields["names"] or {}).values()]
        self.search_name = search_text(fields["name"], fields["code"], *translated)
        return value

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    def price_for(self, currency: str, period: str) -> "Price | None":
        return next((p for p in self.prices if p.currency == currency and p.period == period), None)


class Price(db.Model):
    """What a product costs in one currency for one period, in minor units, plus a one-time setup fee."""

    __tablename__ = "price"
    __table_args__ = (
        UniqueConstraint("product_id", "currency", "period"),
        CheckConstraint(f"period IN {_in(PERIODS)}", name="period"),
        CheckConstraint("amount >= 0 AND setup_fee >= 0", name="not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int]
    setup_fee: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="prices")


class Quota(db.Model):
    """How much of a metric a product includes, and what each unit beyond it costs (per currency)."""

    __tablename__ = "quota"
    __table_args__ = (
        UniqueConstraint("product_id", "metric"),
        CheckConstraint(f"metric IN {_in(METRICS)}", name="metric"),
        CheckConstraint("included >= 0", name="included_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    metric: Mapped[str] = mapped_column(String(24))
    included: Mapped[int] = mapped_column(default=0)
    # {"CLP": 50, "BRL": 15}: minor units per overage unit; a currency missing means no overage charge.
    overage_prices: Mapped[dict] = mapped_column(JSON, default=dict)

    product: Mapped[Product] = relationship(back_populates="quotas")
