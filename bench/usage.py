"""P6: usage ingestion through the API — batches of 1,000 events, 10 % of them repeated, from concurrent clients.

    python -m bench.usage [--quick] [--batches 300] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The portal runs under gunicorn (bench/server.py) on a fresh database: on the PostgreSQL server of
--database-url, else on the local one when it answers (QUALITY.md's bar is for PostgreSQL), else on SQLite
(reported without a bar). One organisation with an integration key; every batch is prepared before the clock
starts, then CLIENTS threads post them as fast as the server answers. Each repeated event is an exact copy
of one sent earlier (a client retrying), so it must be counted once: the run checks that the answers'
`accepted` add up to the unique events, their `duplicates` to the repeats, and that the database holds
exactly the unique events.

Every run, quick or not, posts 300 batches into the growing table (QUALITY.md P6): a cost that grows with the
table only shows after a few hundred batches, so the first and the last WINDOW batches are reported apart
(events/s from the first one's send to the last one's answer), and the last must stay within 20% of the
first. Those two windows are posted on their own (the batches between them in a third go), so that the CPU
time each takes is measured apart too: the portal's (its gunicorn processes) and, when the server runs on this
machine, PostgreSQL's (the backends of the run's database), read from /proc. CPU time per batch is what the
clock would say on a quiet machine; on a busy one the clock also counts other people's work. The full run
also measures the embedded SQLite default, for comparison.
"""

import argparse
import json
import os
import random
import secrets
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
BATCHES = 300
WINDOW = 30  # batches at the start and at the end of the run, reported apart
WARM_UP = 2  # batches sent first, one per worker, outside the measure
BAR_EVENTS_PER_SECOND = 20_000
BAR_LAST_SHARE = 0.8  # the last WINDOW batches' rate at least this share of the first's
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


def post_all(base: str, key: str, bodies: list[bytes], clients: int) -> tuple[float, list[dict], list[tuple]]:
    """Post every body from `clients` threads, in order; (seconds from first send to last answer, answers,
    (sent, answered) clock readings of each body, in the bodies' order)."""
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}

    def send(body: bytes) -> tuple[dict, tuple[float, float]]:
        started = time.perf_counter()
        response = fetch(base, "/api/v1/usage", "POST", headers, body, timeout=120)
        answered = time.perf_counter()
        if response.status != 200:
            raise HarnessError(f"the usage API answered {response.status}: {response.text[:300]}")
        return json.loads(response.body), (started, answered)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(send, bodies))
    return time.perf_counter() - started, [answer for answer, _t in results], [times for _a, times in results]


def cpu_by_process(pids) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each of `pids` still running, read from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


def group_pids(group: int) -> list[int]:
    """The processes of a process group (gunicorn's arbiter and its workers), from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == group:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


class CpuMeter:
    """CPU seconds of the portal's processes and of the PostgreSQL backends of its database (when the server is
    on this machine) between two readings; the backends are looked up at each reading (workers connect late)."""

    def __init__(self, group: int, url: str):
        self.group = group
        self.engine = None
        if url.startswith("postgresql") and create_engine(url).url.host in (None, "", "localhost", "127.0.0.1",
                                                                            "::1"):
            self.engine = create_engine(url)

    def backends(self) -> list[int]:
        if self.engine is None:
            return []
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND pid <> pg_backend_pid()")).scalars().all()

    def read(self) -> tuple[dict[int, float], dict[int, float]]:
        return cpu_by_process(group_pids(self.group)), cpu_by_process(self.backends())

    @staticmethod
    def spent(before, after) -> tuple[float, float | None]:
        """(portal seconds, PostgreSQL seconds or None) between two readings; a process that started in between
        counts from zero."""
        portal = sum(seconds - before[0].get(pid, 0.0) for pid, seconds in after[0].items())
        server = sum(seconds - before[1].get(pid, 0.0) for pid, seconds in after[1].items())
        return portal, server if after[1] or before[1] else None

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def window_rate(times: list[tuple[float, float]]) -> int:
    """Events per second of consecutive batches: their events over the time from the first send to the last
    answer among them."""
    return round(BATCH * len(times) / (max(end for _s, end in times) - min(start for start, _e in times)))


def measure(label: str, url: str, options, batches: int) -> dict:
    instance = Path(options.results_dir) / f"usage-instance-{label}-{secrets.token_hex(3)}"
    key = prepare_database(url, instance)
    bodies, unique, repeats = make_batches(WARM_UP + batches, options.seed, datetime.now(UTC))
    env = bench_environment(url, instance, sql_count=False)
    window = min(WINDOW, batches)
    # The first and the last window posted apart (each one's CPU measured), the batches between in one go.
    measured = bodies[WARM_UP:]
    parts = ([measured[:window], measured[window:batches - window], measured[batches - window:]]
             if batches >= 2 * window else [measured])
    seconds, answers, times, cpu = 0.0, [], [], []
    with gunicorn(f"usage-{label}", "wsgi:app", env, Path(options.results_dir) / "logs",
                  probe="/api/v1/openapi.json") as server:
        meter = CpuMeter(server.process.pid, url)
        try:
            # Both workers' first request, outside the measure.
            _seconds, warm_up, _times = post_all(server.base, key, bodies[:WARM_UP], WARM_UP)
            for part in parts:
                if not part:
                    continue
                before = meter.read()
                part_seconds, part_answers, part_times = post_all(server.base, key, part, CLIENTS)
                cpu.append(meter.spent(before, meter.read()))
                seconds += part_seconds
                answers += part_answers
                times += part_times
        finally:
            meter.close()
    accepted = sum(a["accepted"] for a in warm_up + answers)
    duplicates = sum(a["duplicates"] for a in warm_up + answers)
    stored = stored_events(url)
    latencies = sorted(end - start for start, end in times)
    sent = BATCH * batches
    first, last = window_rate(times[:window]), window_rate(times[-window:])
    first_cpu, last_cpu = cpu[0], cpu[-1]

    def per_batch_ms(spent, count):
        return {"portal": round(1000 * spent[0] / count, 1),
                "postgresql": None if spent[1] is None else round(1000 * spent[1] / count, 1)}

    def per_cpu_second(spent, count):
        total = spent[0] + (spent[1] or 0)
        return round(BATCH * count / total) if total else None

    return {
        "database": label,
        "batches": batches,
        "events_sent": sent,
        "seconds": round(seconds, 3),
        "events_per_second": round(sent / seconds),
        "window": window,
        "first_window_events_per_second": first,
        "last_window_events_per_second": last,
        "last_to_first": round(last / first, 2),
        # CPU per batch of the first and last windows, the portal's and PostgreSQL's (None: not on this
        # machine, or SQLite); events per second of that CPU (portal + PostgreSQL).
        "first_window_cpu_ms_per_batch": per_batch_ms(first_cpu, window),
        "last_window_cpu_ms_per_batch": per_batch_ms(last_cpu, window),
        "first_window_events_per_cpu_second": per_cpu_second(first_cpu, window),
        "last_window_events_per_cpu_second": per_cpu_second(last_cpu, window),
        # Every run of WINDOW batches in turn: where a fall happens, and whether it stays.
        "windows_events_per_second": [window_rate(times[at:at + window]) for at in range(0, batches, window)],
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

    batches = getattr(options, "batches", BATCHES)  # bench.run does not set it
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
        figures.append({"name": f"P6 usage ingestion, {found['database']}, {found['batches']} batches",
                        "value": found["events_per_second"],
                        "unit": "events/s", "bar": f"≥ {BAR_EVENTS_PER_SECOND:,}" if on_postgres else "",
                        "ok": found["events_per_second"] >= BAR_EVENTS_PER_SECOND if on_postgres else None})
        window, batches = found["window"], found["batches"]
        figures.append({"name": f"P6 batches 1–{window}, {found['database']}",
                        "value": found["first_window_events_per_second"], "unit": "events/s",
                        "bar": f"≥ {BAR_EVENTS_PER_SECOND:,}" if on_postgres else "",
                        "ok": found["first_window_events_per_second"] >= BAR_EVENTS_PER_SECOND
                        if on_postgres else None})
        figures.append({"name": f"P6 batches {batches - window + 1}–{batches}, {found['database']}",
                        "value": found["last_window_events_per_second"], "unit": "events/s",
                        "bar": f"≥ {BAR_LAST_SHARE:.0%} of batches 1–{window}"
                               + (f" and ≥ {BAR_EVENTS_PER_SECOND:,}" if on_postgres else ""),
                        "ok": found["last_to_first"] >= BAR_LAST_SHARE and (
                            found["last_window_events_per_second"] >= BAR_EVENTS_PER_SECOND or not on_postgres)})
        cpu_first, cpu_last = found["first_window_cpu_ms_per_batch"], found["last_window_cpu_ms_per_batch"]

        def cpu_text(spent):
            return f"{spent['portal']}" + ("" if spent["postgresql"] is None else f" + {spent['postgresql']}")

        figures.append({"name": f"P6 CPU per batch, batches 1–{window} / {batches - window + 1}–{batches} "
                                f"(portal{' + PostgreSQL' if cpu_first['postgresql'] is not None else ''}), "
                                f"{found['database']}",
                        "value": f"{cpu_text(cpu_first)} / {cpu_text(cpu_last)}", "unit": "ms", "bar": "",
                        "ok": None})
        figures.append({"name": f"P6 events per CPU-second, batches 1–{window} / {batches - window + 1}–{batches}, "
                                f"{found['database']}",
                        "value": f"{found['first_window_events_per_cpu_second']:,} / "
                                 f"{found['last_window_events_per_cpu_second']:,}", "unit": "events/s",
                        "bar": "", "ok": None})
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
    parser.add_argument("--quick", action="store_true", help="PostgreSQL only (when a server answers)")
    parser.add_argument("--batches", type=int, default=BATCHES,
                        help=f"batches of {BATCH} events (default {BATCHES}, QUALITY.md P6's length)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    if options.batches < 1:
        parser.error("--batches must be at least 1")
    options.scale, options.data_url = 0.01, None
    result = run(options)
    print_suite("usage", result)
    print(json.dumps(result["runs"], indent=2))


if __name__ == "__main__":
    main()
