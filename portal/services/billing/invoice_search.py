"""Finding invoices for the screens: a customer's own, all of them for staff, filters, pages, CSV rows.

Every customer query is scoped by the organisation passed in (the view passes `g.organisation`),
never by an id from the request alone.
"""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, load_only, selectinload

from portal.extensions import db
from portal.i18n import to_major
from portal.labels import INVOICE_KIND_LABELS, INVOICE_STATUS_LABELS
from portal.models import Invoice, InvoicePdf, Organisation
from portal.orm import utcnow
from portal.services.accounts import directory
from portal.services.billing.invoicing import ISSUED_STATUSES
from portal.services.billing.pdf import invoice_timezone

DRAFT_HAS_NO_PDF = _l("A draft has no PDF yet: it is rendered when the invoice is issued.")


@dataclass
class InvoiceFilters:
    status: str = ""  # one of INVOICE_STATUS_LABELS ("overdue": open and past its due date)
    currency: str = ""
    organisation: str = ""  # part of the billed organisation's name or tax id (staff only)
    issued_from: date | None = None  # calendar days in the viewer's time zone, both included
    issued_to: date | None = None

    def args(self) -> dict:
        """The filters as URL query arguments (for the pages, the CSV link and the address bar)."""
        values = {
            "status": self.status,
            "currency": self.currency,
            "organisation": self.organisation,
            "issued_from": self.issued_from.isoformat() if self.issued_from else "",
            "issued_to": self.issued_to.isoformat() if self.issued_to else "",
        }
        return {key: value for key, value in values.items() if value}


def display_status(invoice: Invoice, now: datetime | None = None) -> str:
    """The status a person reads: an open invoice past its due date is overdue."""
    return "overdue" if invoice.is_overdue(now or utcnow()) else invoice.status


def status_label(status: str) -> str:
    return str(INVOICE_STATUS_LABELS.get(status, status))


def _filtered(query, filters: InvoiceFilters, timezone: str, now: datetime):
    if filters.status == "overdue":
        query = query.where(Invoice.is_overdue(now))
    elif filters.status == "open":
        query = query.where(Invoice.status == "open", ~Invoice.is_overdue(now))
    elif filters.status:
        query = query.where(Invoice.status == filters.status)
    if filters.currency:
        query = query.where(Invoice.currency == filters.currency)
    zone = ZoneInfo(timezone)
    if filters.issued_from:
        query = query.where(Invoice.issued_at >= datetime.combine(filters.issued_from, time(), zone))
    if filters.issued_to:
        query = query.where(Invoice.issued_at < datetime.combine(filters.issued_to + timedelta(days=1), time(), zone))
    return query


def customer_invoices(organisation: Organisation, filters: InvoiceFilters, now: datetime | None = None):
    """The issued invoices and credit notes billed to `organisation`, newest first."""
    query = (
        db.select(Invoice)
        .where(Invoice.organisation_id == organisation.id, Invoice.status.in_(ISSUED_STATUSES))
        .options(joinedload(Invoice.series))
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc())
    )
    return _filtered(query, filters, organisation.timezone, now or utcnow())


def staff_invoices(filters: InvoiceFilters, timezone: str, now: datetime | None = None):
    """Every invoice of every organisation, newest first, with the billed organisation loaded."""
    query = (
        db.select(Invoice)
        .options(joinedload(Invoice.series), joinedload(Invoice.organisation))
        .order_by(Invoice.id.desc())
    )
    if filters.organisation:
        query = query.where(Invoice.organisation_id.in_(
            db.select(Organisation.id).where(directory.name_or_tax_id(filters.organisation))))
    return _filtered(query, filters, timezone, now or utcnow())


def customer_invoice(organisation: Organisation, invoice_id: int, details: bool = True) -> Invoice | None:
    """One issued invoice billed to `organisation` (with what its page shows); None for anyone else's."""
    query = _with_details(db.select(Invoice)) if details else db.select(Invoice).options(joinedload(Invoice.series))
    return db.session.scalar(
        query.where(
            Invoice.id == invoice_id,
            Invoice.organisation_id == organisation.id,
            Invoice.status.in_(ISSUED_STATUSES),
        )
    )


def staff_invoice(invoice_id: int, details: bool = True) -> Invoice | None:
    query = _with_details(db.select(Invoice)) if details else db.select(Invoice).options(joinedload(Invoice.series))
    return db.session.scalar(query.where(Invoice.id == invoice_id))


def _with_details(query):
    return query.options(
        joinedload(Invoice.series),
        joinedload(Invoice.organisation),
        selectinload(Invoice.lines),
        selectinload(Invoice.installments),
        joinedload(Invoice.credit_for).joinedload(Invoice.series),
    )


def credit_notes_for(invoice: Invoice, statuses=None) -> list[Invoice]:
    """The credit notes that correct `invoice`."""
    query = (
        db.select(Invoice)
        .where(Invoice.credit_for_id == invoice.id, Invoice.organisation_id == invoice.organisation_id)
        .options(joinedload(Invoice.series))
        .order_by(Invoice.id)
    )
    if statuses:
        query = query.where(Invoice.status.in_(statuses))
    return list(db.session.scalars(query))


def pdf_facts(invoice: Invoice) -> tuple[datetime, str] | None:
    """When the kept PDF was made and its sha256, without loading the file itself."""
    row = db.session.execute(
        db.select(InvoicePdf.created_at, InvoicePdf.sha256).where(InvoicePdf.invoice_id == invoice.id)
    ).first()
    return tuple(row) if row else None


def currencies_in_use() -> list[str]:
    return list(db.session.scalars(db.select(Organisation.currency).distinct().order_by(Organisation.currency)))


def plain_amount(amount: int, currency: str) -> str:
    """Minor units as a plain decimal for spreadsheets: 123450 BRL → "1234.50", 29990 CLP → "29990"."""
    return str(to_major(amount, currency))


def _cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading =, +, - or @ would otherwise run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_filename(today: date | None = None) -> str:
    """invoices-2025-03-31.csv in the reader's language, kept to plain ASCII letters and dashes."""
    name = str(_l("invoices-%(date)s.csv", date=(today or utcnow().date()).isoformat()))
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().removesuffix(".csv")
    return (re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-") or "invoices") + ".csv"


def csv_header(staff: bool) -> list[str]:
    header = [_l("Number"), _l("Document"), _l("Status"), _l("Issue date"), _l("Due date"), _l("Paid on"),
              _l("Currency"), _l("Net"), _l("Tax"), _l("Total")]
    if staff:
        header[1:1] = [_l("Organisation"), _l("Tax ID")]
    return [str(title) for title in header]


class _CsvCells:
    """What every row of one export shares, resolved once: the translated labels, the time zones (per
    row and cell, a lazy string and a zone lookup cost more than the row itself)."""

    def __init__(self, now: datetime):
        self.now = now
        self.kinds = {kind: str(label) for kind, label in INVOICE_KIND_LABELS.items()}
        self.statuses = {status: str(label) for status, label in INVOICE_STATUS_LABELS.items()}
        self.zones: dict[str | int, ZoneInfo] = {}

    def zone(self, invoice: Invoice) -> ZoneInfo:
        """`invoice_timezone`: the snapshot's zone, else the organisation's, looked up once per organisation."""
        key = (invoice.customer_snapshot or {}).get("timezone") or invoice.organisation_id
        if key not in self.zones:
            self.zones[key] = invoice_timezone(invoice)
        return self.zones[key]


def csv_row(invoice: Invoice, staff: bool, cells: _CsvCells) -> list[str]:
    zone = cells.zone(invoice)

    def day(moment):
        return moment.astimezone(zone).date().isoformat() if moment else ""

    status = display_status(invoice, cells.now)
    row = [
        invoice.display_number,
        cells.kinds.get(invoice.kind, invoice.kind),
        cells.statuses.get(status, status),
        day(invoice.issued_at),
        day(invoice.due_at),
        day(invoice.paid_at),
        invoice.currency,
        plain_amount(invoice.subtotal, invoice.currency),
        plain_amount(invoice.tax_total, invoice.currency),
        plain_amount(invoice.total, invoice.currency),
    ]
    if staff:
        row[1:1] = [_cell(invoice.organisation.name), _cell(invoice.organisation.tax_id)]
    return row


def csv_lines(query, staff: bool, chunk: int = 1_000):
    """The CSV text of every invoice of `query`, produced a chunk at a time (a large export is streamed)."""
    cells = _CsvCells(utcnow())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so that spreadsheets read the accents as UTF-8
    writer.writerow(csv_header(staff))
    yield buffer.getvalue()
    # Only the columns a row prints are read (the snapshots and periods are the PDF's, not the export's).
    query = query.options(load_only(
        Invoice.organisation_id, Invoice.series_id, Invoice.number, Invoice.kind, Invoice.status, Invoice.currency,
        Invoice.subtotal, Invoice.tax_total, Invoice.total, Invoice.issued_at, Invoice.due_at, Invoice.paid_at,
        Invoice.customer_snapshot)).execution_options(yield_per=chunk)
    for invoices in db.session.scalars(query).partitions(chunk):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(invoice, staff, cells) for invoice in invoices)
        yield buffer.getvalue()
