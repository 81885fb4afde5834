"""What a run says: the machine it ran on, and readable tables with each bar of QUALITY.md beside its figure."""

import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.server import PROJECT_ROOT

PACKAGES = ("Flask", "Werkzeug", "Jinja2", "SQLAlchemy", "Flask-SQLAlchemy", "jinja2-fragments", "gunicorn",
            "psycopg", "argon2-cffi", "Flask-WTF", "Flask-Babel", "playwright")


def mark(ok) -> str:
    return "—" if ok is None else ("✓" if ok else "✗")


def _tool_version(command: list[str]) -> str | None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr) else None


def machine() -> dict:
    memory = None
    try:
        match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        memory = round(int(match.group(1)) / 1024 / 1024, 1) if match else None
    except OSError:
        pass
    cpu = platform.processor() or None
    try:
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1).strip() if found else cpu
    except OSError:
        pass
    commit = _tool_version(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"])
    return {
        "cores": os.cpu_count(), "memory_gib": memory, "cpu": cpu, "os": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0], "commit": commit,
        "packages": {name: _version(name) for name in PACKAGES},
        "tools": {"wrk": _tool_version(["wrk", "--version"]), "chromium": _tool_version(["chromium", "--version"]),
                  "node": _tool_version(["node", "--version"])},
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def database_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                return "SQLite " + connection.execute(text("SELECT sqlite_version()")).scalar()
            return connection.execute(text("SELECT version()")).scalar().split(" on ")[0]
    finally:
        engine.dispose()


def table(headers: list[str], rows: list[list], title: str) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def line(values):
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths,
                                                                                             strict=True)))

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([f"\n{title}", rule, line(headers), rule, *(line(row) for row in cells), rule])


def kb(size: int | float) -> str:
    return f"{size / 1024:.1f} KB"


def print_machine(info: dict, scales: dict) -> None:
    print(f"\nMachine: {info['cores']} cores, {info['memory_gib']} GiB, {info['cpu']}; {info['os']}")
    print(f"Load average at start: {', '.join(map(str, info['load_average_at_start']))} "
          "(other work on the machine makes every figure worse)")
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v)
    print(f"Python {info['python']}; {packages}")
    print(f"Tools: {', '.join(f'{v}' for v in info['tools'].values() if v)}; commit {info['commit']}")
    for name, value in scales.items():
        print(f"Data set {name}: {value}")


def print_latency(latency: dict) -> None:
    s = latency["summary"]
    rows = []
    for row in latency["pages"]:
        small, count = row["sql_statements_small_scale"], row["sql_statements"]
        sql = f"{count}" if small is None else f"{small}→{count}"
        rows.append([row["page"], f"{row['rps']:.0f}", f"{row['floor_rps']:.0f}",
                     f"{row['ratio_to_floor']:.2f} {mark(row['ok_ratio'])}",
                     f"{row['p50_ms']:.1f}", f"{row['p99_ms']:.1f} {mark(row['ok_p99'])}",
                     f"{sql} {mark(row['ok_sql'] and row['ok_sql_constant'] is not False)}",
                     row["unexpected_responses"] or ""])
    print(table(["P3 page", "req/s", "floor", "×floor ≥0.25", "p50 ms", "p99 ms ≤25",
                 f"SQL ≤10, {latency['scales'][0]:g}→{latency['scales'][1]:g}", "bad"], rows,
                f"P3 — throughput and latency (floor: median {s['floor_rps']:.0f} req/s, from "
                f"{s['floor_rps_range'][0]:.0f} to {s['floor_rps_range'][1]:.0f}, p99 {s['floor_p99_ms']:.1f} ms; "
                f"wrk {latency['seconds']:g} s × {latency['connections']} connections per page)"))
    print(f"{s['pages_meeting_ratio']}/{s['pages']} pages ≥ 25 % of the floor, median {s['median_ratio']:.2f}× "
          f"(≥ 0.35) {mark(s.get('ok_median_ratio'))}, {s['pages_meeting_p99']}/{s['pages']} "
          f"p99 ≤ 25 ms, {s['pages_meeting_sql']}/{s['pages']} ≤ 10 statements, "
          f"{s['pages_sql_constant']}/{s['pages']} the same at both scales")


def print_weight(weight: dict) -> None:
    rows = [[p["page"], kb(p["html_gz"]) + " " + mark(p["ok_html"]), kb(p["html_bytes"]),
             kb(p["css_js_gz"]) + " " + mark(p["ok_assets"]), kb(p["css_js_bytes"])] for p in weight["pages"]]
    print(table(["P1 page", "HTML gz ≤20 KB", "HTML raw", "CSS+JS gz ≤26 KB", "CSS+JS raw"], rows,
                "P1 — first-load weight (gzip -9)"))
    assets = ", ".join(f"{a['url']} {kb(a['gz'])} gz" for a in weight["assets"])
    print(f"Assets: {assets}")
    budget = weight["budget"]
    print(f"Budget left for the capabilities to come: CSS+JS {kb(budget['css_js_gz_left'])} gz of "
          f"{kb(budget['css_js_gz_bar'])} (heaviest page {kb(weight['max_css_js_gz'])}); our own JS "
          f"{kb(budget['own_js_gz_left'])} gz of {kb(budget['own_js_gz_bar'])} (today {kb(budget['own_js_gz'])}) "
          f"{mark(budget['ok_own_js'])}")
    print(f"Median fragment: {weight['fragment_gz_median']} B gz (≤ 2 KB) {mark(weight['ok_fragments'])}; "
          f"other origins: {len(weight['foreign_references'])} {mark(weight['ok_no_foreign'])}; "
          f"web fonts: {len(weight['web_fonts'])} {mark(weight['ok_no_fonts'])}")
    for reference in weight["foreign_references"] + weight["web_fonts"]:
        print(f"  ✗ {reference}")


def print_lighthouse(result: dict) -> None:
    rows = []
    axe_by_page: dict[str, int] = {}
    for row in result["axe"]:
        axe_by_page[row["page"]] = axe_by_page.get(row["page"], 0) + len(row["violations"])
    for row in result["lighthouse"]:
        violations = axe_by_page.get(row["page"], 0)
        rows.append([row["page"], f"{row['performance']} {mark(row['ok_performance'])}",
                     f"{row['accessibility']} {mark(row['ok_accessibility'])}",
                     f"{row['best-practices']} {mark(row['ok_best-practices'])}",
                     f"{violations} {mark(violations == 0)}", " ".join(row["failing_audits"][:4])])
    print(table(["P2 page (mobile)", "perf ≥98", "a11y 100", "best pr. 100", "axe 0", "failing audits"], rows,
                "P2 — Lighthouse (mobile: slow 4G, 4× CPU) and axe-core (1280 px and 390 px)"))
    for error in result.get("errors", []):
        print(f"  ✗ {error}")
    for row in result["axe"]:
        for v in row["violations"]:
            print(f"  ✗ axe {row['page']} @{row['width']}px: {v['id']} ({v['impact']}, {v['nodes']}×) — {v['help']}")


def print_suite(name: str, result: dict) -> None:
    figures = result.get("figures") if isinstance(result, dict) else None
    if figures:
        rows = [[f.get("name", ""), f"{f.get('value', '')} {f.get('unit', '')}".strip(), f.get("bar", ""),
                 mark(f.get("ok"))] for f in figures]
        print(table(["figure", "value", "bar", ""], rows, f"{name}"))
    else:
        print(f"\n{name}")
        for key, value in (result or {}).items():
            if isinstance(value, str | int | float | bool) or value is None:
                print(f"  {key}: {value}")
