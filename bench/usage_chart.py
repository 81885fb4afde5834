"""Usage charts over one very busy customer: the usage overview page (12 periods and the days of the current one,
as SVG and tables), a previous period's days (the htmx fragment) and the CSV, over 2,000,000 usage events of that
one customer, next to the same pages over a fiftieth of them.

    python -m bench.usage_chart [--events 2000000] [--database-url postgresql+psycopg://…]

On a fresh database, one customer on a plan with a monthly document quota reports `--events` events spread over
the last 12 months; the pages are asked for in-process through the whole application by its logged-in
administrator. Figures: milliseconds per request (median of REPEAT) at both sizes, and the SQL statements of each,
which must be the same at both sizes (the chart aggregates in SQL, never row by row in Python).
"""

import argparse
import re
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bench

PAGES = (("usage overview", "/customer/account/usage", {}),
         ("a previous period's days (fragment)", "/customer/account/usage?period=1",
          {"HX-Request": "true", "HX-Target": "usage_days"}),
         ("usage per period (CSV)", "/customer/account/usage.csv", {}))
REPEAT = 5
QUICK_EVENTS = 100_000
METRICS = (("documents", 85), ("api_calls", 10), ("users", 3), ("companies", 2))
EMAIL, PASSWORD = "admin@charts.bench", "vitrine-bench"


def prepare(events: int, now: datetime) -> None:
    """The vendor, a plan with quotas, one customer subscribed a year ago and `events` usage events of it (and
their sums per hour)."""
    import random

    from bench.dataset import Context
    from portal.extensions import db
    from portal.models import UsageEvent
    from portal.services import catalog
    from portal.services.accounts import organisations as accounts
    from portal.services.billing import invoicing, usage
    from portal.services.billing import subscriptions as subs

    db.create_all()
    invoicing.install_defaults()
    accounts.create_organisation("vendor", "Vitrine Software SpA", "CL", "76.543.210-3")
    software = catalog.create_software("erp", "Vitrine ERP", "https://erp.vitrine.example/")
    plan = catalog.create_product("pyme", "plan", software, "Plan Pyme")
    catalog.set_price(plan, "CLP", "monthly", 24_900)
    catalog.set_quota(plan, "documents", 20_000, {"CLP": 50})
    catalog.set_quota(plan, "users", 5, {"CLP": 3_900})
    org = accounts.create_organisation("customer", "Distribuidora Los Andes SpA", "CL", "77.123.456-9")
    accounts.add_membership(accounts.create_user(EMAIL, "Ana Rojas", PASSWORD), org, "admin")
    subs.start_subscription(org, plan, "CLP", "monthly", now - timedelta(days=365), trial_days=0)
    db.session.flush()
    rng = random.Random(1)
    names, weights = zip(*METRICS, strict=True)
    horizon = 365 * 86_400
    start = now - timedelta(seconds=horizon)

    def rows():
        for n in range(events):
            occurred = start + timedelta(seconds=rng.randrange(horizon))
            metric = rng.choices(names, weights=weights)[0]
            yield {"id": n + 1, "organisation_id": org.id, "event_id": f"evt-{n:08d}", "metric": metric,
                   "quantity": rng.randrange(1, 50) if metric == "api_calls" else 1, "occurred_at": occurred,
                   "received_at": occurred + timedelta(seconds=5)}

    Context(scale=1, seed=1, today=now, report=lambda _line: None).insert(UsageEvent, rows())
    usage.rebuild_hours(org.id)  # the hours' sums, as recording the events batch by batch leaves them
    db.session.commit()


def _client(app):
    client = app.test_client()
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").data).group(1).decode()
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 303:
        raise RuntimeError(f"the bench user could not log in ({response.status_code})")
    return client


def measure(url: str, events: int) -> dict:
    """Milliseconds (median) and SQL statements of each page over `events` events of one customer."""
    from sqlalchemy import event

    from portal import create_app
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32)})
    with app.app_context():
        prepare(events, datetime.now(UTC).replace(microsecond=0))
        engine = db.engine
        db.session.remove()
    client = _client(app)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    pages = {}
    for name, path, headers in PAGES:
        timings = []
        for attempt in range(REPEAT + 1):  # the first one warms up: templates compiled, caches filled
            statements.clear()
            started = time.perf_counter()
            with client.get(path, headers=headers) as response:
                body = response.get_data()  # a CSV streams: read to its end
                status = response.status_code
            if attempt:
                timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
        pages[name] = {"ms": round(statistics.median(timings), 1), "sql": len(statements), "bytes": len(body)}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return pages


def run(options) -> dict:
    """The bench.run suite: 2,000,000 events of one customer (100,000 with --quick), beside a fiftieth of them."""
    from bench.databases import scratch_database

    events = QUICK_EVENTS if options.quick else 2_000_000
    sizes = {}
    for size in (events // 50, events):
        with scratch_database(options, f"charts{size}") as url:
            sizes[size] = measure(url, size)
    small, large = sizes[events // 50], sizes[events]
    figures = []
    for name, _path, _headers in PAGES:
        figures.append({"name": f"{name}, {events:,} events of one customer", "value": large[name]["ms"],
                        "unit": "ms", "bar": None, "ok": None})
        figures.append({"name": f"{name}: SQL statements at {events // 50:,} → {events:,} events",
                        "value": f"{small[name]['sql']} → {large[name]['sql']}", "unit": "", "bar": "constant",
                        "ok": small[name]["sql"] == large[name]["sql"]})
    return {"events": events, "small": small, "large": large, "figures": figures}


def main(argv=None) -> int:
    from bench.databases import scratch_database

    parser = argparse.ArgumentParser(prog="python -m bench.usage_chart", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    options.results_dir = options.results_dir.resolve()
    for size in (options.events // 50, options.events):
        started = time.perf_counter()
        with scratch_database(options, f"charts{size}") as url:
            pages = measure(url, size)
        print(f"{size:,} events of one customer (prepared and measured in {time.perf_counter() - started:.0f} s):")
        for name, figures in pages.items():
            print(f"  {name:<40} {figures['ms']:>8.1f} ms  {figures['sql']:>3} SQL statements  "
                  f"{figures['bytes']:>7,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
