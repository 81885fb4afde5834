"""The account area's tables as CSV: a subscription history (or this month's activations) and usage, streamed a
chunk at a time, dates in the organisation's time zone, amounts as plain decimals, cells safe for spreadsheets."""

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.labels import METRIC_LABELS, SUBSCRIPTION_EVENT_LABELS
from portal.models import Organisation
from portal.orm import utcnow
from portal.services.billing import history
from portal.services.billing.invoice_search import _cell, plain_amount
from portal.services.billing.rules import PriceBook

CHANGE_HEADER = (_l("Date"), _l("Subscription"), _l("Change"), _l("Concerns"), _l("Before"), _l("After"),
                 _l("Currency"), _l("Amount"), _l("Who"), _l("Documents"))


def filename(stem: str, today: date | None = None) -> str:
    """<stem>-2026-12-02.csv, kept to plain ASCII letters and dashes."""
    name = f"{stem}-{(today or utcnow().date()).isoformat()}"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return (re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-") or "export") + ".csv"


def stream(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text of `header` and `rows`, a chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so that spreadsheets read the accents as UTF-8
    writer.writerow([str(cell) for cell in header])
    yield _drain(buffer)
    for count, row in enumerate(rows, 1):
        writer.writerow([_cell(cell) for cell in row])
        if count % 500 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def change_rows(organisation: Organisation, query, locale: str | None, chunk: int = 500) -> Iterator[list]:
    """The rows of every event of `query` (history.events), named as on the screen."""
    zone, book = ZoneInfo(organisation.timezone or "UTC"), PriceBook.load()
    for events in db.session.scalars(query.execution_options(yield_per=chunk)).partitions(chunk):
        for change in history.changes(list(events), book, locale):
            event = change.event
            documents = [doc.display_number for doc in (change.invoice, *change.credit_notes) if doc is not None]
            yield [
                _local(event.at, zone), book.products[event.subscription.plan_id].display_name(locale),
                str(SUBSCRIPTION_EVENT_LABELS.get(event.action, event.action)), change.subject,
                "" if change.before is None else change.before, "" if change.after is None else change.after,
                change.currency, "" if change.amount is None else plain_amount(change.amount, change.currency),
                event.actor.name if event.actor else "", " ".join(documents),
            ]



USAGE_HEADER = (_l("Metric"), _l("From"), _l("To"), _l("Used"), _l("Included"))


def usage_rows(organisation: Organisation, series: dict) -> Iterator[list]:
    """One row per metric and bucket of `series` (usage_history.Series by metric): its bounds, use and quota."""
    zone = ZoneInfo(organisation.timezone or "UTC")
    for metric, found in series.items():
        for bucket in found.buckets:
            yield [str(METRIC_LABELS.get(metric, metric)), _local(bucket.start, zone), _local(bucket.end, zone),
                   bucket.used, "" if found.quota is None else found.quota]
