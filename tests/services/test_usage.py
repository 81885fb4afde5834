"""Usage metering: a batch is checked whole, written once, and each event id counts once per organisation."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event

from portal.extensions import db
from portal.models import UsageEvent
from portal.services.billing import usage
from portal.services.errors import DomainError
from tests import factories

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EARLIEST = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def reader(app):
    """Messages are lazy translations: reading one needs a request (here in English)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def event(n: int = 1, **fields) -> dict:
    return {"id": f"evt-{n}", "metric": "documents", "quantity": 1, "occurred_at": "2026-11-20T10:00:00Z", **fields}


def parse(events) -> list[usage.Event]:
    return usage.parse_batch({"events": events}, NOW, EARLIEST)


def stored(org) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(UsageEvent)
                             .where(UsageEvent.organisation_id == org.id))


def test_a_batch_is_recorded_and_summed(app):
    org = factories.make_org("customer")
    result = usage.record_events(org, parse([event(1, quantity=3), event(2, metric="api_calls", quantity=40),
                                             event(3)]), NOW)
    assert (result.accepted, result.duplicates) == (3, 0)
    assert usage.usage_totals(org.id, EARLIEST, NOW) == {"documents": 4, "api_calls": 40}


def test_the_same_batch_sent_twice_counts_once(app):
    org = factories.make_org("customer")
    batch = parse([event(n) for n in range(10)])
    usage.record_events(org, batch, NOW)
    db.session.commit()
    again = usage.record_events(org, batch, NOW)
    db.session.commit()
    assert (again.accepted, again.duplicates) == (0, 10)
    assert stored(org) == 10


def test_a_repeated_id_inside_one_batch_counts_once(app):
    org = factories.make_org("customer")
    result = usage.record_events(org, parse([event(1), event(2), event(1), event(1)]), NOW)
    assert (result.accepted, result.duplicates) == (2, 2)
    assert usage.usage_totals(org.id, EARLIEST, NOW) == {"documents": 2}


def test_event_ids_belong_to_one_organisation(app):
    first, second = factories.make_org("customer"), factories.make_org("customer")
    usage.record_events(first, parse([event(1)]), NOW)
    result = usage.record_events(second, parse([event(1)]), NOW)
    assert result.accepted == 1 and stored(first) == stored(second) == 1


def test_an_id_reused_with_other_values_is_refused(app):
    org = factories.make_org("customer")
    usage.record_events(org, parse([event(1, quantity=2)]), NOW)
    db.session.commit()
    with pytest.raises(usage.EventError) as caught:
        usage.record_events(org, parse([event(5), event(1, quantity=3)]), NOW)
    assert (caught.value.code, caught.value.index, caught.value.field, caught.value.status) == (
        "event_id_conflict", 1, "id", 409)
    with pytest.raises(usage.EventError) as caught:
        usage.record_events(org, parse([event(7), event(7, metric="api_calls")]), NOW)
    assert (caught.value.code, caught.value.index) == ("event_id_conflict", 1)


def test_the_same_moment_written_differently_is_the_same_event(app):
    org = factories.make_org("customer")
    usage.record_events(org, parse([event(1, occurred_at="2026-11-20T10:00:00Z")]), NOW)
    db.session.commit()
    result = usage.record_events(org, parse([event(1, occurred_at="2026-11-20T07:00:00-03:00")]), NOW)
    assert result.duplicates == 1


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"id": None}, "id", "invalid_event"),
    ({"id": ""}, "id", "invalid_event"),
    ({"id": "   "}, "id", "invalid_event"),
    ({"id": 17}, "id", "invalid_event"),
    ({"id": "x" * 101}, "id", "invalid_event"),
    ({"id": "tab\there"}, "id", "invalid_event"),
    ({"metric": "pages"}, "metric", "invalid_event"),
    ({"metric": None}, "metric", "invalid_event"),
    ({"metric": ["documents"]}, "metric", "invalid_event"),
    ({"quantity": 0}, "quantity", "invalid_event"),
    ({"quantity": -3}, "quantity", "invalid_event"),
    ({"quantity": 1.5}, "quantity", "invalid_event"),
    ({"quantity": 2.0}, "quantity", "invalid_event"),
    ({"quantity": "2"}, "quantity", "invalid_event"),
    ({"quantity": True}, "quantity", "invalid_event"),
    ({"quantity": 10**30}, "quantity", "invalid_event"),
    ({"quantity": usage.MAX_QUANTITY + 1}, "quantity", "invalid_event"),
    ({"occurred_at": None}, "occurred_at", "invalid_event"),
    ({"occurred_at": "yesterday"}, "occurred_at", "invalid_event"),
    ({"occurred_at": "2026-11-20"}, "occurred_at", "invalid_event"),
    ({"occurred_at": "2026-11-20T10:00:00"}, "occurred_at", "invalid_event"),
    ({"occurred_at": "2026-02-30T10:00:00Z"}, "occurred_at", "invalid_event"),
    ({"occurred_at": 1763632800}, "occurred_at", "invalid_event"),
    ({"occurred_at": "2026-11-20T12:06:00Z"}, "occurred_at", "event_in_future"),
    ({"occurred_at": "9999-12-31T23:59:59-12:00"}, "occurred_at", "event_in_future"),
    ({"occurred_at": "2026-09-30T23:59:59Z"}, "occurred_at", "event_too_old"),
    ({"occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at", "event_too_old"),
    ({"colour": "red"}, "colour", "invalid_event"),
])
def test_each_broken_field_is_named_with_the_events_position(app, fields, field, code):
    events = [event(1), event(2), {key: value for key, value in event(3, **fields).items() if value is not None}]
    with pytest.raises(usage.EventError) as caught:
        parse(events)
    error = caught.value
    assert (error.index, error.field, error.code, error.status) == (2, field, code, 422)
    assert str(error.message)


def test_quantity_defaults_to_one_and_the_edges_pass(app):
    events = parse([{"id": "a", "metric": "users", "occurred_at": "2026-10-01T00:00:00Z"},
                    event(2, quantity=usage.MAX_QUANTITY, occurred_at="2026-11-20T12:04:59Z")])
    assert [e.quantity for e in events] == [1, usage.MAX_QUANTITY]


@pytest.mark.parametrize("payload", [None, [], "events", {"events": []}, {"events": {}}, {"evnts": [event()]},
                                     {"events": [event()], "extra": 1}])
def test_a_body_without_an_events_list_is_refused(app, payload):
    with pytest.raises(DomainError) as caught:
        usage.parse_batch(payload, NOW, EARLIEST)
    assert caught.value.code == "invalid_payload"


def test_a_non_object_event_is_refused(app):
    with pytest.raises(usage.EventError) as caught:
        parse([event(1), "evt-2"])
    assert (caught.value.index, caught.value.field) == (1, None)


def test_more_than_a_thousand_events_is_refused_whole(app):
    parse([event(n) for n in range(usage.MAX_EVENTS)])
    with pytest.raises(DomainError) as caught:
        parse([event(n) for n in range(usage.MAX_EVENTS + 1)])
    assert (caught.value.code, caught.value.status) == ("batch_too_large", 413)


def test_the_period_follows_the_subscription(app):
    org = factories.make_org("customer")
    factories.make_subscription(org, start=datetime(2026, 3, 31, tzinfo=UTC))
    period = usage.current_period(org.id, NOW)
    assert (period.start, period.end, period.previous_start) == (
        datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 4, 30, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC))


def test_an_annual_period_reaches_back_a_year(app):
    org = factories.make_org("customer")
    factories.make_subscription(org, period="annual", start=datetime(2026, 2, 1, tzinfo=UTC))
    assert usage.current_period(org.id, NOW).previous_start == datetime(2025, 2, 1, tzinfo=UTC)


def test_without_a_subscription_the_calendar_month_is_the_period(app):
    org = factories.make_org("customer")
    factories.make_subscription(org, status="cancelled", start=datetime(2026, 1, 5, tzinfo=UTC))
    period = usage.current_period(org.id, NOW)
    assert (period.start, period.end, period.previous_start) == (
        datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))


def test_latest_report_is_the_most_recent_level(app):
    org = factories.make_org("customer")
    usage.record_events(org, parse([
        event(1, metric="companies", quantity=2, occurred_at="2026-11-02T00:00:00Z"),
        event(2, metric="companies", quantity=4, occurred_at="2026-11-10T00:00:00Z"),
        event(3, metric="companies", quantity=3, occurred_at="2026-11-05T00:00:00Z"),
    ]), NOW)
    assert usage.latest_report(org.id, "companies", EARLIEST, NOW) == 4
    assert usage.latest_report(org.id, "companies", EARLIEST, datetime(2026, 11, 6, tzinfo=UTC)) == 3
    assert usage.latest_report(org.id, "users", EARLIEST, NOW) is None


def test_usage_totals_are_scoped_to_the_period_and_organisation(app):
    org, other = factories.make_org("customer"), factories.make_org("customer")
    usage.record_events(org, parse([event(1, occurred_at="2026-10-31T23:59:59Z"),
                                    event(2, occurred_at="2026-11-01T00:00:00Z", quantity=5)]), NOW)
    usage.record_events(other, parse([event(1, quantity=100)]), NOW)
    november = datetime(2026, 11, 1, tzinfo=UTC)
    assert usage.usage_totals(org.id, november, november + timedelta(days=30)) == {"documents": 5}
    assert usage.usage_totals(org.id, EARLIEST, november) == {"documents": 1}


def test_repeats_spread_over_many_batches_count_once(app):
    org = factories.make_org("customer")
    sent: list[dict] = []
    totals = []
    for number in range(6):
        fresh = [event(number * 100 + i) for i in range(50)]
        repeated = sent[::7]  # copies of events of every earlier batch, a client retrying
        result = usage.record_events(org, parse(repeated + fresh), NOW)
        db.session.commit()
        totals.append((result.accepted, result.duplicates))
        sent.extend(fresh)
    assert totals == [(50, len(sent[:50 * n:7])) for n in range(6)]
    assert stored(org) == 300 and usage.usage_totals(org.id, EARLIEST, NOW) == {"documents": 300}
    with pytest.raises(usage.EventError) as caught:
        usage.record_events(org, parse([event(999), event(3, quantity=2)]), NOW)
    assert (caught.value.code, caught.value.index) == ("event_id_conflict", 1)


def test_the_duplicate_check_looks_up_each_id_in_the_unique_index(app):
    """Each id reported again is read through the (organisation, event id) index, not by reading every event of
    the organisation, also in a table that grew since its statistics were taken (QUALITY.md P6)."""
    org = factories.make_org("customer")
    usage.record_events(org, parse([event(n) for n in range(1_000)]), NOW)
    db.session.commit()
    with db.engine.begin() as connection:  # a table many times the size its statistics (none yet) say
        if connection.dialect.name == "postgresql":
            connection.execute(db.text(
                "INSERT INTO usage_event (organisation_id, event_id, metric, quantity, occurred_at, received_at) "
                "SELECT :org, 'bulk-' || n, 'documents', 1, :at, :at FROM generate_series(1, 60000) AS n"),
                {"org": org.id, "at": NOW})
    usage.rebuild_hours(org.id)  # the events written beside record_events, in their hours too
    db.session.commit()
    plans = []

    def explain(connection, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT") and "usage_event" in statement:
            prefix = "EXPLAIN " if connection.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
            rows = connection.exec_driver_sql(prefix + statement, parameters).all()
            plans.append("\n".join(str(row[-1]) for row in rows))

    sa_event.listen(db.engine, "before_cursor_execute", explain)
    try:
        result = usage.record_events(org, parse([event(n) for n in range(0, 1_000, 10)] + [event(5_000)]), NOW)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", explain)
    assert (result.accepted, result.duplicates) == (1, 100)
    assert len(plans) == 1, plans
    assert "ix_usage_event_org_metric_time" not in plans[0]
    assert ("uq_usage_event_organisation_id_event_id" in plans[0]
            or "USING INDEX sqlite_autoindex_usage_event_1" in plans[0]), plans[0]
