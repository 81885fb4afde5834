"""Load and soak: the portal served for minutes on end, on SQLite and on PostgreSQL, must not grow or fail.

    python -m bench.soak [--minutes 10] [--scale 0.01] [--slice 30] [--connections 4] [--sqlite-only]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

For each database: the generated data set at `--scale`, served by gunicorn (the project's gunicorn.conf.py, two
workers) exactly as bench.run serves it; every GET page of bench/pages.py is requested in turn by wrk, one
page per `--slice` seconds, for `--minutes` in all. Reported: memory (RSS) of each worker at the start (after
a first round of every page, the warm-up) and at the end, and its growth (bar: at most 10%); p99 of every
slice over time; errors (non-2xx/3xx answers and socket errors: bar 0).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import bench
from bench import latency
from bench.databases import LOCAL_POSTGRES, generated_database
from bench.pages import ALL
from bench.portal import serve_portal
from bench.usage import group_pids

GROWTH_BAR = 0.10


def worker_rss(master_pid: int) -> dict[int, int]:
    """RSS in KiB of each gunicorn worker (the master's process group, the master left out)."""
    found = {}
    for pid in group_pids(master_pid):
        if pid == master_pid:
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                found[pid] = int(line.split()[1])
    return found


def soak(label: str, options, database_url: str, results_dir: Path) -> dict:
    pages = [page for page in ALL if page.method == "GET" and page.role is not None and page.status == 200]
    with serve_portal(database_url, results_dir, name=f"soak-{label}", sql_count=False) as portal, \
            tempfile.TemporaryDirectory() as scripts:
        for page in pages:  # warm-up: every page once, then memory is measured from here
            latency.wrk(portal.wrk_arguments(page, Path(scripts)), 1, connections=2)
        start = worker_rss(portal.server.process.pid)
        slices = []
        deadline = time.monotonic() + options.minutes * 60
        index = 0
        while time.monotonic() < deadline:
            page = pages[index % len(pages)]
            index += 1
            result = latency.wrk(portal.wrk_arguments(page, Path(scripts)), options.slice,
                                 connections=options.connections)
            slices.append({"page": page.label, "minute": round((options.minutes * 60 - (deadline - time.monotonic()))
                                                                / 60, 1),
                           "rps": result["rps"], "p99_ms": result["p99_ms"],
                           "errors": result["non_2xx_3xx"] + result["socket_errors"]})
            print(f"  {label} {slices[-1]['minute']:5.1f} min  {page.label:40.40}  {result['rps']:7.1f} req/s  "
                  f"p99 {result['p99_ms']:7.1f} ms  errors {slices[-1]['errors']}", flush=True)
        end = worker_rss(portal.server.process.pid)
    growth = {pid: round((end[pid] - start[pid]) / start[pid], 3) for pid in start if pid in end}
    errors = sum(s["errors"] for s in slices)
    return {
        "database": label,
        "minutes": options.minutes,
        "rss_kib_start": start, "rss_kib_end": end, "growth": growth,
        "workers_replaced": sorted(set(start) ^ set(end)),
        "slices": slices,
        "errors": errors,
        "figures": [
            {"name": f"{label}: worst worker memory growth", "value": round(max(growth.values(), default=0) * 100, 1),
             "unit": "%", "bar": GROWTH_BAR * 100, "ok": bool(growth) and max(growth.values()) <= GROWTH_BAR},
            {"name": f"{label}: errors", "value": errors, "unit": "", "bar": 0, "ok": errors == 0},
            {"name": f"{label}: worst slice p99", "value": max(s["p99_ms"] for s in slices), "unit": "ms",
             "bar": None, "ok": None},
        ],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--slice", type=float, default=30.0, help="seconds of wrk per page, in turn")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=LOCAL_POSTGRES)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    outcomes = []
    for label, server in (("SQLite", None), ("PostgreSQL", None if options.sqlite_only else options.database_url)):
        if label == "PostgreSQL" and server is None:
            continue
        run_options = argparse.Namespace(**{**vars(options), "database_url": server})
        with generated_database(run_options, options.scale, report=lambda *_: None) as (url, _figures):
            outcomes.append(soak(label, options, url, Path(options.results_dir) / f"soak-{label.lower()}"))
    (Path(options.results_dir) / "soak.json").write_text(json.dumps(outcomes, indent=2))
    failed = False
    for outcome in outcomes:
        for figure in outcome["figures"]:
            mark = {True: "ok  ", False: "FAIL", None: "    "}[figure["ok"]]
            print(f"{mark} {figure['name']}: {figure['value']} {figure['unit']}")
            failed |= figure["ok"] is False
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
