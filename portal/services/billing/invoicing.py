"""Invoices and credit notes: numbers, fiscal snapshots, tax per line, due dates, installments and states.

Numbers. A document takes the next number of its series (the series of the customer's country for its kind,
else the default one) with `UPDATE invoice_series SET next_number = next_number + n ... RETURNING`. On
PostgreSQL that statement takes the series row's lock (the lock `SELECT ... FOR UPDATE` takes) and keeps it
until the transaction ends, so concurrent issuers queue behind it; on SQLite the writing transaction is already
exclusive (BEGIN IMMEDIATE). The number is taken after every check and insert of the document, and a
rolled-back transaction gives it back with the rest: numbers are never reused nor skipped. The billing sweep
reserves one block of numbers per series and batch the same way (`reserve_numbers`).

States. draft → open → paid | void | uncollectible. Only an open invoice is paid; a paid invoice is never
voided — a credit note corrects it (`portal.services.billing.credit_notes`). A document of 0 is paid when
issued.

PDFs. The id of each issued document is kept in the session; once the transaction commits it is handed to
the render job (as e-mails are), so nothing is rendered for a rolled-back invoice and nothing committed waits.
"""

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import BillingSettings, Installment, Invoice, InvoiceLine, InvoiceSeries, Organisation, TaxRate
from portal.models.catalog import CURRENCIES
from portal.models.invoices import LINE_KINDS
from portal.orm import read_together
from portal.services import audit, hooks
from portal.services.accounts.taxid import format_tax_id, tax_id_label
from portal.services.billing import money
from portal.services.billing.rules import LineSpec, add_months
from portal.services.errors import DomainError

log = logging.getLogger(__name__)

MAX_LINES = 200
MAX_LINE_QUANTITY = 10_000
MAX_AMOUNT = 10**12
MAX_INSTALLMENTS = 12
DEFAULT_PAYMENT_TERMS_DAYS = 10
# (code, prefix) of the series used where no series is set up for the customer's country.
DEFAULT_SERIES = {"invoice": ("F", "F"), "credit_note": ("NC", "NC")}
DEFAULT_TAX_RATES = (("CL", "IVA", 1900), ("MX", "IVA", 1600), ("BR", "ISS", 500))
# Numbered and sent: every status but draft (a draft is the vendor's work in progress, never shown to customers).
ISSUED_STATUSES = ("open", "paid", "void", "uncollectible")
# An issued invoice that a credit note can still correct or refund.
CREDITABLE_STATUSES = ("open", "paid")


@dataclass
class BillingContext:
    """What every invoice needs and rarely changes: read once per request or per sweep."""

    vendor_snapshot: dict
    tax_rates: dict[str, int]
    payment_terms_days: int
    series: dict[tuple[str | None, str], int] = field(default_factory=dict)  # (country, kind) → series id

    def tax_rate(self, country: str | None) -> int:
        return self.tax_rates.get(country or "", 0)

    def due_at(self, now: datetime) -> datetime:
        return now + timedelta(days=self.payment_terms_days)


_VENDOR_COLUMNS = ("name", "trade_name", "tax_id", "address", "country", "phone", "timezone")


def load_context(session=None) -> BillingContext:
    """The billing settings, tax rates, series and the vendor's fiscal data, read in one statement."""
    return context_from_rows(read_together(session or db.session, *context_selects(), keep=True))


@functools.cache
def context_selects() -> tuple:
    """What load_context reads (to read it in the statement of other reads: portal.orm.read_together), the same
    objects on every call (read_together's keep=True)."""
    return (
        db.select(BillingSettings.payment_terms_days).order_by(BillingSettings.id).limit(1),
        db.select(TaxRate.country, TaxRate.rate_bp),
        db.select(InvoiceSeries.id, InvoiceSeries.country, InvoiceSeries.kind),
        db.select(*[getattr(Organisation, name) for name in _VENDOR_COLUMNS])
        .where(Organisation.kind == "vendor").order_by(Organisation.id).limit(1),
    )


def context_from_rows(found: list[list[tuple]]) -> BillingContext:
    """The context of the rows of context_selects."""
    settings, rates, series, vendor = found
    # Read newest first, as ever: the oldest series of a country and kind is the one kept.
    kept = {(country, kind): sid for sid, country, kind in sorted(series, key=lambda row: row[0], reverse=True)}
    terms = settings[0][0] if settings else DEFAULT_PAYMENT_TERMS_DAYS
    snapshot = customer_snapshot(SimpleNamespace(**dict(zip(_VENDOR_COLUMNS, vendor[0], strict=True)))) \
        if vendor else {}
    return BillingContext(snapshot, dict(rates), terms, kept)


def series_for(ctx: BillingContext, country: str | None, kind: str = "invoice") -> int:
    """The series a document of `kind` for a customer of `country` is numbered in (made when none exists yet)."""
    found = ctx.series.get((country, kind)) or ctx.series.get((None, kind))
    if found is None:
        found = ctx.series[(None, kind)] = _default_series(kind)
    return found


def _default_series(kind: str) -> int:
    code, prefix = DEFAULT_SERIES[kind]
    table = InvoiceSeries.__table__
    insert = postgresql.insert(table) if db.engine.dialect.name == "postgresql" else sqlite.insert(table)
    db.session.execute(insert.values(code=code, prefix=prefix, kind=kind, country=None, next_number=1)
                       .on_conflict_do_nothing(index_elements=["code"]))
    return db.session.scalar(db.select(InvoiceSeries.id).where(InvoiceSeries.code == code))


def install_defaults() -> None:
    """Tax rates of Chile, Mexico and Brazil, payment terms and the default series, where missing."""
    known = set(db.session.scalars(db.select(TaxRate.country)))
    for country, name, rate in DEFAULT_TAX_RATES:
        if country not in known:
            db.session.add(TaxRate(country=country, name=name, rate_bp=rate))
    if db.session.scalar(db.select(BillingSettings.id).limit(1)) is None:
        db.session.add(BillingSettings(payment_terms_days=DEFAULT_PAYMENT_TERMS_DAYS, payment_instructions={}))
    db.session.flush()
    for kind in DEFAULT_SERIES:
        _default_series(kind)


# Fiscal snapshots


def vendor_snapshot(session=None) -> dict:
    """The vendor's fiscal data as printed on its invoices."""
    session = session or db.session
    vendor = session.scalar(db.select(Organisation).where(Organisation.kind == "vendor").order_by(Organisation.id))
    return customer_snapshot(vendor) if vendor is not None else {}


def customer_snapshot(org) -> dict:
    """Legal name, trade name, formatted tax id, address and country of an organisation (or a row with those)."""
    return {
        "name": org.name,
        "trade_name": org.trade_name,
        "tax_id": format_tax_id(org.country, org.tax_id),
        "tax_id_label": tax_id_label(org.country),
        "address": org.address,
        "country": org.country,
        "phone": org.phone,
        "timezone": org.timezone,
    }


# Lines and numbers


def line_values(spec: LineSpec, position: int, rate_bp: int, tax_for=money.tax_for) -> dict:
    """The InvoiceLine columns of a line: tax per line, rounded once."""
    amount = spec.net
    tax = tax_for(amount, rate_bp)
    return {
        "position": position, "kind": spec.kind, "product_id": spec.product_id, "description": spec.description,
        "quantity": spec.quantity, "unit_amount": spec.unit_amount, "amount": amount, "tax_rate_bp": rate_bp,
        "tax_amount": tax, "total": amount + tax, "period_start": spec.period_start, "period_end": spec.period_end,
    }


def document_totals(lines: list[dict]) -> tuple[int, int, int]:
    """Subtotal, tax and total of a document from its lines' values (`line_values`)."""
    subtotal = sum(line["amount"] for line in lines)
    tax_total = sum(line["tax_amount"] for line in lines)
    return subtotal, tax_total, subtotal + tax_total


def opening(kind: str, total: int, now: datetime, ctx: BillingContext) -> dict:
    """How a numbered document opens at `now` (its issued_at, status, paid_at, due_at): paid at once when there
    is nothing to pay, else open and, an invoice, due by the payment terms."""
    if total == 0:
        return {"issued_at": now, "status": "paid", "paid_at": now, "due_at": None}
    return {"issued_at": now, "status": "open", "paid_at": None,
            "due_at": ctx.due_at(now) if kind == "invoice" else None}


def reserve_numbers(series_id: int, count: int = 1) -> int:
    """Take `count` numbers of a series in a row and return the first (the series row stays locked until commit)."""
    table = InvoiceSeries.__table__
    after = db.session.execute(
        update(table).where(table.c.id == series_id).values(next_number=table.c.next_number + count)
        .returning(table.c.next_number)
    ).scalar_one()
    loaded = db.session.identity_map.get(db.session.identity_key(InvoiceSeries, series_id))
    if loaded is not None:
        db.session.expire(loaded, ["next_number"])
    return after - count


def check_lines(lines: list[LineSpec], credit_note: bool) -> None:
    if not lines:
        raise DomainError(_l("Add at least one line."), code="no_lines", field="lines")
    if len(lines) > MAX_LINES:
        raise DomainError(_l("A document has at most %(max)d lines.", max=MAX_LINES), code="too_many_lines",
                          field="lines")
    for spec in lines:
        if spec.kind not in LINE_KINDS:
            raise DomainError(_l("Unknown kind of line."), code="invalid_line_kind", field="lines")
        if not isinstance(spec.quantity, int) or not 1 <= spec.quantity <= MAX_LINE_QUANTITY:
            raise DomainError(_l("Each line's quantity must be between 1 and %(max)d.", max=MAX_LINE_QUANTITY),
                              code="invalid_quantity", field="quantity")
        if not (spec.description or "").strip():
            raise DomainError(_l("Each line needs a description."), code="no_description", field="description")
        net = spec.net
        if not isinstance(net, int) or abs(net) > MAX_AMOUNT or abs(spec.unit_amount) > MAX_AMOUNT:
            raise DomainError(_l("This amount is too large. Check the number of digits."), code="amount_too_large",
                              field="amount")
        negative_allowed = spec.kind in ("credit", "discount") and not credit_note
        if net < 0 and not negative_allowed:
            raise DomainError(_l("Only credit and discount lines can be negative."), code="negative_amount",
                              field="amount")


def new_document(org: Organisation, currency: str, lines: list[LineSpec], now: datetime, ctx: BillingContext,
                 kind: str, rate_bp: int) -> Invoice:
    invoice = Invoice(organisation_id=org.id, kind=kind, currency=currency, locale=org.locale, status="draft",
                      vendor_snapshot=dict(ctx.vendor_snapshot), customer_snapshot=customer_snapshot(org),
                      created_at=now)
    values = [line_values(spec, position, rate_bp if spec.tax_rate_bp is None else spec.tax_rate_bp)
              for position, spec in enumerate(lines)]
    invoice.lines.extend(InvoiceLine(**line) for line in values)
    invoice.subtotal, invoice.tax_total, invoice.total = document_totals(values)
    return invoice


def open_document(invoice: Invoice, now: datetime, ctx: BillingContext, installments: int = 1) -> None:
    """Number an invoice in its series and make it due (or paid, when there is nothing to pay)."""
    country = (invoice.customer_snapshot or {}).get("country")
    invoice.series_id = series_for(ctx, country, invoice.kind)
    invoice.number = reserve_numbers(invoice.series_id)
    for name, value in opening(invoice.kind, invoice.total, now, ctx).items():
        setattr(invoice, name, value)
    if installments > 1:
        for number, part in enumerate(money.split_installments(invoice.total, installments), start=1):
            invoice.installments.append(Installment(number=number, amount=part,
                                                    due_at=add_months(invoice.due_at, number - 1)))
    db.session.flush()
    queue_pdf([invoice.id])


def issue_invoice(org: Organisation, currency: str, lines: list[LineSpec], now: datetime, subscription=None,
                  period: tuple[datetime, datetime] | None = None, installments: int = 1,
                  period_key: str | None = None, draft: bool = False, actor=None,
                  ctx: BillingContext | None = None) -> Invoice:
    """Issue an invoice to `org` (the payer): lines with the tax of its country, numbered, due by the terms.

    `period_key` makes it the one invoice of a subscription's period: a second one is refused
    (DomainError "already_invoiced") and nothing is written. A draft gets its number when it is issued
    (`finalize_invoice`)."""
    if org is None or org.kind == "vendor":
        raise DomainError(_l("Invoices are issued to customers, resellers and partners."), code="invalid_customer")
    if currency not in CURRENCIES:
        raise DomainError(_l("Choose one of the offered currencies."), code="invalid_currency", field="currency")
    check_lines(lines, credit_note=False)
    if isinstance(installments, bool) or not isinstance(installments, int) \
            or not 1 <= installments <= MAX_INSTALLMENTS:
        raise DomainError(_l("Choose between 1 and %(max)d installments.", max=MAX_INSTALLMENTS),
                          code="invalid_installments", field="installments")
    ctx = ctx or load_context()
    invoice = new_document(org, currency, lines, now, ctx, "invoice", ctx.tax_rate(org.country))
    if invoice.total < 0:
        raise DomainError(_l("An invoice cannot add up to less than zero: issue a credit note instead."),
                          code="negative_total", field="lines")
    if installments > 1 and invoice.total < installments:
        raise DomainError(_l("This total is too small to split into %(count)d installments.", count=installments),
                          code="invalid_installments", field="installments")
    invoice.subscription_id = subscription.id if subscription is not None else None
    invoice.period_key = period_key
    if period is not None:
        invoice.period_start, invoice.period_end = period
    try:
        with db.session.begin_nested():
            db.session.add(invoice)
    except IntegrityError as error:
        raise DomainError(_l("This period is already invoiced."), code="already_invoiced") from error
    if not draft:
        open_document(invoice, now, ctx, installments)
    audit.record("invoice_drafted" if draft else "invoice_issued", actor=actor, organisation=org, obj=invoice,
                 details={"total": invoice.total, "currency": currency, "period_key": period_key})
    return invoice


def finalize_invoice(invoice: Invoice, now: datetime, installments: int = 1, actor=None,
                     ctx: BillingContext | None = None) -> Invoice:
    """Issue a draft: it takes its number and its due date now (`ctx`: the billing context, when the caller
    read it for many)."""
    if invoice.status != "draft":
        raise DomainError(_l("Only a draft can be issued."), code="not_draft")
    open_document(invoice, now, ctx or load_context(), installments)
    audit.record("invoice_issued", actor=actor, organisation=invoice.organisation, obj=invoice,
                 details={"total": invoice.total, "currency": invoice.currency})
    return invoice


# States


def settle(invoice: Invoice, now: datetime) -> None:
    invoice.status, invoice.paid_at = "paid", now
    for installment in invoice.installments:
        if installment.paid_at is None:
            installment.paid_at = now


def mark_paid(invoice: Invoice, now: datetime, actor=None) -> Invoice:
    """Record that an open invoice was paid in full (a credit note: refunded)."""
    if invoice.status != "open":
        raise DomainError(_l("Only a pending document can be marked as paid."), code="not_open")
    settle(invoice, now)
    db.session.flush()
    audit.record("invoice_paid", actor=actor, organisation=invoice.organisation, obj=invoice,
                 details={"total": invoice.total})
    return invoice


def void_invoice(invoice: Invoice, now: datetime, reason: str = "", actor=None) -> Invoice:
    """Cancel a draft or pending document issued by mistake; its number stays used, shown as void."""
    if invoice.status == "paid":
        raise DomainError(_l("A paid invoice cannot be voided: issue a credit note to correct it."),
                          code="paid_cannot_be_voided")
    if invoice.status not in ("draft", "open"):
        raise DomainError(_l("Only a draft or pending document can be voided."), code="not_open")
    invoice.status, invoice.voided_at = "void", now
    db.session.flush()
    audit.record("invoice_voided", actor=actor, organisation=invoice.organisation, obj=invoice,
                 details={"reason": (reason or "").strip()[:200]})
    return invoice


def mark_uncollectible(invoice: Invoice, now: datetime, actor=None) -> Invoice:
    """Give up on collecting a pending invoice (it stays issued and can still be credited)."""
    if invoice.status != "open" or invoice.kind != "invoice":
        raise DomainError(_l("Only a pending invoice can be marked as uncollectible."), code="not_open")
    invoice.status = "uncollectible"
    db.session.flush()
    audit.record("invoice_uncollectible", actor=actor, organisation=invoice.organisation, obj=invoice,
                 details={"total": invoice.total})
    return invoice


# PDFs after commit


def queue_pdf(invoice_ids: list[int]) -> None:
    """Have these documents' PDFs rendered once the current transaction commits."""
    hooks.after_commit("render_invoice_pdfs", invoice_ids)
