"""Keeping a client's NF-e / NFC-e: each file read and checked (portal.services.fiscal.nfe), attached to the
client as issued (the client is the issuer) or received (the client is the recipient), and stored once per
access key: sending the same document again answers with the one already kept."""

import zlib
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db
from portal.models import FiscalDocument, Organisation
from portal.services.errors import DomainError
from portal.services.fiscal.nfe import NfeFacts, read_nfe

MAX_BATCH_FILES = 50
ISSUED, RECEIVED = "issued", "received"


@dataclass(frozen=True)
class Kept:
    document: FiscalDocument
    created: bool  # False: the organisation already had a document with this access key


def direction_for(organisation: Organisation, facts: NfeFacts) -> str:
    """issued when the organisation is the document's issuer, received when it is its recipient."""
    own = organisation.tax_id if organisation.country == "BR" else None
    if own and facts.issuer_tax_id == own:
        return ISSUED
    if own and facts.recipient_tax_id == own:
        return RECEIVED
    raise DomainError(_l("Neither the issuer (%(issuer)s) nor the recipient of this document is your company: it "
                         "can only be sent with the integration key of one of them.", issuer=facts.issuer_tax_id),
                      code="not_your_document", field="emit/CNPJ")


def _insert(values: dict) -> int | None:
    """Insert the row unless the organisation already has this access key (also when another request is
    storing it at the same moment); the new row's id, or None."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(FiscalDocument.__table__).values(**values)
                 .on_conflict_do_nothing(index_elements=["organisation_id", "access_key"])
                 .returning(FiscalDocument.__table__.c.id))
    return db.session.execute(statement).scalar()


def keep_document(organisation: Organisation, data: bytes, now: datetime) -> Kept:
    """Read one XML and keep it for `organisation`; DomainError (nothing written) when it cannot be."""
    facts = read_nfe(data)
    direction = direction_for(organisation, facts)
    new_id = _insert({
        "organisation_id": organisation.id, "direction": direction, "access_key": facts.access_key,
        "model": facts.model, "series": facts.series, "number": facts.number, "issued_at": facts.issued_at,
        "issuer_tax_id": facts.issuer_tax_id, "issuer_name": facts.issuer_name,
        "recipient_tax_id": facts.recipient_tax_id, "recipient_name": facts.recipient_name,
        "total": facts.total, "currency": "BRL", "status": facts.status, "status_code": facts.status_code,
        "status_reason": facts.status_reason, "cfops": list(facts.cfops), "xml": zlib.compress(data, 6),
        "received_at": now,
    })
    document = db.session.scalar(db.select(FiscalDocument).where(
        FiscalDocument.organisation_id == organisation.id, FiscalDocument.access_key == facts.access_key))
    return Kept(document, created=new_id is not None)


def document_xml(document: FiscalDocument) -> bytes:
    """The XML exactly as it was received."""
    return zlib.decompress(document.xml)
