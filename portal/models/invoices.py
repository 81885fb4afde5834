"""Invoices and credit notes: numbered per series, lines as a snapshot, installments, the stored PDF."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint, and_
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import Organisation, _in
from portal.orm import utcnow

INVOICE_KINDS = ("invoice", "credit_note")
INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")
LINE_KINDS = ("recurring", "prorated", "overage", "one_time", "setup", "discount", "credit")


class InvoiceSeries(db.Model):
    """A numbering sequence. `next_number` is taken under a row lock, so numbers never repeat or skip."""

    __tablename__ = "invoice_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(16), default="invoice")
    country: Mapped[str | None] = mapped_column(String(2))
    next_number: Mapped[int] = mapped_column(default=1)


class Invoice(db.Model):
    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("series_id", "number"),
        CheckConstraint(f"kind IN {_in(INVOICE_KINDS)}", name="kind"),
        CheckConstraint(f"status IN {_in(INVOICE_STATUSES)}", name="status"),
        CheckConstraint("total = subtotal + tax_total", name="total_adds_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)  # who is billed
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscription.id"), index=True)
    # "sub:<id>:<period start>" for a renewal: unique, so a period is never billed twice.
    period_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="invoice")
    credit_for_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_series.id"))
    number: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(8))
    subtotal: Mapped[int] = mapped_column(default=0)
    tax_total: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    issued_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    paid_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    # Fiscal data copied in at issue: later edits to either organisation do not change an issued invoice.
    vendor_snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    customer_snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    series: Mapped[InvoiceSeries | None] = relationship()
    credit_for: Mapped["Invoice | None"] = relationship(remote_side=[id])
    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position"
    )
    installments: Mapped[list["Installment"]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="Installment.number"
    )

    @property
    def display_number(self) -> str:
        if self.number is None or self.series is None:
            return "—"
        return f"{self.series.prefix}{self.number:06d}"

    @hybrid_method
    def is_overdue(self, now: datetime) -> bool:
        """Open and past its due date (on an invoice, or as a condition of a query on `Invoice`)."""
        return self.status == "open" and self.due_at is not None and self.due_at < now

    @is_overdue.expression
    def is_overdue(cls, now: datetime):
        # Never NULL, so that `~Invoice.is_overdue(now)` keeps the invoices without a due date.
        return and_(cls.status == "open", cls.due_at.is_not(None), cls.due_at < now)


class InvoiceLine(db.Model):
    """One line, as it was when the invoice was made: description, quantity, prices and tax in minor units.

    A line of a reseller's consolidated monthly invoice names the client subscription it bills and carries that
    subscription's period key ("sub:<id>:<period end>"), unique: a period is never added twice."""

    __tablename__ = "invoice_line"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(LINE_KINDS)}", name="kind"),
        CheckConstraint("total = amount + tax_amount", name="total_adds_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_amount: Mapped[int]
    amount: Mapped[int]  # net of tax, rounded once
    tax_rate_bp: Mapped[int] = mapped_column(default=0)  # 1900 = 19 %
    tax_amount: Mapped[int] = mapped_column(default=0)
    total: Mapped[int]
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscription.id"), index=True)
    period_key: Mapped[str | None] = mapped_column(String(80), unique=True)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Installment(db.Model):
    """A part of an invoice due on its own date (a "cuota")."""

    __tablename__ = "installment"
    __table_args__ = (UniqueConstraint("invoice_id", "number"), CheckConstraint("amount > 0", name="amount_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    number: Mapped[int]
    due_at: Mapped[datetime]
    amount: Mapped[int]
    paid_at: Mapped[datetime | None]

    invoice: Mapped[Invoice] = relationship(back_populates="installments")


class InvoicePdf(db.Model):
    """The PDF rendered once at issue, kept in the database so every app server serves the same file."""

    __tablename__ = "invoice_pdf"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaxRate(db.Model):
    """The tax rate applied to invoice lines for customers of a country (CL 19 %, MX 16 %, …)."""

    __tablename__ = "tax_rate"
    __table_args__ = (CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate"),)

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    rate_bp: Mapped[int]


class BillingSettings(db.Model):
    """The vendor's billing settings (one row): payment terms, payment instructions per country, and the discount
    a reseller gets on the plans it pays for its clients."""

    __tablename__ = "billing_settings"
    __table_args__ = (CheckConstraint("reseller_discount_bp >= 0 AND reseller_discount_bp <= 10000",
                                      name="reseller_discount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_terms_days: Mapped[int] = mapped_column(default=10)
    # Basis points off every price of a subscription its reseller pays (5000 = 50 %).
    reseller_discount_bp: Mapped[int] = mapped_column(default=5000, server_default="5000")
    # {"CL": "Transferencia a Banco …", "BR": "Pix …"}
    payment_instructions: Mapped[dict] = mapped_column(JSON, default=dict)
