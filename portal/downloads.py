"""Files the portal sends, shared by the blueprints that offer them (an invoice's PDF to its customer and to staff)."""

import io

from flask import abort, send_file

from portal.services.billing import pdf as invoice_pdf
from portal.workflows import invoice_pdfs


def pdf_response(invoice, inline: bool = False):
    """The kept PDF of `invoice` as a download (or shown in the browser, `inline`), cached by its sha256."""
    pdf = invoice_pdf.stored_pdf(invoice.id) or invoice_pdfs.render_and_store(invoice.id) or abort(404)
    response = send_file(io.BytesIO(pdf.content), mimetype="application/pdf", as_attachment=not inline,
                         download_name=invoice_pdf.pdf_filename(invoice), etag=pdf.sha256,
                         last_modified=pdf.created_at, max_age=0, conditional=True)
    response.cache_control.private = True
    return response
