"""The account area's tables as CSV: a subscription history (or this month's activations), usage, this month's
services and overconsumption, and the active plans, streamed a chunk at a time, dates in the organisation's time
zone, amounts as plain decimals, cells safe for spreadsheets."""

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.labels import (
    METRIC_LABELS,
    PERIOD_LABELS,
    PRODUCT_KIND_LABELS,
    SUBSCRIPTION_EVENT_LABELS,
    SUBSCRIPTION_STATUS_LABELS,
)
from portal.models import Organisation
from portal.orm import utcnow
from portal.services.billing import history, month
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


def _day(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).date().isoformat() if moment else ""


SERVICE_HEADER = (_l("Subscription no."), _l("Service"), _l("Type"), _l("Quantity"), _l("Currency"), _l("Unit price"),
                  _l("Amount"), _l("From"), _l("To"))


def service_rows(organisation: Organisation, services: list[month.Service]) -> list[list]:
    """One row per service in force (month.services): its quantity, the period's unit price and amount, before tax."""
    zone = ZoneInfo(organisation.timezone or "UTC")
    return [[service.subscription.id, service.name, str(PRODUCT_KIND_LABELS.get(service.kind, service.kind)),
             service.quantity, service.currency, plain_amount(service.unit_amount, service.currency),
             plain_amount(service.amount, service.currency), _day(service.subscription.current_period_start, zone),
             _day(service.subscription.current_period_end, zone)] for service in services]


OVERCONSUMPTION_HEADER = (_l("Metric"), _l("From"), _l("To"), _l("Used"), _l("Included"), _l("Excess"),
                          _l("Currency"), _l("Overage unit price"), _l("Amount so far"))


def overconsumption_rows(organisation: Organisation, period, rows: list[month.Overconsumption]) -> list[list]:
    """One row per metered metric of the current period (month.overconsumption); no unit price: not billed."""
    zone = ZoneInfo(organisation.timezone or "UTC")
    return [[str(METRIC_LABELS.get(row.metric, row.metric)), _day(period.start, zone), _day(period.end, zone),
             row.used, row.included, row.excess, row.currency,
             "" if row.unit_price is None else plain_amount(row.unit_price, row.currency),
             plain_amount(row.amount, row.currency)] for row in rows]


PLAN_HEADER = (_l("Subscription no."), _l("Software"), _l("Plan"), _l("Add-ons"), _l("Billing"), _l("From"), _l("To"),
               _l("State"), _l("Next renewal"), _l("Ends on"), _l("Changes to"), _l("Who pays"), _l("Discount %"),
               _l("Currency"), _l("Price per period"))


def _ends(sub, zone: ZoneInfo) -> str:
    if sub.status == "suspended":
        return _day(sub.suspended_at, zone)
    return _day(sub.current_period_end, zone) if sub.suspend_at_period_end or sub.cancel_at_period_end else ""


def plan_rows(organisation: Organisation, subscriptions: list, book: PriceBook, locale: str | None) -> list[list]:
    """One row per plan (account.subscriptions): its add-ons and quantities, period, state, renewal, payer and what
    a period costs before tax (plan and add-ons, the discount applied; empty when the plan has no price)."""
    zone = ZoneInfo(organisation.timezone or "UTC")
    found = []
    for sub in subscriptions:
        services = month.services([sub], book, locale)
        priced = any(service.product_id == sub.plan_id for service in services)
        renews = sub.status != "suspended" and not (sub.suspend_at_period_end or sub.cancel_at_period_end)
        found.append([
            sub.id, sub.plan.software.display_name(locale), sub.plan.display_name(locale),
            "; ".join(f"{item.product.display_name(locale)} × {item.quantity}" for item in sub.items),
            str(PERIOD_LABELS.get(sub.period, sub.period)), _day(sub.current_period_start, zone),
            _day(sub.current_period_end, zone), str(SUBSCRIPTION_STATUS_LABELS.get(sub.status, sub.status)),
            _day(sub.current_period_end, zone) if renews else "", _ends(sub, zone),
            sub.pending_plan.display_name(locale) if sub.pending_plan else "", sub.payer.name,
            f"{sub.discount_bp / 100:g}", sub.currency,
            plain_amount(sum(service.amount for service in services), sub.currency) if priced else "",
        ])
    return found
