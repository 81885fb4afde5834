"""Payments, stored payment methods, the wallet's ledger and the gateways' webhook events.

No card number is ever stored: a payment method keeps the gateway's token, the brand, the last four digits
and the expiry, which is all a person needs to recognise a card.
"""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import _in
from portal.orm import utcnow

# How a payment is made: a card through a gateway, the wallet's balance, or a method paid outside the portal.
METHOD_KINDS = ("card", "wallet", "bank_transfer", "boleto", "pix", "oxxo", "manual")
# What a payment pays: an invoice (or one of its installments), or funds added to the wallet.
PAYMENT_PURPOSES = ("invoice", "top_up")
# pending: a reference waits to be paid outside (boleto, Pix, OXXO, transfer); it reserves nothing.
# processing: handed to the gateway, the answer not known yet; it reserves its amount of the invoice.
PAYMENT_STATES = ("pending", "processing", "succeeded", "failed", "expired", "cancelled")
METHOD_STATES = ("active", "expired", "failing", "removed")
WALLET_ENTRY_KINDS = ("top_up", "spend", "refund_in", "adjustment")
# Where a refund's money goes: back to the method the payment was made with (through its gateway), or into
# the payer's wallet.
REFUND_DESTINATIONS = ("method", "wallet")
# processing: asked of the gateway, its answer not known yet (it holds its amount of the payment).
REFUND_STATES = ("processing", "succeeded", "failed")
WEBHOOK_OUTCOMES = (
    "processed", "already_applied", "bad_signature", "stale", "replayed", "unknown_type", "unknown_payment",
    "malformed", "mismatch",
)


class PaymentMethod(db.Model):
    """A card (or another reusable method) kept by a gateway for an organisation, known here by its token."""

    __tablename__ = "payment_method"
    __table_args__ = (
        UniqueConstraint("gateway", "token"),
        CheckConstraint(f"state IN {_in(METHOD_STATES)}", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), default="card")
    brand: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default="active")
    auto_pay: Mapped[bool] = mapped_column(default=False)
    failure_code: Mapped[str | None] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]


class Payment(db.Model):
    """Money received (or asked for) from an organisation, once per idempotency key of that organisation."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("organisation_id", "idempotency_key"),
        UniqueConstraint("gateway", "gateway_payment_id"),
        UniqueConstraint("gateway", "payer_reference"),
        CheckConstraint(f"method_kind IN {_in(METHOD_KINDS)}", name="method_kind"),
        CheckConstraint(f"purpose IN {_in(PAYMENT_PURPOSES)}", name="purpose"),
        CheckConstraint(f"state IN {_in(PAYMENT_STATES)}", name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refunded_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)  # who pays
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    installment_id: Mapped[int | None] = mapped_column(ForeignKey("installment.id"))
    purpose: Mapped[str] = mapped_column(String(16), default="invoice")
    amount: Mapped[int]  # minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3))
    method_kind: Mapped[str] = mapped_column(String(16))
    gateway: Mapped[str] = mapped_column(String(20))
    payment_method_id: Mapped[int | None] = mapped_column(ForeignKey("payment_method.id"))
    state: Mapped[str] = mapped_column(String(16), default="processing", index=True)
    # The reference a person quotes (and an offline method prints): unique across the portal.
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    gateway_payment_id: Mapped[str | None] = mapped_column(String(120))
    # The reference an offline method issued for the payer to quote elsewhere (an OXXO voucher number, a
    # boleto's "nosso número", an RF transfer reference): what a statement row is matched by.
    payer_reference: Mapped[str | None] = mapped_column(String(64))
    failure_code: Mapped[str | None] = mapped_column(String(40))
    # What an offline method shows the payer (account details, typeable line, Pix code, voucher number).
    instructions: Mapped[dict] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime | None]
    refunded_amount: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    succeeded_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]  # failed, expired or cancelled

    payment_method: Mapped[PaymentMethod | None] = relationship()


class Refund(db.Model):
    """Money of a payment given back, once per idempotency key of the payer, backed by the credit note that
    takes it off the invoice the payment paid."""

    __tablename__ = "refund"
    __table_args__ = (
        UniqueConstraint("organisation_id", "idempotency_key"),
        UniqueConstraint("reference"),
        CheckConstraint(f"destination IN {_in(REFUND_DESTINATIONS)}", name="destination"),
        CheckConstraint(f"state IN {_in(REFUND_STATES)}", name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        # The refund safety net looks for refunds still "processing" claimed before a time.
        Index("ix_refund_state_created_at", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)  # who is refunded
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    amount: Mapped[int]  # minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3))
    destination: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="processing")
    reference: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    gateway_refund_id: Mapped[str | None] = mapped_column(String(120))
    failure_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]  # succeeded or failed


class WalletEntry(db.Model):
    """One movement of an organisation's wallet. Entries of a wallet are numbered (`sequence`, unique), each
    keeping the balance after it, never negative: two writers can never both spend the same balance."""

    __tablename__ = "wallet_entry"
    __table_args__ = (
        UniqueConstraint("organisation_id", "currency", "sequence"),
        UniqueConstraint("organisation_id", "idempotency_key"),
        CheckConstraint(f"kind IN {_in(WALLET_ENTRY_KINDS)}", name="kind"),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    sequence: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int]  # credit > 0, debit < 0
    balance_after: Mapped[int]
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    reason: Mapped[str | None] = mapped_column(String(300))
    # A staff adjustment's form key: the same form sent twice adjusts once.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WalletSettings(db.Model):
    """How an organisation's wallet is used: pay renewals from it first, and top it up when it runs low."""

    __tablename__ = "wallet_settings"
    __table_args__ = (
        CheckConstraint("recharge_threshold >= 0", name="threshold_not_negative"),
        CheckConstraint("recharge_amount >= 0", name="amount_not_negative"),
    )

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    pay_from_wallet: Mapped[bool] = mapped_column(default=False)
    auto_recharge: Mapped[bool] = mapped_column(default=False)
    recharge_threshold: Mapped[int] = mapped_column(default=0)
    recharge_amount: Mapped[int] = mapped_column(default=0)
    # The entry that last brought the balance under the threshold and was answered by a recharge.
    recharged_for_entry_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_entry.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(db.Model):
    """Every webhook a gateway sent, accepted or refused, with what came of it. `accepted_id` is the event's
    id once its signature was verified: unique, so a replayed event is applied once."""

    __tablename__ = "webhook_event"
    __table_args__ = (
        UniqueConstraint("gateway", "accepted_id"),
        CheckConstraint(f"outcome IN {_in(WEBHOOK_OUTCOMES)}", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str | None] = mapped_column(String(120))  # as the body claims it, verified or not
    accepted_id: Mapped[str | None] = mapped_column(String(120))
    event_type: Mapped[str | None] = mapped_column(String(60))
    verified: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str] = mapped_column(String(20))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
