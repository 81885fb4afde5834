"""Fill an empty database with the large data set of QUALITY.md, at a chosen scale.

    python -m bench.generate --scale 0.01 --database-url sqlite:///bench/results/data.db --seed 1

The schema comes from the portal's models (`db.create_all()`); rows are written in bulk through the same
tables, one function per model group (bench/dataset/). The same seed, scale and day give the same rows.
Scale 1 is 50,000 customers, 1,000 resellers, 500 partners, 200,000 subscriptions, 2,000,000 usage events,
1,000,000 invoices and 500,000 license activations; every organisation's people can log in with BENCH_PASSWORD,
and one user per role (BENCH_USERS) belongs to the first — busiest — organisation of its kind.
"""

import argparse
import sys
import time
from datetime import UTC, date, datetime

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

import bench  # noqa: F401 — sets the benchmarks' instance folder before the portal is imported
from bench.dataset import BENCH_PASSWORD, BENCH_USERS, Context, timed
from bench.dataset.accounts import generate_accounts, generate_audit
from bench.dataset.billing import generate_invoices, generate_subscriptions
from bench.dataset.catalog import generate_catalog
from bench.dataset.fiscal import generate_fiscal
from bench.dataset.licenses import generate_licenses
from bench.dataset.payments import generate_payment_methods
from bench.dataset.usage import generate_usage

# In dependency order. A new model group adds its function here (e.g. generate_licenses after the catalog).
GROUPS = [generate_accounts, generate_audit, generate_catalog, generate_subscriptions, generate_usage,
          generate_invoices, generate_licenses, generate_payment_methods, generate_fiscal]
MAX_SCALE = 10.0

__all__ = ["BENCH_PASSWORD", "BENCH_USERS", "GROUPS", "GenerateError", "generate_into", "main"]


class GenerateError(Exception):
    """A reason the data set cannot be generated, said for a person (bad argument, database unreachable)."""


def check_database(url: str) -> str:
    """The URL if the database answers; otherwise a GenerateError saying why not."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise GenerateError(f"'{url}' is not a database URL (try sqlite:///path.db or "
                            "postgresql+psycopg://user@host/db)") from error
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise GenerateError(f"unsupported database '{parsed.get_backend_name()}': use SQLite or PostgreSQL")
    connect_args = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
    try:
        engine = create_engine(parsed, connect_args=connect_args)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except NoSuchModuleError as error:
        raise GenerateError(f"no driver for '{parsed.drivername}' is installed") from error
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise GenerateError(f"cannot reach the database {parsed.render_as_string()}: {reason}") from error
    return url


def _reset_sequences(connection) -> None:
    """Rows were written with explicit ids: move PostgreSQL's sequences past them for the portal's inserts."""
    from portal.extensions import db

    for table in db.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and pk[0].name == "id" and pk[0].autoincrement in (True, "auto"):
            name = table.name  # from the models, never from input
            statement = f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), COALESCE((SELECT MAX(id) FROM \"{name}\"), 0) + 1, false)"  # noqa: S608, E501
            connection.execute(text(statement))


def generate_into(url: str, scale: float, seed: int, today: date | None = None, reset: bool = False,
                  report=print) -> dict:
    """Create the schema in the database at `url` and fill it; return rows per table and seconds per group."""
    if not 0 < scale <= MAX_SCALE:
        raise GenerateError(f"--scale must be above 0 and at most {MAX_SCALE:g} (1 is the full large data set)")
    check_database(url)
    from portal import create_app
    from portal.database import writing
    from portal.extensions import db
    from portal.models import Organisation

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    day = today or datetime.now(UTC).date()
    with app.app_context(), writing():
        if reset:
            db.drop_all()
            with db.engine.begin() as connection:
                connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        if db.session.scalar(db.select(db.func.count()).select_from(Organisation)):
            db.session.rollback()
            raise GenerateError("the database already has data: give an empty one, or --reset to empty it first")
        db.session.rollback()
        postgres = db.engine.dialect.name == "postgresql"
        if postgres:
            db.session.execute(text("SET synchronous_commit TO off"))
        ctx = Context(scale=scale, seed=seed, today=datetime(day.year, day.month, day.day, tzinfo=UTC),
                      report=report)
        started = time.perf_counter()
        report(f"generating the data set at scale {scale:g} (seed {seed}, day {day}) into "
               f"{make_url(url).render_as_string()}")
        for group in GROUPS:
            timed(group, ctx)
        if postgres:
            _reset_sequences(db.session.connection())
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
        elapsed = time.perf_counter() - started
        total = sum(ctx.rows.values())
        report(f"  {'total':<14} {total:>10,} rows in {elapsed:6.1f} s = {total / elapsed:>9,.0f} rows/s")
        tables = inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()
    return {"scale": scale, "seed": seed, "day": day.isoformat(), "rows": ctx.rows, "seconds": ctx.seconds,
            "total_rows": total, "total_seconds": round(elapsed, 2), "rows_per_second": round(total / elapsed),
            "tables": len(tables), "bench_users": {f"{k}/{r}": email for (k, r), email in BENCH_USERS.items()}}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01, help="1 = the full large data set (default 0.01)")
    parser.add_argument("--database-url", required=True, help="an empty SQLite or PostgreSQL database")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same rows (default 1)")
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="the day the data is relative to, YYYY-MM-DD (default: today, UTC)")
    parser.add_argument("--reset", action="store_true", help="drop every table of the portal first")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        generate_into(args.database_url, args.scale, args.seed, args.today, args.reset)
    except GenerateError as error:
        print(f"bench.generate: {error}", file=sys.stderr)
        return 2
    print(f"log in as any of {', '.join(sorted(BENCH_USERS.values()))} with the password {BENCH_PASSWORD!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
