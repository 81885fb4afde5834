"""Rendering invoice PDFs and keeping them: each in its own session, read, drawn with no transaction open,
then stored in one short write (see `render_and_store`)."""

import hashlib
import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.database import writing
from portal.extensions import db
from portal.models import InvoicePdf
from portal.orm import utcnow
from portal.services.billing import pdf as invoice_pdf
from portal.services.payments.offline import documents as offline_documents

log = logging.getLogger(__name__)


def render_and_store(invoice_id: int) -> InvoicePdf | None:
    """Render the invoice's PDF and keep it, unless it is already kept; return the kept one (None: no invoice).

    Runs in its own session so that it can be called after a commit (the job) or from a read-only request
    (a download that finds no PDF): reading and drawing happen outside any write transaction, and the
    insert is short. If another worker stored the PDF meanwhile, theirs is kept and returned.
    """
    with Session(db.engine, expire_on_commit=False) as session:
        existing = invoice_pdf.stored_pdf(invoice_id, session)
        if existing is not None:
            return existing
        invoice = invoice_pdf.load_for_pdf(invoice_id, session)
        if invoice is None or invoice.status == "draft" or invoice.number is None:
            return None
        instructions = invoice_pdf.payment_instructions(invoice, session)
        offline = offline_documents.pending_for_invoice(invoice_id, session)
        session.commit()  # end the read: drawing must not hold a transaction open
        content = invoice_pdf.render_invoice_pdf(invoice, instructions, offline)
        with writing():
            existing = invoice_pdf.stored_pdf(invoice_id, session)
            if existing is not None:
                session.commit()
                return existing
            pdf = InvoicePdf(invoice_id=invoice_id, content=content, sha256=hashlib.sha256(content).hexdigest(),
                             created_at=utcnow())
            session.add(pdf)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                log.info("PDF of invoice %s was stored by another worker first", invoice_id)
                return invoice_pdf.stored_pdf(invoice_id, session)
        log.info("stored the PDF of invoice %s (%d bytes)", invoice_id, len(content))
        return pdf


def render_and_store_many(invoice_ids: list[int]) -> list[int]:
    """Render and keep the PDFs of several invoices; returns the ids that failed (each failure is logged)."""
    failed = []
    for invoice_id in invoice_ids:
        try:
            render_and_store(invoice_id)
        except Exception:
            log.exception("could not render the PDF of invoice %s", invoice_id)
            failed.append(invoice_id)
    return failed
