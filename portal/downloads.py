"""Files the portal sends, shared by the blueprints that offer them (an invoice's PDF to its customer and to staff)."""

import io

from flask import abort, send_file

from portal.services.billing import pdf as invoice_pdf
from portal.workflows import invoice_pdfs


def pdf_response(invoice, inline: bool = False):
    """The kept PDF of `invoice` as a download (or shown in the browser, `inline`), tagged by its sha256.

    Never stored by the browser or a proxy: an invoice names a customer and its amounts, and must not come
    back from a shared computer's cache after logout (no-cache would still keep a copy on disk)."""
    pdf = invoice_pdf.stored_pdf(invoice.id) or invoice_pdfs.render_and_store(invoice.id) or abort(404)
    response = send_file(io.BytesIO(pdf.content), mimetype="application/pdf", as_attachment=not inline,
                         download_name=invoice_pdf.pdf_filename(invoice), etag=pdf.sha256,
                         last_modified=pdf.created_at, conditional=True)
    response.headers["Cache-Control"] = "no-store"
    return response
