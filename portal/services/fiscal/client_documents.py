"""A reseller's manager looks after a client's supplier XMLs ("XMLs de fornecedores"): the NF-e / NFC-e the
client received (portal.services.fiscal.documents keeps them), month by month in the client's time zone, pending
until the manager recognises them ("Reconhecer"), and each XML downloaded as it was received.

Recognising is idempotent: a document already recognised keeps who recognised it and when, and recognising it
again writes nothing (not even an audit event).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from portal.extensions import db
from portal.models import FiscalDocument, Organisation, User
from portal.routing import fits
from portal.services import audit
from portal.services.errors import DomainError
from portal.services.fiscal.documents import RECEIVED

PENDING, RECOGNISED = "pending", "recognised"
STATES = (PENDING, RECOGNISED)
MAX_SELECTED = 200  # documents recognised in one go (a page holds 25)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def previous(self) -> "Month":
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> "Month":
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    @property
    def first_day(self) -> datetime:
        return datetime(self.year, self.month, 1)


def zone_of(organisation: Organisation) -> ZoneInfo:
    try:
        return ZoneInfo(organisation.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def month_of(organisation: Organisation, moment: datetime) -> Month:
    """The month `moment` falls in for the organisation (its own time zone)."""
    local = moment.astimezone(zone_of(organisation))
    return Month(local.year, local.month)


def bounds(organisation: Organisation, month: Month) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC, as the organisation's calendar has them."""
    zone = zone_of(organisation)
    after = month.next()
    start = datetime(month.year, month.month, 1, tzinfo=zone).astimezone(UTC)
    return start, datetime(after.year, after.month, 1, tzinfo=zone).astimezone(UTC)


def first_year(client: Organisation, now: datetime) -> int:
    """The year of the client's oldest supplier document (this year when it has none): where the picker starts."""
    oldest = db.session.scalar(db.select(db.func.min(FiscalDocument.issued_at)).where(
        FiscalDocument.organisation_id == client.id, FiscalDocument.direction == RECEIVED))
    return min(month_of(client, oldest).year if oldest else now.year, now.year)


def years_offered(client: Organisation, now: datetime) -> list[int]:
    """The years the month picker offers, newest first."""
    return list(range(month_of(client, now).year, first_year(client, now) - 1, -1))


def chosen_month(client: Organisation, year: str | None, month: str | None, now: datetime) -> Month:
    """The month asked for (the current one when neither is given); a DomainError for a year outside the
    picker's or a month that is not 1 to 12."""
    current = month_of(client, now)
    if not year and not month:
        return current
    years = years_offered(client, now)
    raw_year, raw_month = (year or str(current.year)).strip(), (month or "1").strip()
    if not (raw_year.isdigit() and int(raw_year) in years):
        raise DomainError(_l("Choose a year from %(first)d to %(last)d.", first=years[-1], last=years[0]),
                          code="invalid_year", field="year")
    if not (raw_month.isdigit() and 1 <= int(raw_month) <= 12):
        raise DomainError(_l("Choose a month from January to December."), code="invalid_month", field="month")
    return Month(int(raw_year), int(raw_month))


def _received(client: Organisation):
    return (FiscalDocument.organisation_id == client.id, FiscalDocument.direction == RECEIVED)


def _state(state: str):
    return FiscalDocument.recognised_at.is_(None) if state == PENDING else FiscalDocument.recognised_at.is_not(None)


def supplier_documents(client: Organisation, month: Month, state: str) -> Select:
    """The client's supplier documents issued in `month`, pending or recognised, newest first (for page_of)."""
    start, end = bounds(client, month)
    return (db.select(FiscalDocument)
            .where(*_received(client), _state(state), FiscalDocument.issued_at >= start,
                   FiscalDocument.issued_at < end)
            .order_by(FiscalDocument.issued_at.desc(), FiscalDocument.id.desc()))


def counts(client: Organisation, month: Month) -> dict[str, int]:
    """How many of the month's supplier documents are pending and how many recognised."""
    start, end = bounds(client, month)
    rows = db.session.execute(
        db.select(FiscalDocument.recognised_at.is_(None), db.func.count())
        .where(*_received(client), FiscalDocument.issued_at >= start, FiscalDocument.issued_at < end)
        .group_by(FiscalDocument.recognised_at.is_(None)))
    found = {PENDING if pending else RECOGNISED: count for pending, count in rows}
    return {state: found.get(state, 0) for state in STATES}


def supplier_document(client: Organisation, document_id: int) -> FiscalDocument | None:
    """One supplier document of the client (None for another client's, or one the client issued)."""
    return db.session.scalar(db.select(FiscalDocument).where(FiscalDocument.id == document_id, *_received(client)))


def _ids(raw: list[str]) -> set[int]:
    ids = {int(value) for value in (item.strip() for item in raw) if value.isdigit() and fits(int(value))}
    if len(ids) != len({item.strip() for item in raw}) or not ids:
        raise DomainError(_l("Choose at least one of the client's supplier XMLs to recognise."),
                          code="no_document", field="document")
    if len(ids) > MAX_SELECTED:
        raise DomainError(_l("Recognise at most %(count)d XMLs at a time.", count=MAX_SELECTED),
                          code="too_many_documents", field="document")
    return ids


def recognise(client: Organisation, raw_ids: list[str], actor: User, now: datetime,
              address: str | None = None) -> list[FiscalDocument]:
    """Recognise the client's supplier documents named by `raw_ids` (as a form sends them); the ones this call
    recognised, each audited. Those already recognised stay as they were. A DomainError, with nothing written,
    when an id is not one of the client's supplier documents."""
    ids = _ids(raw_ids)
    known = set(db.session.scalars(db.select(FiscalDocument.id).where(FiscalDocument.id.in_(ids), *_received(client))))
    if known != ids:
        raise DomainError(_l("One of the chosen XMLs is not a supplier XML of this client."),
                          code="unknown_document", field="document")
    # One statement, guarded by recognised_at IS NULL: two managers recognising at once record it once.
    updated = set(db.session.scalars(
        db.update(FiscalDocument)
        .where(FiscalDocument.id.in_(ids), *_received(client), FiscalDocument.recognised_at.is_(None))
        .values(recognised_at=now, recognised_by_id=actor.id)
        .returning(FiscalDocument.id)
        .execution_options(synchronize_session=False)))
    documents = list(db.session.scalars(db.select(FiscalDocument).where(FiscalDocument.id.in_(updated))
                                        .order_by(FiscalDocument.id)
                                        .execution_options(populate_existing=True)))
    for document in documents:
        audit.record("supplier_document_recognised", actor=actor, organisation=client, obj=document,
                     details={"access_key": document.access_key, "issuer": document.issuer_tax_id},
                     address=address)
    return documents


def xml_filename(document: FiscalDocument) -> str:
    """The download's name: the document's access key (as SEFAZ and accounting software name the files)."""
    return f"{document.access_key}.xml"
