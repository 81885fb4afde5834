"""What the API answers: the JSON bodies of an organisation, its entitlements and its invoices.

Times are ISO 8601 in UTC ("2026-11-20T10:00:00Z"); amounts are integers in the currency's minor units
(CLP has none, BRL and MXN two), next to their ISO currency code.
"""

import math
from datetime import UTC, datetime

from flask_babel import get_locale
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import FiscalDocument, Invoice
from portal.orm import utcnow
from portal.services.billing.entitlements import Entitlements
from portal.services.billing.invoicing import ISSUED_STATUSES
from portal.services.partners.license_check import LicenseCheck

PER_PAGE = 50
MAX_PER_PAGE = 100


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def product_name(product) -> str:
    return product.display_name(str(get_locale()))


def _product(product) -> dict:
    return {"code": product.code, "name": product_name(product)}


def license_body(found: LicenseCheck, message: str) -> dict:
    """A license check's answer: `product` and `users` only for a code that matched the client's tax id."""
    return {"status": found.status, "message": message,
            "product": _product(found.product) if found.product is not None else None,
            "users": found.users, "activated_at": iso(found.activated_at), "cancelled_at": iso(found.cancelled_at),
            "code_well_formed": found.well_formed}


def me_body(found: Entitlements) -> dict:
    org, primary = found.organisation, found.primary
    return {
        "organisation": {"id": org.id, "name": org.name, "kind": org.kind, "country": org.country,
                         "currency": org.currency, "time_zone": org.timezone, "status": org.status},
        "plan": _product(primary.plan) if primary is not None else None,
        "status": primary.status if primary is not None else None,
        "period": {"start": iso(found.period.start), "end": iso(found.period.end),
                   "billing_period": primary.period if primary is not None else None},
        "subscriptions": [
            {"id": s.id, "plan": _product(s.plan), "status": s.status, "billing_period": s.period,
             "current_period_start": iso(s.current_period_start), "current_period_end": iso(s.current_period_end),
             "trial_ends_at": iso(s.trial_ends_at),
             "add_ons": [{**_product(item.product), "quantity": item.quantity} for item in s.items]}
            for s in found.subscriptions
        ],
        "entitlements": {
            metric: {"included": e.included, "used": e.used, "remaining": e.remaining, "overage": e.overage}
            for metric, e in found.metrics.items()
        },
    }


def _issued(organisation_id: int):
    return db.select(Invoice).where(
        Invoice.organisation_id == organisation_id,
        Invoice.status.in_(ISSUED_STATUSES),
        Invoice.number.is_not(None),
    )


def invoice_body(invoice: Invoice, now: datetime, lines: bool = False) -> dict:
    body = {
        "id": invoice.id,
        "number": invoice.display_number,
        "kind": invoice.kind,
        "status": invoice.status,
        "overdue": invoice.is_overdue(now),
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "tax_total": invoice.tax_total,
        "total": invoice.total,
        "issued_at": iso(invoice.issued_at),
        "due_at": iso(invoice.due_at),
        "paid_at": iso(invoice.paid_at),
        "period_start": iso(invoice.period_start),
        "period_end": iso(invoice.period_end),
    }
    if lines:
        body["lines"] = [
            {"description": line.description, "kind": line.kind, "quantity": line.quantity,
             "unit_amount": line.unit_amount, "amount": line.amount, "tax_rate_bp": line.tax_rate_bp,
             "tax_amount": line.tax_amount, "total": line.total}
            for line in invoice.lines
        ]
        body["installments"] = [
            {"number": part.number, "amount": part.amount, "due_at": iso(part.due_at), "paid_at": iso(part.paid_at)}
            for part in invoice.installments
        ]
    return body


def invoices_page(organisation_id: int, page: int, per_page: int) -> dict:
    """One page of the organisation's issued invoices and credit notes, newest first."""
    total = db.session.scalar(db.select(db.func.count()).select_from(_issued(organisation_id).subquery()))
    rows = db.session.scalars(
        _issued(organisation_id)
        .options(selectinload(Invoice.series))
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    pages = max(math.ceil(total / per_page), 1)
    now = utcnow()
    return {
        "invoices": [invoice_body(invoice, now) for invoice in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": pages,
        "next_page": page + 1 if page < pages else None,
    }


def issued_invoice(organisation_id: int, invoice_id: int) -> Invoice | None:
    """One issued invoice of the organisation (None for another organisation's, or a draft)."""
    return db.session.scalar(
        _issued(organisation_id)
        .where(Invoice.id == invoice_id)
        .options(selectinload(Invoice.series), selectinload(Invoice.lines), selectinload(Invoice.installments))
    )


def fiscal_document_body(document: FiscalDocument) -> dict:
    """A kept NF-e / NFC-e as the API shows it (without its XML)."""
    return {
        "id": document.id,
        "access_key": document.access_key,
        "model": document.model,
        "direction": document.direction,
        "series": document.series,
        "number": document.number,
        "issued_at": iso(document.issued_at),
        "issuer": {"tax_id": document.issuer_tax_id, "name": document.issuer_name},
        "recipient": {"tax_id": document.recipient_tax_id, "name": document.recipient_name},
        "total": document.total,
        "currency": document.currency,
        "status": document.status,
        "status_code": document.status_code,
        "status_reason": document.status_reason,
        "cfops": list(document.cfops),
        "received_at": iso(document.received_at),
    }
