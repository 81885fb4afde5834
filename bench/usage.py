"""P6: usage ingestion through the API — batches of 1,000 events, 10 % of them repeated, from concurrent clients.

    python -m bench.usage [--quick] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The portal runs under gunicorn (bench/server.py) on a fresh database: on the PostgreSQL server of
--database-url, else on the local one when it answers (QUALITY.md's bar is for PostgreSQL), else on SQLite
(reported without a bar). One organisation with an integration key; every batch is prepared before the clock
starts, then CLIENTS threads post them as fast as the server answers. Each repeated event is an exact copy
of one sent earlier (a client retrying), so it must be counted once: the run checks that the answers'
`accepted` add up to the unique events, their `duplicates` to the repeats, and that the database holds
exactly the unique events. The full run also measures the embedded SQLite default, for comparison.
"""

import argparse
import json
import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

import bench
from bench.databases import postgres_server
from bench.server import HarnessError, bench_environment, fetch, gunicorn

BATCH = 1_000
DUPLICATE_SHARE = 0.10
CLIENTS = 4
QUICK_BATCHES, FULL_BATCHES = 30, 300
BAR_EVENTS_PER_SECOND = 10_000
METRICS = (("documents", 85), ("api_calls", 10), ("users", 3), ("companies", 2))


def make_batches(count: int, seed: int, now: datetime) -> tuple[list[bytes], int, int]:
    """`count` JSON bodies of BATCH events each; DUPLICATE_SHARE of every batch after the first repeats events
    already in an earlier batch (exact copies). Returns the bodies, the unique and the repeated events."""
    rng = random.Random(seed)
    names, weights = zip(*METRICS, strict=True)
    sent: list[dict] = []
    bodies = []
    repeats = 0
    for number in range(count):
        repeat = int(BATCH * DUPLICATE_SHARE) if sent else 0
        events = rng.sample(sent, repeat) if repeat else []
        fresh = []
        for i in range(BATCH - repeat):
            metric = rng.choices(names, weights)[0]
            moment = now - timedelta(seconds=rng.randrange(1, 2 * 86_400))
            fresh.append({"id": f"bench-{number}-{i}-{rng.getrandbits(32):08x}", "metric": metric,
                          "quantity": rng.randrange(1, 50) if metric == "api_calls" else 1,
                          "occurred_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ")})
        events.extend(fresh)
        rng.shuffle(events)
        sent.extend(fresh)
        repeats += repeat
        bodies.append(json.dumps({"events": events}).encode())
    return bodies, len(sent), repeats


def prepare_database(url: str, instance: Path) -> str:
    """Create the schema and one customer organisation with an integration key; return the key."""
    from portal import create_app
    from portal.extensions import db
    from portal.services.accounts import integration
    from portal.services.accounts import organisations as accounts

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32)})
    with app.app_context():
        db.create_all()
        org = accounts.create_organisation("customer", "Bench Usage SpA", "CL")
        key = integration.generate_key(org, None)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return key


def stored_events(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT COUNT(*) FROM usage_event")).scalar_one()
    finally:
        engine.dispose()


def post_all(base: str, key: str, bodies: list[bytes], clients: int) -> tuple[float, list[dict], list[float]]:
    """Post every body from `clients` threads; (seconds from first send to last answer, answers, latencies)."""
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    latencies: list[float] = []
    lock = threading.Lock()

    def send(body: bytes) -> dict:
        started = time.perf_counter()
        response = fetch(base, "/api/v1/usage", "POST", headers, body, timeout=120)
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise HarnessError(f"the usage API answered {response.status}: {response.text[:300]}")
        with lock:
            latencies.append(elapsed)
        return json.loads(response.body)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(send, bodies))
    return time.perf_counter() - started, answers, latencies


def measure(label: str, url: str, options, batches: int) -> dict:
    instance = Path(options.results_dir) / f"usage-instance-{label}-{secrets.token_hex(3)}"
    key = prepare_database(url, instance)
    bodies, unique, repeats = make_batches(batches, options.seed, datetime.now(UTC))
    env = bench_environment(url, instance, sql_count=False)
    with gunicorn(f"usage-{label}", "wsgi:app", env, Path(options.results_dir) / "logs",
                  probe="/api/v1/openapi.json") as server:
        _seconds, warm_up, _latencies = post_all(server.base, key, bodies[:2], 2)  # both workers' first request
        seconds, answers, latencies = post_all(server.base, key, bodies[2:], CLIENTS)
    accepted = sum(a["accepted"] for a in warm_up + answers)
    duplicates = sum(a["duplicates"] for a in warm_up + answers)
    stored = stored_events(url)
    latencies.sort()
    sent = BATCH * (batches - 2)
    return {
        "database": label,
        "batches": batches - 2,
        "events_sent": sent,
        "seconds": round(seconds, 3),
        "events_per_second": round(sent / seconds),
        "unique_events": unique,
        "repeated_events": repeats,
        "accepted": accepted,
        "duplicates": duplicates,
        "stored": stored,
        "counted_once": accepted == unique == stored and duplicates == repeats,
        "batch_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "batch_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        "clients": CLIENTS,
    }



def run(options) -> dict:
    """P6 on PostgreSQL (and, in a full run, on SQLite too); see the module's docstring."""
    from bench.databases import scratch_database

    batches = QUICK_BATCHES if options.quick else FULL_BATCHES
    runs = []
    server = postgres_server(options.database_url)
    targets = ([("PostgreSQL", server)] if server else []) + ([] if server and options.quick else [("SQLite", None)])
    for label, database_url in targets:
        scoped = argparse.Namespace(**{**vars(options), "database_url": database_url})
        print(f"  {label}: {batches} batches of {BATCH} events ({DUPLICATE_SHARE:.0%} repeated), {CLIENTS} clients")
        with scratch_database(scoped, "usage") as url:
            runs.append(measure(label, url, options, batches))
    figures = []
    for found in runs:
        on_postgres = found["database"] == "PostgreSQL"
        figures.append({"name": f"P6 usage ingestion, {found['database']}", "value": found["events_per_second"],
                        "unit": "events/s", "bar": f"≥ {BAR_EVENTS_PER_SECOND:,}" if on_postgres else "",
                        "ok": found["events_per_second"] >= BAR_EVENTS_PER_SECOND if on_postgres else None})
        figures.append({"name": f"P6 each event counted once, {found['database']}",
                        "value": f"{found['stored']:,} stored of {found['unique_events']:,} unique",
                        "unit": "", "bar": "equal", "ok": found["counted_once"]})
        figures.append({"name": f"P6 batch latency p50 / p99, {found['database']}",
                        "value": f"{found['batch_p50_ms']} / {found['batch_p99_ms']}", "unit": "ms", "bar": "",
                        "ok": None})
    return {"figures": figures, "runs": runs}


def main(argv=None) -> None:
    from bench.report import print_suite

    parser = argparse.ArgumentParser(prog="python -m bench.usage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    options.scale, options.data_url = 0.01, None
    result = run(options)
    print_suite("usage", result)
    print(json.dumps(result["runs"], indent=2))


if __name__ == "__main__":
    main()
