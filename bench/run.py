"""Run every benchmark and report each figure beside its bar of QUALITY.md.

    python -m bench.run [--scale 0.01|0.1|1] [--quick] [--no-lighthouse] [--database-url URL] [--seed 1]

Generates the large data set at `--scale` (and at a tenth of it, to compare SQL statement counts), serves
the portal on it with gunicorn, and runs P1 (bench/weight.py), P3 (bench/latency.py) and, unless
--no-lighthouse, P2 (bench/lighthouse.py); then every other suite that exists. Writes
bench/results/latest.json and prints readable tables. Exits 0 whether or not the figures meet their bars;
non-zero only when the harness itself breaks (1) or the run is interrupted (130). Ctrl-C or SIGTERM
leaves no server behind.

Contract for the other suites — bench/sweep.py (P5), bench/pdf.py (P4), bench/usage.py (P6),
bench/reconciliation.py (a 100,000-row statement), bench/webhooks.py (a burst of signed webhooks),
bench/licenses.py (license activations under load), bench/usage_chart.py (usage charts over 2,000,000 events of
one customer), bench/activations.py (store carts activated at once over HTTP, activations/s), bench/fiscal_zip.py
(a client's month of 10,000 NF-e as a streamed ZIP: time and peak memory beside a floor), …:

    def run(options) -> dict

`options` is this module's argparse Namespace: `scale` (float), `quick` (bool: keep it to a minute or
two), `database_url` (None for SQLite, else the PostgreSQL server to make databases on), `results_dir`
(a Path to write files under), `seed` (int), and `data_url` (the generated data set at `scale`, shared:
read it, but make your own database with `bench.databases.scratch_database(options, "label")` — or
`generated_database(options, scale)` — for anything that writes). Return a JSON-serialisable dict; put
what should be printed under "figures", a list of {"name", "value", "unit", "bar", "ok"} (ok: True,
False, or None when there is no bar). Raise to say the suite could not run: it is reported, the other
suites still run, and the exit status becomes 1. A suite listed in SUITES runs when its module exists.
"""

import argparse
import importlib
import json
import os
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import bench
from bench import latency, report, weight
from bench.server import HarnessError, stop_all

SUITES = ("sweep", "pdf", "usage", "usage_chart", "reconciliation", "webhooks", "licenses", "activations", "fiscal_zip")
QUICK_SECONDS, FULL_SECONDS = 2.0, 10.0


class Interrupted(Exception):
    pass


def _on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01, help="data set scale: 1 = QUALITY.md's large data set")
    parser.add_argument("--quick", action="store_true", help="short measurements (a smoke test: a few minutes)")
    parser.add_argument("--no-lighthouse", action="store_true", help="skip P2 (Lighthouse and axe-core)")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server to create the benchmark databases on (default: SQLite files)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=None, help="wrk duration per page (default 10, quick 2)")
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    if not 0 < options.scale <= 10:
        parser.error("--scale must be above 0 and at most 10")
    options.results_dir = options.results_dir.resolve()
    options.data_url = None
    return options


def small_scale(scale: float) -> float:
    return max(round(scale / 10, 6), 0.001) if scale > 0.001 else scale / 2


def run_pages(options, results: dict) -> None:
    """P1, P3 and P2 against the portal on the generated data sets."""
    from bench.databases import generated_database
    from bench.portal import serve_portal

    seconds = options.seconds or (QUICK_SECONDS if options.quick else FULL_SECONDS)
    small = small_scale(options.scale)
    print(f"\n== data sets: scale {options.scale:g} (measured) and {small:g} (SQL statement counts compared)")
    with generated_database(options, small) as (small_url, small_figures):
        results["data"]["small"] = small_figures
        with serve_portal(small_url, options.results_dir, "portal-small") as portal:
            small_counts = latency.sql_counts(portal)
    with generated_database(options, options.scale) as (url, figures):
        options.data_url = url
        results["data"]["main"] = figures
        results["database"] = report.database_version(url)
        with latency.floor_server(url, options.results_dir) as floor, serve_portal(url, options.results_dir) as portal:
            print("\n== P1 weight")
            results["weight"] = weight.measure(portal)
            report.print_weight(results["weight"])
            print(f"\n== P3 latency: {len(latency.ALL)} pages and fragments × {seconds:g} s, each after the floor "
                  "(a minimal Flask + SQLAlchemy page)")
            rows = latency.measure_pages(portal, floor, seconds, options.results_dir)
            latency.judge(rows, small_counts)
            results["latency"] = {"pages": rows, "seconds": seconds, "connections": latency.CONNECTIONS,
                                  "scales": [small, options.scale], "summary": latency.summary(rows)}
            report.print_latency(results["latency"])
            if not options.no_lighthouse:
                from bench import lighthouse

                print("\n== P2 Lighthouse and axe-core")
                results["lighthouse"] = lighthouse.measure(portal, options.results_dir, options.quick)
                results["lighthouse"]["version"] = lighthouse.version()
                report.print_lighthouse(results["lighthouse"])
                if results["lighthouse"]["errors"]:
                    raise HarnessError("; ".join(results["lighthouse"]["errors"]))


def run_other_suites(options, results: dict) -> list[str]:
    failures = []
    for name in SUITES:
        if not (Path(bench.__file__).parent / f"{name}.py").exists():
            continue
        print(f"\n== {name}")
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            result = module.run(options)
        except Interrupted:
            raise
        except Exception as error:  # noqa: BLE001 — reported; the other suites still run
            traceback.print_exc()
            results["suites"][name] = {"error": f"{type(error).__name__}: {error}"}
            failures.append(name)
        else:
            results["suites"][name] = result
            report.print_suite(name, result)
        finally:
            stop_all()
        results["suites"].setdefault(name, {})["seconds"] = round(time.perf_counter() - started, 1)
    return failures


def write_results(options, results: dict) -> Path:
    options.results_dir.mkdir(parents=True, exist_ok=True)
    path = options.results_dir / "latest.json"
    path.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False))
    return path


def main(argv=None) -> int:
    options = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    started = time.perf_counter()
    results = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": report.machine(),
               "options": {k: v for k, v in vars(options).items() if k != "data_url"}, "data": {}, "suites": {},
               "errors": []}
    status = 0
    try:
        report.print_machine(results["machine"], {"scale": options.scale, "seed": options.seed,
                                                  "database": options.database_url or "SQLite (files in results/)"})
        try:
            run_pages(options, results)
        except Interrupted:
            raise
        except Exception as error:  # noqa: BLE001 — the harness broke: say so, still run the other suites
            traceback.print_exc()
            results["errors"].append(f"pages: {type(error).__name__}: {error}")
            status = 1
        finally:
            stop_all()
        if run_other_suites(options, results):
            status = 1
    except (Interrupted, KeyboardInterrupt) as error:
        print(f"\ninterrupted ({error or 'SIGINT'}): servers stopped", file=sys.stderr)
        results["errors"].append("interrupted")
        status = 130
    finally:
        stop_all()
        results["seconds"] = round(time.perf_counter() - started, 1)
        results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        path = write_results(options, results)
        print(f"\nWrote {path} in {results['seconds']:.0f} s; load average at the end "
              f"{', '.join(map(str, results['machine']['load_average_at_end']))}.")
        if results["errors"]:
            print("Harness errors: " + "; ".join(results["errors"]), file=sys.stderr)
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as error:
        print(f"bench: {error}", file=sys.stderr)
        sys.exit(1)
