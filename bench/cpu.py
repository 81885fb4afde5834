"""P3 in one process: CPU time per request of every page and fragment, against the floor's, and a profile.

    python -m bench.cpu [--scale 0.01] [--requests 200] [--page catalog] [--profile DIR]

wrk's req/s (bench/latency.py) moves with whatever else the machine runs; the CPU time a request costs in
the process that serves it moves much less. Each page of bench/pages.py is requested through Flask's test
client by its logged-in user, `--requests` times after a warm-up, in rounds alternating with the floor
(bench/floor_app.py: the same test client, the same generated database), and the least process time per
request of each is kept: `ratio` = floor ms / page ms, the in-process counterpart of wrk's throughput ratio.
A request is sent as bench/portal.py sends it (its form's `{placeholders}` filled from the data set) and its
body read whole (a streamed CSV or ZIP costs its making, and ends its request context before the next request).
The SQL statements of one request are counted too. `--profile DIR` writes a pyinstrument profile of each page's
requests to DIR (an HTML file per page).
"""

import argparse
import gc
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import bench
from bench.pages import ALL, Page, roles

CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')


def _environment(database_url: str, instance: Path) -> None:
    for key in [key for key in os.environ if key.startswith("PORTAL_")]:
        del os.environ[key]
    os.environ.update({
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_INSTANCE_PATH": str(instance),
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(32),
        "PORTAL_SESSION_IDLE_MINUTES": "720",
        "PORTAL_LOGIN_LIMIT": "1000000 per minute",
        # A log line per request (portal/observability.py) is the operator's, not the page's cost.
        "PORTAL_LOG_LEVEL": "WARNING",
        "BENCH_FLOOR_DATABASE_URL": database_url,
    })


class Client:
    """A role's logged-in test client: its CSRF token, and the request each page sends."""

    def __init__(self, app, email: str | None, password: str):
        self.client = app.test_client()
        self.csrf = ""
        self.get("/login")
        if email:
            response = self.client.post("/login", data={"email": email, "password": password,
                                                        "csrf_token": self.csrf})
            if response.status_code != 303:
                raise SystemExit(f"login as {email} answered {response.status_code}")
            self.get(response.headers["Location"])

    def get(self, path: str):
        response = self.client.get(path)
        found = CSRF_RE.search(response.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)
        return response

    def request(self, page: Page, url: str, params: dict):
        form = None if page.form is None else {**page.filled_form(params), "csrf_token": self.csrf}
        # buffered: a streamed body (a CSV, a ZIP) is made whole, its cost counted, and its context closed
        return self.client.open(url, method=page.method, data=form, headers=page.request_headers(), buffered=True)


ROUNDS = 10


def cpu_ms(call, requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        call()
    return (time.process_time() - started) * 1000 / requests


def least_cpu_ms(page_call, floor_call, requests: int) -> tuple[float, float]:
    """The page's and the floor's CPU ms per request, in ROUNDS alternating rounds, each the least of its
    rounds: other work on the machine only ever adds to a round (cache misses, a shared core), so the
    least is the fairest figure a busy machine gives."""
    each = max(1, requests // ROUNDS)
    page, floor = [], []
    for _ in range(ROUNDS):
        floor.append(cpu_ms(floor_call, each))
        page.append(cpu_ms(page_call, each))
    return min(page), min(floor)


def _cprofile(call, requests: int, path: Path) -> None:
    """The same requests under cProfile: its statistics, and the functions that cost most in themselves."""
    import cProfile
    import io
    import pstats

    profile = cProfile.Profile()
    profile.runcall(cpu_ms, call, requests)
    profile.dump_stats(path)
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(40)
    path.with_suffix(".flat.txt").write_text(text.getvalue())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=200, help="measured requests per page")
    parser.add_argument("--page", action="append", default=[], help="only pages whose name contains this")
    parser.add_argument("--profile", type=Path, default=None, help="write a pyinstrument profile per page here")
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    options.database_url = None
    options.results_dir = options.results_dir.resolve()

    from bench.databases import generated_database
    from bench.dataset import BENCH_PASSWORD, BENCH_USERS
    from bench.portal import lookup_params

    pages = [page for page in ALL if not options.page or any(part in page.label for part in options.page)]
    with generated_database(options, options.scale) as (url, _figures), tempfile.TemporaryDirectory() as instance:
        _environment(url, Path(instance))
        params = lookup_params(url)
        from sqlalchemy import event

        from bench import floor_app
        from portal import create_app
        from portal.extensions import db

        app = create_app()
        statements = [0]
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
        floor = floor_app.app.test_client()
        clients = {role: Client(app, BENCH_USERS[role], BENCH_PASSWORD) for role in roles()}
        clients[None] = Client(app, None, "")
        for page in pages:  # warm up every page once (templates compiled, caches filled), then freeze as gunicorn
            response = clients[page.role].request(page, page.url(params), params)
            if response.status_code != page.status:
                raise SystemExit(f"{page.label}: {response.status_code}, expected {page.status}")
        gc.collect()
        gc.freeze()
        print(f"{'page':<44} {'ms CPU':>7} {'floor':>6} {'ratio':>6} {'SQL':>4}")
        rows = []
        for page in pages:
            client, path = clients[page.role], page.url(params)
            for _ in range(max(5, options.requests // 10)):
                client.request(page, path, params)
                floor.get("/")
            statements[0] = 0
            response = client.request(page, path, params)
            count = statements[0]
            if response.status_code != page.status:
                raise SystemExit(f"{page.label}: {response.status_code}, expected {page.status}")
            page_ms, floor_ms = least_cpu_ms(lambda: client.request(page, path, params),  # noqa: B023
                                             lambda: floor.get("/"), options.requests)
            if options.profile:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005)
                profiler.start()
                cpu_ms(lambda: client.request(page, path, params), options.requests)  # noqa: B023
                profiler.stop()
                options.profile.mkdir(parents=True, exist_ok=True)
                name = re.sub(r"[^a-z0-9]+", "-", page.label.lower()).strip("-")
                (options.profile / f"{name}.html").write_text(profiler.output_html())
                (options.profile / f"{name}.txt").write_text(profiler.output_text(unicode=True, show_all=False))
                _cprofile(lambda: client.request(page, path, params), options.requests,  # noqa: B023
                          options.profile / f"{name}.pstats")
            rows.append((page.label, page_ms, floor_ms, floor_ms / page_ms, count))
            print(f"{page.label[:44]:<44} {page_ms:7.2f} {floor_ms:6.3f} {floor_ms / page_ms:6.2f} {count:4d}")
            sys.stdout.flush()
        ratios = [row[3] for row in rows]
        print(f"\nmedian ratio {statistics.median(ratios):.3f}; {sum(r >= 0.25 for r in ratios)}/{len(ratios)} "
              f"pages ≥ 0.25; median floor {statistics.median(row[2] for row in rows):.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
