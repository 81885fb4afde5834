"""Scale-out proof: app servers and job workers sharing one PostgreSQL and one Redis lose and double nothing.

    python -m bench.scale_out [--servers 2] [--seconds 20] [--scale 0.01]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--redis-url redis://127.0.0.1:6379/9]
        [--no-kill]

What it does, on a fresh PostgreSQL database (the generated data set at `--scale`, dated so that every
monthly subscription's period has ended) and a Redis database it empties first and last:
1. starts `--servers` gunicorn app servers on loopback ports and as many `flask worker` job consumers, all
   with the same settings, an SMTP sink on loopback receiving the portal's e-mail;
2. through every server at once: wrk going round the customer's pages of the page benchmark (req/s and p99 per
   server and together), usage batches with 10% repeated event ids spread over the servers, sign-ups (each
   queues a confirmation e-mail), failed logins for one account spread over the servers (the login limit,
   shared in Redis, must trip after the same number of attempts as on one server), and the billing sweep
   queued once per worker at the same moment;
3. unless `--no-kill`, kills one app server and one worker (SIGKILL) halfway through the usage batches: the
   batches it would have taken go to the others, and the periodic safety nets (`send-outbox`, the sweep)
   finish what the dead worker held;
4. checks: one invoice per subscription and period and no due subscription left unbilled; each usage event
   stored once; the login limit tripped at the same attempt; every queued e-mail received exactly once.

Prints the figures (req/s per server and together, p99, invoices/s, events/s) and the checks; exits 1 when
a check fails. Run it with `--servers 1` for the ratio.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

import bench
from bench import latency
from bench.databases import scratch_database
from bench.dataset import BENCH_PASSWORD, BENCH_USERS
from bench.server import HarnessError, bench_environment, fetch, free_port, gunicorn, login, start_group, stop_group
from bench.usage import make_batches

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOGIN_LIMIT = 10


class SmtpSink:
    """An SMTP server on loopback that keeps the Message-ID of every message it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.received: list[str] = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
                import email

                message = email.message_from_bytes(envelope.content)
                with sink.lock:
                    sink.received.append(message.get("Message-ID", "") or f"no-id-{len(sink.received)}")
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *_exc):
        self.controller.stop()


def _redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def _prepare(url: str, scale: float, seed: int) -> None:
    """The generated data set, dated 40 days back: every monthly period has ended and is due for the sweep."""
    from bench.generate import generate_into

    generate_into(url, scale, seed, today=(datetime.now(UTC) - timedelta(days=40)).date(), report=lambda *_: None)


def _scalar(url: str, sql: str, **params):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


def _signups(bases: list[str], count: int) -> int:
    """Sign up `count` customers through the servers in turn; return how many got the confirmation page."""
    from bench.server import Session

    done = 0
    for number in range(count):
        session = Session(bases[number % len(bases)])
        session.request("/signup")
        form = {"csrf_token": session.csrf_token, "email": f"scale.{os.getpid()}.{number}@signup.example",
                "name": f"Scale {number}", "password": "a long enough password 1",
                "organisation": f"Scale {number} SpA", "country": "CL", "tax_id": _rut(10_000_000 + number)}
        answer = session.request("/signup", "POST", form)
        done += answer.status == 303
    return done


def _rut(number: int) -> str:
    total, factor = 0, 2
    for digit in reversed(str(number)):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    check = 11 - total % 11
    return f"{number}-{'0' if check == 11 else 'K' if check == 10 else check}"


def _failed_logins(bases: list[str], email: str, attempts: int) -> int | None:
    """The attempt (1-based) at which a wrong password is first refused with 429, the servers taken in turn."""
    from bench.server import Session

    for attempt in range(1, attempts + 1):
        session = Session(bases[attempt % len(bases)])
        session.request("/login")
        answer = session.request("/login", "POST", {"csrf_token": session.csrf_token, "email": email,
                                                     "password": "not the password"})
        if answer.status == 429:
            return attempt
    return None


def _post_usage(bases: list[str], alive: list[bool], key: str, bodies: list[bytes], kill_after: int | None,
                on_kill) -> tuple[float, int]:
    """Post every batch, spread over the live servers; a batch a dead server drops goes to another."""
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    sent = 0
    lock = threading.Lock()

    def send(index_body):
        nonlocal sent
        index, body = index_body
        if kill_after is not None and index == kill_after:
            on_kill()
        for attempt in range(len(bases) * 3):
            live = [base for base, up in zip(bases, alive, strict=True) if up] or bases
            base = live[(index + attempt) % len(live)]
            try:
                answer = fetch(base, "/api/v1/usage", "POST", headers, body, timeout=60)
            except OSError:
                continue
            if answer.status == 200:
                with lock:
                    sent += 1
                return
        raise HarnessError(f"usage batch {index} was refused by every server")

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, enumerate(bodies)))
    return time.perf_counter() - started, sent


def _activation_race(bases: list[str], session, url: str) -> dict:
    """One cart confirmed 8 times at once, the same form's key sent to every server in turn: one activation."""
    import re

    from bench.portal import lookup_params

    customer = lookup_params(url)["organisations"]["customer"]
    product = _scalar(url, (
        "SELECT MIN(p.id) FROM product p JOIN subscription s ON s.organisation_id = :customer "
        "AND s.status IN ('trial', 'active', 'past_due') JOIN product plan ON plan.id = s.plan_id "
        "WHERE p.software_id = plan.software_id AND p.kind IN ('additional_user', 'additional_company') "
        "AND p.retired_at IS NULL AND EXISTS (SELECT 1 FROM price pr WHERE pr.product_id = p.id "
        "AND pr.currency = s.currency)"), customer=customer)
    added = session.request("/customer/cart", "POST", {"csrf_token": session.csrf_token, "product_id": str(product),
                                                       "quantity": "1"})
    page = session.request("/customer/cart").text
    key = re.search(r'name="key" value="([^"]+)"', page)
    fingerprint = re.search(r'name="fingerprint" value="([^"]+)"', page)
    if added.status != 303 or not key or not fingerprint:
        raise HarnessError(f"could not fill the bench customer's cart (add answered {added.status})")
    body = urlencode({"csrf_token": session.csrf_token, "key": key.group(1), "fingerprint": fingerprint.group(1)})
    headers = {"Cookie": session.cookie_header(), "Content-Type": "application/x-www-form-urlencoded"}
    start = threading.Barrier(8)

    def confirm(n: int):
        start.wait()
        return fetch(bases[n % len(bases)], "/customer/cart/activate", "POST", headers, body.encode())

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(confirm, range(8)))
    stored = _scalar(url, "SELECT count(*) FROM activation WHERE key = :key", key=key.group(1))
    refused = [" ".join(re.sub(r"<[^>]+>", " ", a.text.split("<main", 1)[-1]).split())[:300]
               for a in answers if a.status != 303]
    return {"answers": [a.status for a in answers], "activations": stored, "refusals": sorted(set(refused))}


def _queue_sweeps(env: dict[str, str], count: int) -> None:
    """Queue the billing sweep `count` times at once on the shared queue (each worker takes one)."""
    code = ("from portal import jobs\n"
            f"for _ in range({count}):\n    jobs.run_billing_sweep()\n")
    subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, check=True, timeout=60)


def _page_rotation(url: str, folder: Path) -> dict:
    """A wrk script asking, in turn, for every main page of the customer's administrator in bench/pages.py (the
    data set's ids filled in): (its path, how many pages)."""
    from bench.pages import ALL, CUSTOMER_ADMIN
    from bench.portal import lookup_params, lua_string

    params = lookup_params(url)
    paths = [page.url(params) for page in ALL if page.role == CUSTOMER_ADMIN and page.is_main]
    script = folder / "page-rotation.lua"
    script.write_text("paths = {" + ", ".join(lua_string(path) for path in paths) + "}\n"
                      "i = 0\n"
                      "request = function()\n"
                      "  i = i % #paths + 1\n"
                      "  return wrk.format(\"GET\", paths[i])\n"
                      "end\n")
    return {"script": str(script), "count": len(paths)}


MAIL_CLAIM_SECONDS = 30  # PORTAL_MAIL_CLAIM_SECONDS for the run (its least)


def _wait_for(check, timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def run(options) -> dict:
    figures, checks = {}, {}
    with ExitStack() as stack:
        url = stack.enter_context(scratch_database(options, "scale"))
        print(f"generating the data set at scale {options.scale} …", flush=True)
        _prepare(url, options.scale, options.seed)
        key = _usage_key(url)
        _redis_flush(options.redis_url)
        stack.callback(_redis_flush, options.redis_url)
        sink = stack.enter_context(SmtpSink())
        instance = Path(options.results_dir) / "scale-out"
        instance.mkdir(parents=True, exist_ok=True)
        env = bench_environment(url, instance, sql_count=False)
        env.update({"PORTAL_REDIS_URL": options.redis_url, "PORTAL_SMTP_HOST": "127.0.0.1",
                    "PORTAL_SMTP_PORT": str(sink.port), "PORTAL_LOGIN_LIMIT": f"{LOGIN_LIMIT} per 15 minutes",
                    # An e-mail the killed worker was sending is taken over once its claim runs out: the shortest.
                    "PORTAL_MAIL_CLAIM_SECONDS": str(MAIL_CLAIM_SECONDS)})
        servers = [stack.enter_context(gunicorn(f"scale-{n}", "wsgi:app", env, instance, probe="/healthz"))
                   for n in range(options.servers)]
        workers = []
        for n in range(options.servers):
            log = stack.enter_context(open(instance / f"worker-{n}.log", "w"))
            worker = start_group([sys.executable, "-m", "flask", "--app", "portal", "worker", "-w", "2"],
                                 cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(stop_group, worker)
            workers.append(worker)
        bases = [server.base for server in servers]
        alive = [True] * len(bases)

        # Pages: wrk on every server at once, logged in as the bench customer, going round every page of the page
        # benchmark (bench/pages.py) that the customer's administrator opens.
        sessions = [login(base, BENCH_USERS[("customer", "admin")], BENCH_PASSWORD) for base in bases]
        rotation = _page_rotation(url, instance)
        figures["pages_in_rotation"] = rotation["count"]
        results: dict[int, dict] = {}

        def drive(n: int) -> None:
            results[n] = latency.wrk(["--script", rotation["script"], "--header",
                                      f"Cookie: {sessions[n].cookie_header()}", f"{bases[n]}/customer/"],
                                     options.seconds)

        threads = [threading.Thread(target=drive, args=(n,)) for n in range(len(bases))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        figures["pages"] = {f"server {n + 1}": results[n] for n in range(len(bases))}
        figures["pages_rps_together"] = round(sum(r["rps"] for r in results.values()), 1)
        figures["pages_p99_ms_worst"] = max(r["p99_ms"] for r in results.values())
        checks["pages answered without errors"] = all(
            r["non_2xx_3xx"] == 0 and r["socket_errors"] == 0 for r in results.values())

        # Failed logins for one account spread over the servers: the shared limit trips where one server's does.
        tripped = _failed_logins(bases, BENCH_USERS[("customer", "member")], LOGIN_LIMIT + 3)
        checks[f"login limit tripped after {LOGIN_LIMIT} failures across servers"] = tripped == LOGIN_LIMIT + 1
        figures["login_limit_tripped_at_attempt"] = tripped

        # One cart confirmed 8 times at once through every server: one activation, every answer the same.
        race = _activation_race(bases, sessions[0], url)
        figures["activation_race"] = race
        checks["a cart confirmed 8 times at once across servers activates once"] = (
            race["activations"] == 1 and set(race["answers"]) == {303})

        # Sign-ups, then usage batches (one server and one worker killed halfway), the sweep on every worker.
        signed_up = _signups(bases, 8)  # under the sign-up limit per address
        figures["signups"] = signed_up
        sweep_started = time.perf_counter()
        _queue_sweeps(env, len(workers))
        bodies, unique, repeats = make_batches(options.batches, options.seed, datetime.now(UTC))
        killed = {}

        killed_at: list[float] = []

        def kill_one() -> None:
            if options.no_kill or len(bases) < 2:
                return
            alive[-1] = False
            os.killpg(servers[-1].process.pid, signal.SIGKILL)
            os.killpg(workers[-1].pid, signal.SIGKILL)
            killed["at_batch"] = len(bodies) // 2
            killed_at.append(time.monotonic())

        seconds, sent = _post_usage(bases, alive, key, bodies, len(bodies) // 2, kill_one)
        figures["usage_events_per_second"] = round((unique + repeats) / seconds)
        figures["killed"] = killed or None
        stored = _scalar(url, "SELECT count(*) FROM usage_event WHERE event_id LIKE 'bench-%'")
        checks["each usage event stored once"] = stored == unique and sent == len(bodies)
        figures["usage_events"] = {"sent": unique + repeats, "unique": unique, "stored": stored}

        due_sql = ("SELECT count(*) FROM subscription WHERE status IN ('active', 'trial') "
                   "AND current_period_end <= :now")
        now = datetime.now(UTC).replace(tzinfo=None)
        finished = _wait_for(lambda: _scalar(url, due_sql, now=now) == 0, timeout=600, step=1)
        if not finished:  # the worker killed mid-sweep: the next hourly run finishes it; here, run it now
            subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "billing-run"], env=env,
                           cwd=PROJECT_ROOT, check=True, timeout=600, stdout=subprocess.DEVNULL)
        sweep_seconds = time.perf_counter() - sweep_started
        invoices = _scalar(url, "SELECT count(*) FROM invoice WHERE period_key LIKE 'sub:%' AND issued_at >= :since",
                           since=now - timedelta(hours=1))
        doubled = _scalar(url, "SELECT count(*) FROM (SELECT period_key FROM invoice WHERE period_key IS NOT NULL "
                               "GROUP BY period_key HAVING count(*) > 1) AS twice")
        checks["one invoice per subscription and period"] = doubled == 0
        checks["no due subscription left unbilled"] = _scalar(url, due_sql, now=now) == 0
        figures["sweep"] = {"invoices": invoices, "seconds": round(sweep_seconds, 1),
                            "invoices_per_second": round(invoices / sweep_seconds, 1) if sweep_seconds else None,
                            "finished_by_workers": finished}

        # E-mail: whatever a dead worker held is sent by the safety net (a message it was sending once its claim has
        # run out); every message arrives exactly once.
        if killed_at:
            time.sleep(max(killed_at[0] + MAIL_CLAIM_SECONDS + 2 - time.monotonic(), 0))
        subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "send-outbox"], env=env, cwd=PROJECT_ROOT,
                       timeout=300, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The sweep's invoices are still being paid by the workers (auto-pay), each payment queueing its receipt:
        # compare once the outbox and the sink have both stopped moving (the same counts two polls apart).
        seen: list = []

        def settled() -> bool:
            with sink.lock:
                counts = (_scalar(url, "SELECT count(*) FROM outbox_message"), len(sink.received))
            seen.append(counts)
            return len(seen) > 1 and seen[-2] == counts and counts[1] >= counts[0]

        _wait_for(settled, timeout=120, step=2)
        queued = _scalar(url, "SELECT count(*) FROM outbox_message")
        with sink.lock:
            received = list(sink.received)
        checks["every queued e-mail received exactly once"] = len(received) == len(set(received)) == queued
        figures["emails"] = {"queued": queued, "received": len(received), "distinct": len(set(received))}
    return {"figures": figures, "checks": checks}


def _usage_key(url: str) -> str:
    import secrets

    from portal import create_app
    from portal.extensions import db
    from portal.services.accounts import integration
    from portal.services.accounts import organisations as accounts

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_urlsafe(32)})
    with app.app_context():
        org = accounts.create_organisation("customer", "Scale Usage SpA", "CL")
        key = integration.generate_key(org, None)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return key


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out", description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0, help="wrk duration per server")
    parser.add_argument("--batches", type=int, default=60, help="usage batches of 1,000 events")
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--no-kill", action="store_true", help="keep every server and worker running")
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    os.environ.setdefault("PORTAL_LOG_LEVEL", "WARNING")  # this process's own app (the data set, the SMTP sink)
    outcome = run(options)
    print(json.dumps(outcome, indent=2))
    failed = [name for name, ok in outcome["checks"].items() if not ok]
    for name, ok in outcome["checks"].items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
