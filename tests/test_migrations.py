"""The migrations build, from an empty database, exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db
from tests.conftest import fresh_database_url


def test_upgrade_from_empty_reaches_the_models():
    url, drop = fresh_database_url("migrations")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with app.app_context():
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                diff = compare_metadata(context, db.metadata)
            db.engine.dispose()
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        drop()


def _insert(connection, table: str, **given):
    """A row of `table` as it is at the migrated revision: the given values, and any value for the others."""
    from sqlalchemy import text

    values = dict(given)
    for _cid, name, kind, notnull, default, pk in connection.execute(text(f'PRAGMA table_info("{table}")')):
        if name in values or pk or not notnull or default is not None:
            continue
        kind = kind.upper()
        values[name] = (1 if "INT" in kind or "BOOL" in kind else "2026-01-01 00:00:00" if "DATE" in kind
                        else "x")
    names = ", ".join(f'"{n}"' for n in values)
    marks = ", ".join(f":{n}" for n in values)
    connection.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({marks})'), values)  # noqa: S608 (names from the schema)


def test_an_install_with_data_upgrades_on_sqlite_and_keeps_its_foreign_keys(tmp_path):
    """A batch migration rebuilds tables that other rows point to (organisation): it must not fail on a
    database in use, and foreign keys are enforced again afterwards."""
    import pytest
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    if not url.startswith("sqlite"):
        pytest.skip("SQLite only")
    with app.app_context():
        upgrade(revision="0010")
        with db.engine.begin() as connection:
            _insert(connection, "organisation", id=1, kind="customer", name="Aromos", country="CL", currency="CLP",
                    status="active", timezone="America/Santiago", locale="es", search_name="aromos")
            _insert(connection, "user", id=1, email="ana@aromos.example", is_active=1)
            _insert(connection, "membership", user_id=1, organisation_id=1, role="admin")
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT name FROM organisation")).scalar() == "Aromos"
            assert connection.execute(text("SELECT count(*) FROM membership")).scalar() == 1
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()


def test_the_usage_hours_are_summed_from_the_events_already_stored():
    """0023 fills usage_hour from the events stored before it, per organisation, metric and hour (UTC), as
    recording them adds them: totals read from the hours are the events' sums at once."""
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from sqlalchemy import insert, text

    from portal.models import UsageEvent, UsageHour
    from portal.services.billing import usage

    url, drop = fresh_database_url("backfill")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with app.app_context():
            upgrade(revision="0022")
            with db.engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO organisation (id, kind, name, country, currency, status, timezone, locale, "
                    "search_name, created_at) VALUES (1, 'customer', 'Aromos', 'CL', 'CLP', 'active', "
                    "'America/Santiago', 'es', 'aromos', :at)"), {"at": datetime(2026, 1, 1, tzinfo=UTC)})
            start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
            events = [usage.Event(f"e{n}", ("documents", "api_calls")[n % 2], 1 + n % 7,
                                  start + timedelta(seconds=n * 997, microseconds=n)) for n in range(40)]
            db.session.execute(insert(UsageEvent), [
                {"organisation_id": 1, "event_id": e.event_id, "metric": e.metric, "quantity": e.quantity,
                 "occurred_at": e.occurred_at, "received_at": e.occurred_at} for e in events])
            db.session.commit()
            upgrade()
            backfilled = db.session.execute(db.select(UsageHour.metric, UsageHour.hour, UsageHour.total)
                                            .order_by(UsageHour.metric, UsageHour.hour)).all()
            db.session.execute(db.delete(UsageHour))
            usage.add_to_hours(1, events)  # what recording them would have written
            assert db.session.execute(db.select(UsageHour.metric, UsageHour.hour, UsageHour.total)
                                      .order_by(UsageHour.metric, UsageHour.hour)).all() == backfilled
            assert len(backfilled) > 2
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
