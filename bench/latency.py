"""P3: throughput and tail latency of every page and fragment, logged in, against the floor.

For each page of bench/pages.py, `wrk --latency` sends the request its user sends (session cookie,
CSRF token, htmx headers) to the portal under gunicorn (2 sync workers, loopback); the floor
(bench/floor_app.py: one template, one query) is served by the same gunicorn settings in the same run
and measured just before each page. SQL statements per request come from the portal's X-SQL-Count header
(PORTAL_BENCH_SQL_COUNT=1), at two data scales: a page whose count grows with the data is an N+1.
"""

import re
import statistics
from contextlib import contextmanager
from pathlib import Path

from bench.pages import ALL
from bench.portal import Portal
from bench.server import HarnessError, Server, bench_environment, gunicorn, run_bounded

CONNECTIONS = 2  # one per gunicorn worker: a closed loop, so p99 is service time, not a queue we made
BARS = {"ratio": 0.25, "median_ratio": 0.35, "p99_ms": 25.0, "sql": 10}  # QUALITY.md P3
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip()).groups()
    return float(number) * UNITS[unit]


def parse_wrk(output: str) -> dict:
    """Requests/s, p50 and p99 (ms), request count and failures from wrk's --latency report."""
    found = {}
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.MULTILINE)
        if match:
            found[f"p{pct}_ms"] = round(_ms(match.group(1)), 2)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if not rps or not total or "p99_ms" not in found:
        raise HarnessError(f"could not read wrk's report: {output[-500:]!r}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {"rps": round(float(rps.group(1)), 1), **found, "requests": int(total.group(1)),
            "non_2xx_3xx": int(non_2xx.group(1)) if non_2xx else 0,
            "socket_errors": sum(map(int, socket.groups())) if socket else 0}


def wrk(arguments: list[str], seconds: float, connections: int = CONNECTIONS) -> dict:
    command = ["wrk", "--threads", "1", "--connections", str(connections), "--duration", f"{seconds:g}s",
               "--timeout", "5s", "--latency", *arguments]
    result = run_bounded(command, timeout=seconds + 30)
    if result.returncode != 0:
        raise HarnessError(f"wrk failed ({result.returncode}): {result.stderr.strip()[:300]}")
    return parse_wrk(result.stdout)


@contextmanager
def floor_server(database_url: str, results_dir: Path):
    """The floor app under the same gunicorn settings as the portal, warmed up."""
    env = bench_environment(database_url, results_dir / "instance", sql_count=False)
    env["BENCH_FLOOR_DATABASE_URL"] = database_url
    with gunicorn("floor", "bench.floor_app:app", env, results_dir / "logs") as floor:
        wrk([floor.base + "/"], 1)  # warm-up: workers import, connect, compile the template
        yield floor


def sql_counts(portal: Portal) -> dict[str, int | None]:
    """Statements per request for every page (the second request: caches and connections warm)."""
    counts = {}
    for page in ALL:
        portal.check(page)
        header = portal.check(page).headers.get("x-sql-count")
        counts[page.label] = int(header) if header is not None else None
    return counts


def measure_pages(portal: Portal, floor: Server, seconds: float, results_dir: Path) -> list[dict]:
    """wrk against every page and fragment, each right after the floor: other work on the machine comes and
    goes, and a ratio of two measurements taken seconds apart is the fairest one a shared machine gives."""
    rows = []
    script_dir = results_dir / "wrk"
    script_dir.mkdir(parents=True, exist_ok=True)
    counts = sql_counts(portal)
    for page in ALL:
        arguments = portal.wrk_arguments(page, script_dir)
        floor_figures = wrk([floor.base + "/"], seconds)
        wrk(arguments, min(1, seconds))  # warm-up
        figures = wrk(arguments, seconds)
        floor_rps = floor_figures["rps"]
        after = portal.check(page)  # the session is still valid: wrk measured the page, not a redirect
        expected_failures = figures["requests"] if page.status >= 400 else 0
        rows.append({
            "page": page.label, "role": "/".join(page.role) if page.role else "visitor", "kind": page.kind,
            "method": page.method, "path": portal.url(page), "status": page.status, **figures,
            "unexpected_responses": abs(figures["non_2xx_3xx"] - expected_failures) + figures["socket_errors"],
            "floor_rps": floor_rps, "floor_p99_ms": floor_figures["p99_ms"],
            "ratio_to_floor": round(figures["rps"] / floor_rps, 3) if floor_rps else None,
            "sql_statements": counts[page.label], "bytes": len(after.body),
        })
    return rows


def judge(rows: list[dict], small_counts: dict[str, int | None] | None) -> None:
    """Add ✓/✗ per bar: ≥ 25 % of the floor, p99 ≤ 25 ms, ≤ 10 statements, the same at both scales."""
    for row in rows:
        row["ok_ratio"] = row["ratio_to_floor"] is not None and row["ratio_to_floor"] >= BARS["ratio"]
        row["ok_p99"] = row["p99_ms"] <= BARS["p99_ms"]
        count = row["sql_statements"]
        row["sql_statements_small_scale"] = small = (small_counts or {}).get(row["page"])
        row["ok_sql"] = count is not None and count <= BARS["sql"]
        row["ok_sql_constant"] = None if small_counts is None else (count == small)


def summary(rows: list[dict]) -> dict:
    ratios = [row["ratio_to_floor"] for row in rows if row["ratio_to_floor"] is not None]
    floors = [row["floor_rps"] for row in rows]
    return {
        "floor_rps": statistics.median(floors) if floors else None,
        "floor_rps_range": [min(floors), max(floors)] if floors else None,
        "floor_p99_ms": statistics.median(row["floor_p99_ms"] for row in rows) if rows else None,
        "pages": len(rows), "median_ratio": round(statistics.median(ratios), 3) if ratios else None,
        "ok_median_ratio": bool(ratios) and statistics.median(ratios) >= BARS["median_ratio"],
        "pages_meeting_ratio": sum(row["ok_ratio"] for row in rows),
        "pages_meeting_p99": sum(row["ok_p99"] for row in rows),
        "pages_meeting_sql": sum(row["ok_sql"] for row in rows),
        "pages_sql_constant": sum(bool(row["ok_sql_constant"]) for row in rows),
    }
