"""Offline payment methods offered per country, and the statements that confirm their payments."""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.accounts import _in
from portal.orm import utcnow

OFFLINE_KINDS = ("bank_transfer", "boleto", "pix", "oxxo")
STATEMENT_KINDS = ("bank", "boleto", "oxxo")
# processing: rows are being read and matched; done: every row is read; refused: the file had bad rows
# (its report is kept, no row is).
IMPORT_STATES = ("processing", "done", "refused")
# matched: it paid its payment; unmatched: waits for a person; dismissed: a person said it is not ours to
# match; already_paid: its reference was paid before (by a webhook, staff or another statement).
LINE_STATES = ("matched", "unmatched", "dismissed", "already_paid")


class OfflineMethod(db.Model):
    """A way to pay outside the portal offered to customers of a country, with what the payer needs
    (the account to transfer to, the Pix key, the boleto agreement)."""

    __tablename__ = "offline_method"
    __table_args__ = (
        UniqueConstraint("kind", "country"),
        CheckConstraint(f"kind IN {_in(OFFLINE_KINDS)}", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    enabled: Mapped[bool] = mapped_column(default=True)
    # bank_transfer: bank, holder, tax_id, account_type, account, [clabe]; pix: key, merchant_name, city;
    # boleto: bank, agreement (7 digits), wallet (2), agency, account, beneficiary, tax_id; oxxo: days.
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class StatementImport(db.Model):
    """One statement file a person imported: what it held, how far its reading got, what came of it."""

    __tablename__ = "statement_import"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(STATEMENT_KINDS)}", name="kind"),
        CheckConstraint(f"state IN {_in(IMPORT_STATES)}", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), default="processing")
    encoding: Mapped[str | None] = mapped_column(String(16))
    total_rows: Mapped[int] = mapped_column(default=0)  # data rows in the file, known once it is read
    processed_rows: Mapped[int] = mapped_column(default=0)
    last_line: Mapped[int] = mapped_column(default=0)  # the file's line the matching has reached
    matched_rows: Mapped[int] = mapped_column(default=0)
    skipped_rows: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    # The report of a refused file: [{"line": 3, "code": "currency", "detail": "USD"}, …] (the first 200).
    errors: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]


class StatementLine(db.Model):
    """A row of a statement and the payment it paid. A payment is paid by one row at most (unique)."""

    __tablename__ = "statement_line"
    __table_args__ = (
        UniqueConstraint("import_id", "line"),
        UniqueConstraint("payment_id"),
        Index("ix_statement_line_import_id_state", "import_id", "state"),
        CheckConstraint(f"state IN {_in(LINE_STATES)}", name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("statement_import.id"))
    line: Mapped[int]
    paid_on: Mapped[date]
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    refs: Mapped[list] = mapped_column(JSON, default=list)  # the references it may name, normalised
    text: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(16))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    # The payment a reference named when it was already paid (shown beside an "already paid" row).
    named_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime | None]

    statement: Mapped[StatementImport] = relationship()
