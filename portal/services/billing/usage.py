"""Usage metering: events reported per organisation and metric, each counted once, summed per period.

A batch is checked whole before anything is written (one bad event refuses the batch), then written in
one INSERT that lets the database skip the ids it already has (ON CONFLICT DO NOTHING on PostgreSQL and
SQLite), so a batch sent twice, or two batches sharing ids sent at the same moment, count each event once.

The same transaction adds the quantities of the events it inserted (those only) to their hours in usage_hour,
one upsert per batch. Totals over a period sum the whole hours it covers from there and read events only in the
hours its bounds cut (a period may start at any instant, a day in any time zone), so they are the sums of the
events themselves in as many rows as the period has hours, however many events it holds.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from portal.extensions import db
from portal.models import METRICS, Organisation, Subscription, UsageEvent, UsageHour
from portal.services.billing.rules import LIVE_STATUSES, MONTHS, add_months
from portal.services.errors import DomainError

MAX_EVENTS = 1_000
MAX_QUANTITY = 1_000_000
MAX_ID_LENGTH = 100
FUTURE_TOLERANCE = timedelta(minutes=5)
HOUR = timedelta(hours=1)
COMPOUND_SELECTS = 400  # SELECTs in one UNION ALL (SQLite takes at most 500)
EVENT_FIELDS = ("id", "metric", "quantity", "occurred_at")
# Subscriptions whose periods frame the metering: those the billing sweep renews (not suspended, not cancelled).
METERED_STATUSES = LIVE_STATUSES
# Control characters (C0, DEL, C1) and lone UTF-16 surrogates, which no database can store as text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class EventError(DomainError):
    """One event of a batch broke a rule: `index` is its position in the batch (from 0), `field` its field."""

    def __init__(self, message, index: int, field: str | None, code: str = "invalid_event", status: int = 422):
        super().__init__(message, code=code, field=field, status=status)
        self.index = index


@dataclass(frozen=True)
class Event:
    event_id: str
    metric: str
    quantity: int
    occurred_at: datetime


@dataclass(frozen=True)
class BatchResult:
    accepted: int
    duplicates: int


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    previous_start: datetime  # the oldest moment a late event may still report


def usage_totals(organisation_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """Units used per metric in [start, end) by one organisation (the metrics it used only)."""
    found = summed(organisation_id, [(start, end)], METRICS)
    return {metric: used[0] for metric, used in found.items() if used[0]}


def summed(organisation_id: int, bounds: Sequence[tuple[datetime, datetime]],
           metrics: Iterable[str]) -> dict[str, list[int]]:
    """Units used per metric in each of `bounds` (start included, end excluded, in ascending order, not
    overlapping), in one statement: the whole hours of each from usage_hour, the rest from its events.

    The statement has a SELECT for the hours and one for each part of an hour a bound cuts (two per bound at
    most); beyond COMPOUND_SELECTS of them (a year of days in a time zone at half an hour from UTC), the parts
    go in as many statements as they need: their number depends on the bounds, never on the events."""
    metrics = tuple(metrics)
    found = {metric: [0] * len(bounds) for metric in metrics}
    if not bounds or not metrics:
        return found
    whole: list[tuple[int, datetime, datetime]] = []  # (bucket, first hour, end of the last hour)
    partial: list[tuple[int, datetime, datetime]] = []  # (bucket, start, end) read from the events
    for index, (start, end) in enumerate(bounds):
        first, last = _hour_ceil(start), _hour_floor(end)
        if first < last:
            whole.append((index, first, last))
            partial += [(index, low, high) for low, high in ((start, first), (last, end)) if low < high]
        elif start < end:
            partial.append((index, start, end))
    parts = []
    if whole:
        bucket = db.case(*[(db.and_(UsageHour.hour >= low, UsageHour.hour < high), index)
                           for index, low, high in whole])
        parts.append(
            db.select(UsageHour.metric, bucket.label("bucket"), db.func.sum(UsageHour.total).label("used"))
            .where(UsageHour.organisation_id == organisation_id, UsageHour.metric.in_(metrics),
                   UsageHour.hour >= whole[0][1], UsageHour.hour < whole[-1][2])
            .group_by(UsageHour.metric, bucket))
    # One SELECT per range of events, each read from the index over its own times: as one OR of the ranges,
    # PostgreSQL reads every event of the organisation's metrics through the index, then filters them.
    parts += [db.select(UsageEvent.metric, db.literal(index, db.Integer).label("bucket"),
                        db.func.sum(UsageEvent.quantity).label("used"))
              .where(UsageEvent.organisation_id == organisation_id, UsageEvent.metric.in_(metrics),
                     UsageEvent.occurred_at >= low, UsageEvent.occurred_at < high)
              .group_by(UsageEvent.metric) for index, low, high in partial]
    for first in range(0, len(parts), COMPOUND_SELECTS):
        chunk = parts[first:first + COMPOUND_SELECTS]
        statement = chunk[0] if len(chunk) == 1 else db.union_all(*chunk)
        for metric, index, used in db.session.execute(statement).all():
            if index is not None:  # an hour cut by a bound: its events were read instead
                found[metric][int(index)] += int(used)
    return found


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hour_ceil(moment: datetime) -> datetime:
    floor = _hour_floor(moment)
    return floor if floor == moment else floor + HOUR


def latest_report(organisation_id: int, metric: str, start: datetime, end: datetime) -> int | None:
    """The quantity of the most recent event of `metric` in [start, end): a level, such as companies in use."""
    return db.session.scalar(
        db.select(UsageEvent.quantity)
        .where(
            UsageEvent.organisation_id == organisation_id,
            UsageEvent.metric == metric,
            UsageEvent.occurred_at >= start,
            UsageEvent.occurred_at < end,
        )
        .order_by(UsageEvent.occurred_at.desc(), UsageEvent.id.desc())
        .limit(1)
    )


# Billing periods


def metered_subscription(organisation_id: int) -> Subscription | None:
    """The subscription whose period frames the organisation's usage: its oldest one still in force."""
    return db.session.scalar(
        db.select(Subscription)
        .where(Subscription.organisation_id == organisation_id, Subscription.status.in_(METERED_STATUSES))
        .order_by(Subscription.created_at, Subscription.id)
        .limit(1)
    )


def current_period(organisation_id: int, now: datetime, subscription: Subscription | None = None) -> Period:
    """The organisation's billing period at `now` and the start of the one before it.

    Without a subscription in force, the calendar month in UTC stands in for the period."""
    subscription = subscription or metered_subscription(organisation_id)
    if subscription is not None:
        start, end = subscription.current_period_start, subscription.current_period_end
        return Period(start, end, add_months(start, -MONTHS[subscription.period]))
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return Period(start, add_months(start, 1), add_months(start, -1))


# Checking a batch


def parse_batch(payload, now: datetime, earliest: datetime) -> list[Event]:
    """The events of an API payload `{"events": [...]}`, every one checked; the first problem raises."""
    if not isinstance(payload, dict) or "events" not in payload:
        raise DomainError(_l('Send a JSON object with an "events" list.'), code="invalid_payload", field="events")
    unknown = sorted(set(payload) - {"events"})
    if unknown:
        raise DomainError(_l('Unknown field "%(field)s": the body has only an "events" list.', field=unknown[0]),
                          code="invalid_payload", field=unknown[0])
    items = payload["events"]
    if not isinstance(items, list) or not items:
        raise DomainError(_l('"events" must be a list of at least one event.'), code="invalid_payload",
                          field="events")
    if len(items) > MAX_EVENTS:
        raise DomainError(_l("A batch has at most %(max)d events; this one has %(count)d. Split it and send "
                             "each part.", max=MAX_EVENTS, count=len(items)),
                          code="batch_too_large", field="events", status=413)
    return [parse_event(index, item, now, earliest) for index, item in enumerate(items)]


def parse_event(index: int, item, now: datetime, earliest: datetime) -> Event:
    if not isinstance(item, dict):
        raise EventError(_l("Each event must be a JSON object."), index, None)
    unknown = sorted(set(item) - set(EVENT_FIELDS))
    if unknown:
        raise EventError(_l('Unknown field "%(field)s": an event has id, metric, quantity and occurred_at.',
                            field=unknown[0][:40]), index, unknown[0][:40])
    return Event(_event_id(index, item.get("id")), _metric(index, item.get("metric")),
                 _quantity(index, item.get("quantity", 1)), _occurred_at(index, item.get("occurred_at"), now,
                                                                         earliest))


def _event_id(index: int, value) -> str:
    if value is None:
        raise EventError(_l("Each event needs an id: your own unique identifier for it, so that sending it "
                            "again does not count it twice."), index, "id")
    if not isinstance(value, str) or not value.strip() or _CONTROL.search(value):
        raise EventError(_l("The id must be a text of visible characters."), index, "id")
    if len(value) > MAX_ID_LENGTH:
        raise EventError(_l("The id has at most %(max)d characters.", max=MAX_ID_LENGTH), index, "id")
    return value


def _metric(index: int, value) -> str:
    if value not in METRICS or not isinstance(value, str):
        raise EventError(_l("The metric must be one of: %(metrics)s.", metrics=", ".join(METRICS)), index, "metric")
    return value


def _quantity(index: int, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(_l("The quantity must be a whole number, such as 1."), index, "quantity")
    if not 1 <= value <= MAX_QUANTITY:
        raise EventError(_l("The quantity must be between 1 and %(max)d.", max=MAX_QUANTITY), index, "quantity")
    return value


def _occurred_at(index: int, value, now: datetime, earliest: datetime) -> datetime:
    if value is None:
        raise EventError(_l("Each event needs occurred_at: when it happened, such as 2026-11-20T10:00:00Z."),
                         index, "occurred_at")
    moment = None
    if isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None or moment.utcoffset() is None:
        raise EventError(_l("occurred_at must be a date and time with its time zone, such as "
                            "2026-11-20T10:00:00Z."), index, "occurred_at")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # the first or last day of year 1 or 9999 in a far time zone
        moment = datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)
    if moment > now + FUTURE_TOLERANCE:
        raise EventError(_l("occurred_at is in the future. Check the clock of the system that sends the events."),
                         index, "occurred_at", code="event_in_future")
    if moment < earliest:
        raise EventError(_l("occurred_at is before the previous billing period, which is closed. Events are "
                            "accepted from %(date)s on.", date=earliest.strftime("%Y-%m-%dT%H:%M:%SZ")),
                         index, "occurred_at", code="event_too_old")
    return moment


# Writing a batch


# PostgreSQL: the batch travels as four arrays, so the statement's text (and its server-side plan) is the same
# for every batch, whatever its size; a VALUES list of 6,000 parameters costs more to build than to run. The
# arrays go in psycopg's binary format (`%b`): its text format quotes and escapes each element in Python, ~6 ms
# a batch against ~1. Rows go in by event id: two batches sharing ids then wait for each other in the same
# order, never in a cycle (a deadlock), whatever order their clients listed the events in.
_INSERT_UNNEST = (
    "INSERT INTO usage_event (organisation_id, event_id, metric, quantity, occurred_at, received_at) "
    "SELECT %(organisation_id)s, e.event_id, e.metric, e.quantity, e.occurred_at, %(received_at)s "
    "FROM unnest(%(event_ids)b::varchar[], %(metrics)b::varchar[], %(quantities)b::integer[], "
    "%(occurred)b::timestamptz[]) AS e(event_id, metric, quantity, occurred_at) ORDER BY e.event_id "
    "ON CONFLICT (organisation_id, event_id) DO NOTHING RETURNING event_id"
)


def _insert_ignoring_known(organisation_id: int, events: list[Event], now: datetime) -> list[Event]:
    """Insert the events in one statement that skips the ids the organisation already has; the events inserted."""
    if db.engine.dialect.name == "postgresql":
        # On the session's connection (its transaction), through psycopg itself for the binary arrays.
        with db.session.connection().connection.driver_connection.cursor() as cursor:
            cursor.execute(_INSERT_UNNEST, {
                "organisation_id": organisation_id, "received_at": now,
                "event_ids": [e.event_id for e in events], "metrics": [e.metric for e in events],
                "quantities": [e.quantity for e in events], "occurred": [e.occurred_at for e in events],
            })
            inserted = {event_id for (event_id,) in cursor}
    else:
        table = UsageEvent.__table__
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["organisation_id", "event_id"])
        rows = [{"organisation_id": organisation_id, "event_id": e.event_id, "metric": e.metric,
                 "quantity": e.quantity, "occurred_at": e.occurred_at, "received_at": now} for e in events]
        inserted = set(db.session.execute(statement.returning(table.c.event_id), rows).scalars())
    return [event for event in events if event.event_id in inserted]


# The hours' upsert: the same text for every batch on PostgreSQL (arrays, as above); rows in (metric, hour) order,
# so two batches adding to the same hours lock them in the same order.
_ADD_TO_HOURS_UNNEST = (
    "INSERT INTO usage_hour (organisation_id, metric, hour, total) "
    "SELECT %(organisation_id)s, h.metric, h.hour, h.total "
    "FROM unnest(%(metrics)b::varchar[], %(hours)b::timestamptz[], %(totals)b::bigint[]) AS h(metric, hour, total) "
    "ORDER BY h.metric, h.hour "
    "ON CONFLICT (organisation_id, metric, hour) DO UPDATE SET total = usage_hour.total + excluded.total"
)


def add_to_hours(organisation_id: int, events: Iterable[Event]) -> None:
    """Add the quantities of newly stored events to the organisation's hours, in one upsert.

    Whatever stores usage events outside `record_events` calls it in the same transaction (or rebuilds the hours
    with `rebuild_hours`), so that totals read from the hours stay the sums of the events."""
    sums: dict[tuple[str, datetime], int] = defaultdict(int)
    for event in events:
        sums[(event.metric, _hour_floor(event.occurred_at))] += event.quantity
    if not sums:
        return
    keys = sorted(sums)
    if db.engine.dialect.name == "postgresql":
        with db.session.connection().connection.driver_connection.cursor() as cursor:
            cursor.execute(_ADD_TO_HOURS_UNNEST, {
                "organisation_id": organisation_id, "metrics": [metric for metric, _hour in keys],
                "hours": [hour for _metric, hour in keys], "totals": [sums[key] for key in keys]})
        return
    table = UsageHour.__table__
    statement = sqlite.insert(table).values([
        {"organisation_id": organisation_id, "metric": metric, "hour": hour, "total": sums[(metric, hour)]}
        for metric, hour in keys])
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["organisation_id", "metric", "hour"],
        set_={"total": table.c.total + statement.excluded.total}))


def _hour_sql(column: str) -> str:
    """The SQL for the hour (UTC) holding the timestamp `column`, stored as UTCDateTime stores it."""
    if db.engine.dialect.name == "postgresql":
        return f"date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    return f"strftime('%Y-%m-%d %H:00:00.000000', {column})"


def rebuild_hours(organisation_id: int | None = None) -> None:
    """Sum the hours again from the stored events: one organisation's, or everyone's (None)."""
    scope = "" if organisation_id is None else " WHERE organisation_id = :organisation_id"
    hour = _hour_sql("occurred_at")
    params = {"organisation_id": organisation_id}
    db.session.execute(text(f"DELETE FROM usage_hour{scope}"), params)  # noqa: S608 — no input in the text
    db.session.execute(text(
        f"INSERT INTO usage_hour (organisation_id, metric, hour, total) "  # noqa: S608 — no input in the text
        f"SELECT organisation_id, metric, {hour}, SUM(quantity) FROM usage_event{scope} "
        f"GROUP BY organisation_id, metric, {hour}"), params)


def record_events(organisation: Organisation, events: list[Event], now: datetime) -> BatchResult:
    """Store the events the organisation had not reported yet, and add them to its hours; the others are
    counted as duplicates.

    An id reported again with another metric, quantity or time is refused (EventError, 409): the batch must
    then be rolled back whole."""
    first_seen: dict[str, tuple[int, Event]] = {}
    for index, event in enumerate(events):
        seen = first_seen.setdefault(event.event_id, (index, event))
        if seen[1] != event:
            raise _conflict(index)
    unique = sorted((e for _index, e in first_seen.values()), key=lambda e: e.event_id)
    inserted = _insert_ignoring_known(organisation.id, unique, now)
    new_ids = {event.event_id for event in inserted}
    known = [event_id for event_id in first_seen if event_id not in new_ids]
    if known:
        _check_same_as_stored(organisation.id, known, first_seen)
    add_to_hours(organisation.id, inserted)
    return BatchResult(accepted=len(inserted), duplicates=len(events) - len(inserted))


# PostgreSQL: one lookup of the unique (organisation_id, event_id) index per known id, whatever the table's
# statistics say. As a plain `event_id IN (...)` or a join, a table that grew since it was last analysed (or was
# never analysed: autovacuum off, or behind a burst of batches) looks small, so the planner reads every event of
# the organisation through ix_usage_event_org_metric_time instead (~0.7 s a batch at 130,000 events, growing
# with the table). The LIMIT keeps the subquery apart, so each id is looked up on its own.
_STORED_BY_ID = text(
    "SELECT s.event_id, s.metric, s.quantity, s.occurred_at FROM unnest(CAST(:event_ids AS varchar[])) AS k(event_id) "
    "CROSS JOIN LATERAL (SELECT u.event_id, u.metric, u.quantity, u.occurred_at FROM usage_event AS u "
    "WHERE u.organisation_id = :organisation_id AND u.event_id = k.event_id LIMIT 1) AS s"
).columns(UsageEvent.event_id, UsageEvent.metric, UsageEvent.quantity, UsageEvent.occurred_at)


def _stored(organisation_id: int, event_ids: list[str]):
    """(event id, metric, quantity, occurred_at) of the organisation's events among `event_ids`."""
    if db.engine.dialect.name == "postgresql":
        return db.session.execute(_STORED_BY_ID, {"organisation_id": organisation_id, "event_ids": event_ids}).all()
    return db.session.execute(
        db.select(UsageEvent.event_id, UsageEvent.metric, UsageEvent.quantity, UsageEvent.occurred_at)
        .where(UsageEvent.organisation_id == organisation_id, UsageEvent.event_id.in_(event_ids))
    ).all()


def _check_same_as_stored(organisation_id: int, event_ids: list[str], sent: dict[str, tuple[int, Event]]) -> None:
    stored = _stored(organisation_id, event_ids)
    for event_id, metric, quantity, occurred_at in stored:
        index, event = sent[event_id]
        if (metric, quantity, occurred_at) != (event.metric, event.quantity, event.occurred_at):
            raise _conflict(index)


def _conflict(index: int) -> EventError:
    return EventError(_l("This id was already reported with another metric, quantity or time. An id names one "
                         "event: give a new event its own id."), index, "id", code="event_id_conflict",
                      status=409)
