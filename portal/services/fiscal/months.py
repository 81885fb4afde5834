"""A client's fiscal month: which months and types may be asked for, and that month's issued documents.

A month is the client's own calendar month (its time zone): an NFC-e issued at 22:30 on the 31st in São Paulo
is in that month, though it is already the 1st in UTC. The months offered are the current one and the
MONTHS_BACK before it; the types are NF-e (model 55) and NFC-e (model 65).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import FISCAL_MODELS, FiscalDocument, Organisation
from portal.services.errors import DomainError

MONTHS_BACK = 12
ISSUED = "issued"
MODEL_LABELS = {"55": _l("NF-e (model 55)"), "65": _l("NFC-e (model 65)")}
MODEL_NAMES = {"55": "NFe", "65": "NFCe"}  # in file names
CHUNK = 500


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @property
    def code(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> "Month":
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)


def zone_of(organisation: Organisation) -> ZoneInfo:
    try:
        return ZoneInfo(organisation.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def current_month(organisation: Organisation, now: datetime) -> Month:
    local = now.astimezone(zone_of(organisation))
    return Month(local.year, local.month)


def month_choices(organisation: Organisation, now: datetime) -> list[Month]:
    """The current month first, then the MONTHS_BACK before it."""
    months = [current_month(organisation, now)]
    for _ in range(MONTHS_BACK):
        months.append(months[-1].previous())
    return months


def parse_month(raw: str | None, organisation: Organisation, now: datetime) -> Month:
    """`2026-11` as a Month among those offered; a DomainError (400) for anything else."""
    text = (raw or "").strip()
    choices = {month.code: month for month in month_choices(organisation, now)}
    if text not in choices:
        raise DomainError(_l("Choose the current month or one of the %(count)d before it.", count=MONTHS_BACK),
                          code="invalid_month", field="month", status=400)
    return choices[text]


def parse_model(raw: str | None) -> str:
    """55 (NF-e) or 65 (NFC-e); a DomainError (400) for any other type."""
    text = (raw or "").strip()
    if text not in FISCAL_MODELS:
        raise DomainError(_l("Choose NF-e (model 55) or NFC-e (model 65)."), code="invalid_model", field="model",
                          status=400)
    return text


def bounds(organisation: Organisation, month: Month) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC, for the client's time zone."""
    zone = zone_of(organisation)
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    following = month.next()
    end = datetime(following.year, following.month, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _where(organisation: Organisation, month: Month, model: str):
    start, end = bounds(organisation, month)
    return (FiscalDocument.organisation_id == organisation.id, FiscalDocument.direction == ISSUED,
            FiscalDocument.model == model, FiscalDocument.issued_at >= start, FiscalDocument.issued_at < end)


def count_issued(organisation: Organisation, month: Month, model: str, session=None) -> int:
    """How many documents of `model` the client issued in `month`."""
    session = session or db.session
    return session.scalar(db.select(db.func.count()).select_from(FiscalDocument)
                          .where(*_where(organisation, month, model))) or 0


@dataclass(frozen=True)
class IssuedRow:
    access_key: str
    issued_at: datetime
    total: int  # centavos
    xml: bytes  # zlib-compressed, as kept


def issued_rows(organisation: Organisation, month: Month, model: str, session=None,
                chunk: int = CHUNK) -> Iterator[IssuedRow]:
    """The month's issued documents of `model` in date order, `chunk` rows at a time from a server-side cursor
    (PostgreSQL) or SQLite's stepping: a month of any size is read in constant memory."""
    session = session or db.session
    query = (db.select(FiscalDocument.access_key, FiscalDocument.issued_at, FiscalDocument.total,
                       FiscalDocument.xml)
             .where(*_where(organisation, month, model))
             .order_by(FiscalDocument.issued_at, FiscalDocument.id)
             .execution_options(yield_per=chunk))
    for rows in session.execute(query).partitions(chunk):
        for row in rows:
            yield IssuedRow(row.access_key, row.issued_at, row.total, row.xml)
