"""POST /api/v1/fiscal-documents: the client's software sends its NF-e / NFC-e XMLs, one or a batch."""

from flask import g, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from portal.api import resources
from portal.api.views import _refused, bp
from portal.errors import api_error
from portal.extensions import db
from portal.orm import utcnow
from portal.services.errors import DomainError
from portal.services.fiscal import documents, nfe

XML_TYPES = ("application/xml", "text/xml")
BATCH_TYPE = "multipart/form-data"
BATCH_FIELD = "files"
MAX_BATCH_BYTES = 8 * 1024 * 1024
MAX_FILENAME = 255


def _outcome(kept: documents.Kept) -> dict:
    return {"result": "stored" if kept.created else "duplicate",
            "document": resources.fiscal_document_body(kept.document)}


def _one_xml():
    if (request.content_length or 0) > nfe.MAX_BYTES:
        return _too_large_document()
    # A body without a length (chunked) is read up to one byte past the limit: a longer one is too large.
    request.max_content_length = nfe.MAX_BYTES + 1
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _too_large_document()
    try:
        kept = documents.keep_document(g.api_organisation, body, utcnow())
    except DomainError as error:
        return _refused(error)
    db.session.commit()
    response = jsonify(_outcome(kept))
    response.status_code = 201 if kept.created else 200
    return response


def _xml_parts(body: bytes, boundary: str) -> list[tuple[str | None, bytes]]:
    """(filename, bytes) of each part named "files", in the order sent. A part is a file whether or not its
    Content-Disposition gives a filename (RFC 7578 makes it optional), so the decoder is driven here rather
    than through request.files, which would set the parts without one apart, out of order."""
    if not boundary:
        raise ValueError("no boundary")
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_parts=documents.MAX_BATCH_FILES * 2)
    decoder.receive_data(body)
    decoder.receive_data(None)
    parts: list[tuple[str, str | None, bytearray]] = []
    while not isinstance(event := decoder.next_event(), NeedData | Epilogue):
        if isinstance(event, Field | File):
            parts.append((event.name, getattr(event, "filename", None), bytearray()))
        elif isinstance(event, Data) and parts:
            parts[-1][2].extend(event.data)
    if isinstance(event, NeedData):
        raise ValueError("the body ends before its closing boundary")
    return [(filename, bytes(data)) for name, filename, data in parts if name == BATCH_FIELD]


def _batch_item(index: int, filename: str | None, data: bytes, now) -> dict:
    item = {"index": index, "filename": (filename or "")[:MAX_FILENAME] or None}
    try:
        with db.session.begin_nested():
            kept = documents.keep_document(g.api_organisation, data, now)
    except DomainError as error:
        error_body = {"code": error.code, "message": str(error.message)}
        if error.field:
            error_body["field"] = error.field
        return {**item, "result": "refused", "error": error_body}
    return {**item, **_outcome(kept)}


def _batch():
    if (request.content_length or 0) > MAX_BATCH_BYTES:
        return _too_large_batch()
    request.max_content_length = MAX_BATCH_BYTES + 1
    try:
        body = request.get_data(cache=False)
        if len(body) > MAX_BATCH_BYTES:
            return _too_large_batch()
        files = _xml_parts(body, request.mimetype_params.get("boundary", ""))
    except RequestEntityTooLarge:
        return _too_large_batch()
    except ValueError:
        files = []
    if not files:
        return api_error(422, "invalid_payload", _('Send each XML as a file part named "files" of a '
                                                   "multipart/form-data body."), field=BATCH_FIELD)
    if len(files) > documents.MAX_BATCH_FILES:
        return _too_large_batch()
    now = utcnow()
    results = [_batch_item(index, filename, data, now) for index, (filename, data) in enumerate(files)]
    db.session.commit()
    counts = {result: sum(1 for r in results if r["result"] == result) for result in ("stored", "duplicate",
                                                                                      "refused")}
    return jsonify(stored=counts["stored"], duplicates=counts["duplicate"], refused=counts["refused"],
                   results=results)


def _too_large_document():
    return api_error(413, "document_too_large", _("The document is larger than %(size)d KB; an NF-e is much "
                                                  "smaller.", size=nfe.MAX_BYTES // 1024))


def _too_large_batch():
    return api_error(413, "batch_too_large", _("Send at most %(max)d files and %(size)d MB in one batch.",
                                               max=documents.MAX_BATCH_FILES, size=MAX_BATCH_BYTES // 1024 // 1024))


@bp.post("/fiscal-documents")
def fiscal_documents_create():
    """Keep one NF-e / NFC-e XML (the body) or a batch (multipart files); an access key is kept once."""
    if request.mimetype in XML_TYPES:
        return _one_xml()
    if request.mimetype == BATCH_TYPE:
        return _batch()
    return api_error(415, "unsupported_media_type", _("Send one XML with the header Content-Type: application/xml, "
                                                      'or several as the "files" parts of a multipart/form-data '
                                                      "body."))
