"""Reading payments for the screens: what an organisation can pay now, its payments (pages, CSV), an
invoice's payments. Every query is scoped by the organisation passed in (the view's `g.organisation`)."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.i18n import to_major
from portal.labels import PAYMENT_METHOD_LABELS, PAYMENT_STATE_LABELS
from portal.models import Invoice, Organisation, Payment, Subscription
from portal.services.billing import credit_notes
from portal.services.payments import settlement

MAX_PAYABLE = 100  # open invoices listed on the payment screen
CSV_HEADER = (_l("Date"), _l("Reference"), _l("Method"), _l("Status"), _l("Amount"), _l("Currency"), _l("Invoice"))


@dataclass
class Payable:
    invoice: Invoice
    due: int  # what can be asked for now (amount due less payments in progress)


def payable_invoices(org: Organisation) -> list[Payable]:
    """The organisation's open invoices with something left to pay, oldest due first, with their installments:
    each one's `settlement.payable` (what it owes less what payments in progress reserve) read in the same
    statement, so the page costs as much for one invoice as for many."""
    reserved = (db.select(db.func.coalesce(db.func.sum(Payment.amount), 0))
                .where(Payment.invoice_id == Invoice.id, Payment.state.in_(settlement.RESERVING_STATES))
                .correlate(Invoice).scalar_subquery())
    rows = db.session.execute(
        db.select(Invoice, credit_notes.left_to_pay() - reserved)
        .options(joinedload(Invoice.series), joinedload(Invoice.installments))
        .where(Invoice.organisation_id == org.id, Invoice.kind == "invoice", Invoice.status == "open")
        .order_by(Invoice.due_at.is_(None), Invoice.due_at, Invoice.id).limit(MAX_PAYABLE)).unique().all()
    return [Payable(invoice, int(left)) for invoice, left in rows if left is not None and left > 0]


def payable_invoice(org: Organisation, invoice_id: int) -> Invoice | None:
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.organisation_id != org.id or invoice.kind != "invoice":
        return None
    return invoice


def payments_of(org: Organisation):
    """The organisation's payments, newest first (a query to page or export)."""
    return (db.select(Payment).options(joinedload(Payment.payment_method))
            .where(Payment.organisation_id == org.id)
            .order_by(Payment.created_at.desc(), Payment.id.desc()))


def payment_of(org: Organisation, payment_id: int) -> Payment | None:
    found = db.session.get(Payment, payment_id)
    return found if found is not None and found.organisation_id == org.id else None


def invoice_payments(org: Organisation, invoice: Invoice) -> list[Payment]:
    """The payments that `org` made on its `invoice`, oldest first, with their cards, in one query (a customer's
    invoice page, a reseller's); none when the invoice is another organisation's."""
    if invoice.organisation_id != org.id:
        return []
    return list(db.session.scalars(db.select(Payment).options(joinedload(Payment.payment_method))
                                   .where(Payment.organisation_id == org.id, Payment.invoice_id == invoice.id)
                                   .order_by(Payment.id)))


def invoices_by_id(payments: list[Payment]) -> dict[int, Invoice]:
    ids = {p.invoice_id for p in payments if p.invoice_id is not None}
    if not ids:
        return {}
    return {i.id: i for i in db.session.scalars(db.select(Invoice).options(joinedload(Invoice.series))
                                                .where(Invoice.id.in_(ids)))}


def has_processing(payments: list[Payment]) -> bool:
    return any(p.state == "processing" for p in payments)


def csv_filename(now: datetime) -> str:
    return f"payments-{now:%Y%m%d}.csv"


def csv_lines(org: Organisation, timezone: str, chunk: int = 1_000):
    """The CSV text of every payment of the organisation, a chunk at a time."""
    zone = ZoneInfo(timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([str(h) for h in CSV_HEADER])
    yield buffer.getvalue()
    query = payments_of(org).execution_options(yield_per=chunk)
    for payments in db.session.scalars(query).partitions(chunk):
        buffer.seek(0)
        buffer.truncate()
        invoices = invoices_by_id(payments)
        for payment in payments:
            invoice = invoices.get(payment.invoice_id)
            writer.writerow([
                payment.created_at.astimezone(zone).date().isoformat(), payment.reference,
                str(PAYMENT_METHOD_LABELS[payment.method_kind]), str(PAYMENT_STATE_LABELS[payment.state]),
                f"{to_major(payment.amount, payment.currency)}", payment.currency,
                invoice.display_number if invoice is not None else "",
            ])
        yield buffer.getvalue()



def paying_resellers(org: Organisation) -> list[Organisation]:
    """The other organisations (its resellers) that pay for some of `org`'s live subscriptions: their invoices
    are theirs, not `org`'s."""
    return list(db.session.scalars(db.select(Organisation).where(_paying_reseller(org)).order_by(Organisation.name)))


def _paying_reseller(org: Organisation):
    return Organisation.id.in_(
        db.select(Subscription.payer_id).where(Subscription.organisation_id == org.id,
                                               Subscription.payer_id != org.id,
                                               Subscription.status.in_(("trial", "active", "past_due", "suspended"))))


def paying_resellers_select(org: Organisation):
    """The names of `paying_resellers` (to read them in the statement of other reads: portal.orm.read_together);
    `paying_resellers_from_rows` makes of its rows what the pages show of each (its name)."""
    position = db.func.row_number(type_=db.Integer).over(order_by=Organisation.name)
    return db.select(position, Organisation.id, Organisation.name).where(_paying_reseller(org))


def paying_resellers_from_rows(rows) -> list[SimpleNamespace]:
    """In the order of `paying_resellers` (the database's order of names, which read_together does not keep)."""
    return [SimpleNamespace(id=id_, name=name) for _position, id_, name in sorted(rows)]
