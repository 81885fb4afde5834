"""Usage per hour: the sums per organisation, metric and hour that totals read are the sums of the events stored,
each event counted once, so that totals over any bounds (any instant, any time zone's days) are the events' own."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import METRICS, UsageEvent, UsageHour
from portal.services.billing import usage, usage_history
from tests import factories

START = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = 3 * 86_400  # seconds the events spread over
# Offsets of whole hours, half hours and 45 minutes, and a zone whose summer time moves by half an hour.
ZONES = ("UTC", "America/Santiago", "America/Sao_Paulo", "Asia/Kolkata", "America/St_Johns", "Asia/Kathmandu",
         "Australia/Lord_Howe", "Pacific/Chatham")


def _pool_event(n: int) -> usage.Event:
    """Event n of a fixed pool: the same id always has the same metric, quantity and time (a duplicate, never a
    conflict). About one in four falls on the first instant of an hour, where a bound often is too."""
    seconds = (n * 7_919) % SPAN
    if n % 4 == 0:
        seconds -= seconds % 3_600
    metric = METRICS[(n // 3) % len(METRICS)]
    return usage.Event(f"evt-{n}", metric, 1 + (n * 37) % 500, START + timedelta(seconds=seconds))


def _raw_sums(organisation_id: int, bounds) -> dict[str, list[int]]:
    """The sums of the stored events themselves, one SELECT SUM per metric and bound."""
    return {metric: [db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(UsageEvent.quantity), 0))
        .where(UsageEvent.organisation_id == organisation_id, UsageEvent.metric == metric,
               UsageEvent.occurred_at >= start, UsageEvent.occurred_at < end)) for start, end in bounds]
        for metric in METRICS}


def _hours(organisation_id: int) -> list[tuple]:
    return db.session.execute(
        db.select(UsageHour.metric, UsageHour.hour, UsageHour.total)
        .where(UsageHour.organisation_id == organisation_id).order_by(UsageHour.metric, UsageHour.hour)).all()


@pytest.fixture
def reader(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


bound = st.one_of(st.integers(-3_600, SPAN + 3_600),  # any second, the window's edges beyond the events
                  st.integers(-1, SPAN // 3_600 + 1).map(lambda hour: hour * 3_600))  # the first instant of an hour


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.integers(0, 120), min_size=1, max_size=40), min_size=1, max_size=4),
       cuts=st.lists(bound, min_size=2, max_size=8, unique=True),
       microseconds=st.integers(0, 999_999), zone=st.sampled_from(ZONES))
def test_totals_from_the_hours_are_the_sums_of_the_events(reader, batches, cuts, microseconds, zone):
    org = factories.make_org("customer", timezone=zone)
    other = factories.make_org("customer")
    sent: dict[str, usage.Event] = {}
    for batch in batches:  # ids repeated inside a batch and across batches: counted once
        events = [_pool_event(n) for n in batch]
        usage.record_events(org, events, START + timedelta(days=4))
        sent |= {event.event_id: event for event in events}
        db.session.commit()
    usage.record_events(other, [_pool_event(n) for n in batches[0]], START + timedelta(days=4))  # not counted
    db.session.commit()

    instants = sorted(START + timedelta(seconds=s) for s in cuts)
    instants[0] += timedelta(microseconds=microseconds)  # bounds need not be whole seconds either
    periods = list(zip(instants, instants[1:], strict=False))
    days = usage_history.days_of(instants[0], instants[-1], zone)
    for bounds in (periods, days):
        found = usage_history.totals(org.id, bounds, METRICS)
        assert found == _raw_sums(org.id, bounds)
        assert found == {metric: [sum(e.quantity for e in sent.values()
                                      if e.metric == metric and start <= e.occurred_at < end)
                                  for start, end in bounds] for metric in METRICS}
    start, end = periods[0]
    assert usage.usage_totals(org.id, start, end) == {
        metric: used[0] for metric, used in _raw_sums(org.id, [(start, end)]).items() if used[0]}


def test_the_hours_are_those_rebuilt_from_the_events(reader):
    """What each batch adds is what summing the stored events per hour in SQL gives (the migration's backfill
    too): the same hours, stored the same way."""
    org = factories.make_org("customer")
    usage.record_events(org, [_pool_event(n) for n in range(0, 200, 3)], START + timedelta(days=4))
    usage.record_events(org, [_pool_event(n) for n in range(0, 200, 2)], START + timedelta(days=4))
    db.session.commit()
    added = _hours(org.id)
    assert added and all(hour.minute == hour.second == hour.microsecond == 0 for _m, hour, _t in added)
    usage.rebuild_hours(org.id)
    db.session.commit()
    assert _hours(org.id) == added
    assert sum(total for _m, _h, total in added) == sum(_pool_event(n).quantity for n in range(200)
                                                        if n % 3 == 0 or n % 2 == 0)
    # A batch after the rebuild adds to the rows rebuilt in SQL (the same keys), an event already there nothing.
    usage.record_events(org, [_pool_event(0), _pool_event(1)], START + timedelta(days=4))
    db.session.commit()
    grown = {(metric, hour): total for metric, hour, total in _hours(org.id)}
    key = (_pool_event(1).metric, _pool_event(1).occurred_at.replace(minute=0, second=0))
    assert grown.pop(key) == dict(((m, h), t) for m, h, t in added).pop(key, 0) + _pool_event(1).quantity
    assert grown == {(m, h): t for m, h, t in added if (m, h) != key}


def test_a_refused_batch_adds_nothing_to_the_hours(reader):
    org = factories.make_org("customer")
    usage.record_events(org, [_pool_event(1)], START + timedelta(days=4))
    db.session.commit()
    before = _hours(org.id)
    conflicting = usage.Event("evt-1", "documents", 999, START)
    with pytest.raises(usage.EventError):
        usage.record_events(org, [_pool_event(2), conflicting], START + timedelta(days=4))
    db.session.rollback()
    assert _hours(org.id) == before


def test_a_year_of_days_at_half_an_hour_from_utc_is_summed_whole(reader):
    """Every day of a year in Asia/Kolkata (UTC+05:30) cuts two hours: more parts than one statement takes."""
    org = factories.make_org("customer")
    first = datetime(2026, 1, 1, tzinfo=UTC)
    events = [usage.Event(f"y{n}", "documents", 1 + n % 5, first + timedelta(minutes=n * 5_261)) for n in range(100)]
    usage.record_events(org, events, first + timedelta(days=400))
    db.session.commit()
    days = usage_history.days_of(first, first + timedelta(days=365), "Asia/Kolkata")
    assert len(days) == 366
    found = usage.summed(org.id, days, ["documents"])["documents"]
    assert found == [sum(e.quantity for e in events if start <= e.occurred_at < end) for start, end in days]
    assert sum(found) == sum(e.quantity for e in events if e.occurred_at < first + timedelta(days=365))
