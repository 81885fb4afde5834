"""P5: the billing sweep — renewing the generated data set's subscriptions, in invoices per second.

    python -m bench.sweep [--quick] [--scale 0.01] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                          [--profile]

On a copy of the large data set at --scale (bench/databases.py), the clock is moved a month at a time past
the current periods, and each month `run_sweep(now)` (portal/workflows/billing_run.py, what `vitrine
billing-run --now` does) closes every period that ended: trials become active, the rest renew, each with its
invoice. Measured on SQLite and on PostgreSQL: the server of --database-url, else the local one when it answers
(QUALITY.md's bar holds for both). Each month is checked: the invoices written equal the periods closed and
the subscriptions that were due, none is left due, and a second run at the same moment closes and bills
nothing. The SQL statements per invoice are counted; --profile writes a pyinstrument profile of the sweeps.

Auto-pay: half of the customers pay by themselves (bench/dataset/payments.py: a sandbox card, or wallet funds).
The attempts each month's sweep hands over are then run as the job runs them (`attempt_batch`), timed apart:
accounts charged per second, statements per account, and the month's invoices per second of sweep and charges
together; each is checked — every invoice of such a payer paid, and the same attempts again charge nothing.
The receipts are stored to be rendered by the e-mail worker that sends them; that rendering is timed apart
(e-mails per second), as the worker's work, not the sweep's.
"""

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine, event, text

import bench
from bench.databases import LOCAL_POSTGRES, postgres_server, scratch_job_queue
from bench.generate import GenerateError

QUICK_MONTHS, FULL_MONTHS = 3, 6
BAR_INVOICES_PER_SECOND = 1_000


@contextmanager
def counting_statements(engine):
    """Count the SQL statements sent through `engine` inside the block: `counter["statements"]`."""
    counter = {"statements": 0}

    def count(*_args):
        counter["statements"] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def server_cpu_seconds() -> float | None:
    """CPU time used so far by the PostgreSQL server processes of the current database, when the server runs on
    this machine (read from /proc); None on SQLite, or when it cannot be read."""
    from portal.extensions import db

    if db.engine.dialect.name != "postgresql" or db.engine.url.host not in (None, "", "localhost", "127.0.0.1", "::1"):
        return None
    pids = db.session.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).all()
    db.session.commit()
    total = 0.0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    except (OSError, ValueError, IndexError):
        return None
    return total


def due_subscriptions(now: datetime) -> int:
    from portal.extensions import db
    from portal.models import Subscription
    from portal.services.billing.rules import LIVE_STATUSES

    return db.session.scalar(db.select(db.func.count()).select_from(Subscription).where(
        Subscription.status.in_(LIVE_STATUSES), Subscription.current_period_end <= now))


def invoice_count() -> int:
    """The periods billed so far: subscriptions' own invoices, and lines of resellers' consolidated invoices."""
    from portal.extensions import db
    from portal.models import Invoice, InvoiceLine

    own = db.session.scalar(db.select(db.func.count()).select_from(Invoice)
                            .where(db.not_(Invoice.period_key.like("reseller:%"))))
    resold = db.session.scalar(db.select(db.func.count()).select_from(InvoiceLine)
                               .where(InvoiceLine.period_key.is_not(None)))
    return own + resold


def sweep_month(now: datetime, engine) -> dict:
    """One billing run at `now`, then a second one at the same moment; the figures and checks of both."""
    from portal.extensions import db
    from portal.services import hooks
    from portal.workflows.billing_run import run_sweep

    due, before, last_id = due_subscriptions(now), invoice_count(), last_invoice_id()
    last_payment = last_payment_id()
    db.session.commit()
    attempts: list = []
    server = server_cpu_seconds()
    cpu = time.process_time()
    with counting_statements(engine) as counter, hooks.handled_by("auto_pay", attempts.extend):
        result = run_sweep(now)
    cpu = time.process_time() - cpu
    server_after = server_cpu_seconds()
    server = server_after - server if server is not None and server_after is not None else None
    server = server if server is None or server >= 0 else None  # a server process ended meanwhile
    written = invoice_count() - before
    left = due_subscriptions(now)
    db.session.commit()
    paying = auto_pay_run(attempts, now, engine, last_payment)
    with hooks.handled_by("auto_pay", lambda _attempts: None):
        again = run_sweep(now)
    rewritten = invoice_count() - before - written
    db.session.commit()
    return {
        "now": now.isoformat(), "due": due, "closed": result.closed, "invoices": result.invoices,
        "activated": result.activated, "renewed": result.renewed, "skipped": len(result.skipped),
        "batches": result.batches, "seconds": round(result.seconds, 3), "cpu_seconds": round(cpu, 3),
        "server_cpu_seconds": round(server, 3) if server is not None else None,
        "invoices_per_second": round(result.invoices / result.seconds) if result.seconds else 0,
        "statements": counter["statements"], "invoices_written": written, "left_due": left,
        "auto_pay_invoices": auto_pay_invoices(last_id), "auto_pay": paying,
        "second_run": {"closed": again.closed, "invoices": again.invoices, "invoices_written": rewritten},
        # Every period of the data set that closes renews or activates with an invoice (no suspension or
        # cancellation is scheduled in it): one invoice per subscription that was due, none twice; every
        # invoice of a payer that pays by itself is paid, once. A period a reseller pays for is a line of its
        # consolidated invoice, issued once its month has ended.
        "correct": (written == result.closed == due == result.activated + result.renewed
                    and not result.skipped and left == 0 and again.closed == rewritten == 0
                    and paying["correct"]),
    }


def last_payment_id() -> int:
    from portal.extensions import db
    from portal.models import Payment

    return db.session.scalar(db.select(db.func.coalesce(db.func.max(Payment.id), 0)))


def auto_pay_run(attempts: list, now: datetime, engine, after_payment: int) -> dict:
    """The auto-pay attempts the sweep handed over (one per invoice it issued), run as the job runs them, timed
    apart: the wallet first where the payer chose it, then the auto-pay card (the sandbox, which answers at
    once; its webhooks and the receipts are queued, not delivered). Then the same attempts again: nothing more
    is charged. The receipts it queued are then rendered as their sender would, and timed apart."""
    from portal.extensions import db
    from portal.models import Invoice, OutboxMessage, Payment, PaymentMethod, WalletSettings
    from portal.workflows.auto_pay import attempt_batch

    last_message = db.session.scalar(db.select(db.func.coalesce(db.func.max(OutboxMessage.id), 0)))
    db.session.commit()
    cpu, started = time.process_time(), time.perf_counter()
    with counting_statements(engine) as counter:
        attempt_batch(attempts, now)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    db.session.commit()
    made = db.session.execute(db.select(db.func.count(Payment.id), db.func.count(Payment.organisation_id.distinct()))
                              .where(Payment.id > after_payment)).one()
    invoice_ids = [invoice_id for invoice_id, _attempt in attempts]
    pays_itself = db.select(PaymentMethod.organisation_id).where(PaymentMethod.auto_pay.is_(True)).union(
        db.select(WalletSettings.organisation_id).where(WalletSettings.pay_from_wallet.is_(True)))
    expected = paid = 0
    for chunk in range(0, len(invoice_ids), 5_000):
        ids = invoice_ids[chunk:chunk + 5_000]
        expected += db.session.scalar(db.select(db.func.count(Invoice.id)).where(
            Invoice.id.in_(ids), Invoice.total > 0, Invoice.organisation_id.in_(pays_itself))) or 0
        paid += db.session.scalar(db.select(db.func.count(Invoice.id)).where(
            Invoice.id.in_(ids), Invoice.total > 0, Invoice.status == "paid",
            Invoice.organisation_id.in_(pays_itself))) or 0
    attempt_batch(attempts, now)
    db.session.commit()
    receipts = render_receipts(last_message)
    again = db.session.scalar(db.select(db.func.count(Payment.id)).where(Payment.id > after_payment)) - made[0]
    payments, accounts = made
    return {"attempts": len(attempts), "payments": payments, "accounts": accounts, "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu, 3), "statements": counter["statements"],
            "accounts_per_second": round(accounts / seconds) if seconds else 0,
            "invoices_to_pay": expected, "invoices_paid": paid, "payments_again": again, "receipts": receipts,
            "correct": paid == expected and again == 0 and accounts <= payments}


def render_receipts(after_message: int) -> dict:
    """The receipts the run queued, rendered as their sender renders each before its first try
    (services/mail/composing.py `render_stored`), timed apart: work of the e-mail worker, not of the sweep."""
    from portal.extensions import db
    from portal.models import OutboxMessage
    from portal.services.mail.composing import render_stored

    messages = db.session.scalars(db.select(OutboxMessage).where(
        OutboxMessage.id > after_message, OutboxMessage.context.is_not(None))).all()
    started = time.perf_counter()
    for message in messages:
        render_stored(message)
    seconds = time.perf_counter() - started
    db.session.rollback()  # measured only: each stays for its sender
    return {"messages": len(messages), "seconds": round(seconds, 3)}


def accounts_with_auto_pay(url: str) -> tuple[int, int]:
    """(customers that pay by themselves — an auto-pay card, or renewals paid from the wallet —, customers) of
    the data set."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            paying = connection.execute(text(
                "SELECT count(*) FROM (SELECT organisation_id FROM payment_method WHERE auto_pay UNION "
                "SELECT organisation_id FROM wallet_settings WHERE pay_from_wallet) AS paying")).scalar_one()
            customers = connection.execute(text(
                "SELECT count(*) FROM organisation WHERE kind = 'customer'")).scalar_one()
    finally:
        engine.dispose()
    return paying, customers


def last_invoice_id() -> int:
    from portal.extensions import db
    from portal.models import Invoice

    return db.session.scalar(db.select(db.func.coalesce(db.func.max(Invoice.id), 0)))


def auto_pay_invoices(after_id: int) -> int:
    """Invoices issued after `after_id` to customers that pay by themselves (an auto-pay card or the wallet)."""
    from portal.extensions import db
    from portal.models import Invoice, PaymentMethod, WalletSettings

    return db.session.scalar(db.select(db.func.count(Invoice.id)).where(
        Invoice.id > after_id, Invoice.organisation_id.in_(
            db.select(PaymentMethod.organisation_id).where(PaymentMethod.auto_pay.is_(True)).union(
                db.select(WalletSettings.organisation_id).where(WalletSettings.pay_from_wallet.is_(True)))))) or 0


def measure(label: str, url: str, day: date, options, months: int) -> dict:
    """`months` monthly billing runs on the data set at `url`, generated for `day`."""
    from portal import create_app
    from portal.extensions import db
    from portal.services.billing.rules import add_months

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    profiler = None
    if getattr(options, "profile", False):
        from pyinstrument import Profiler

        profiler = Profiler()
    queue = Path(options.results_dir) / f"sweep-jobs-{label}-{time.time_ns()}"
    runs = []
    with app.app_context(), scratch_job_queue(queue, "vitrine-bench-sweep"):
        if profiler:
            profiler.start()
        for month in range(1, months + 1):
            found = sweep_month(add_months(start, month), db.engine)
            runs.append(found)
            server = found["server_cpu_seconds"]
            paying = found["auto_pay"]
            print(f"    {label} month {month}: {found['invoices']:,} invoices in {found['seconds']:.2f} s "
                  f"({found['invoices_per_second']:,}/s; CPU {found['cpu_seconds']:.2f} s here"
                  f"{'' if server is None else f' + {server:.2f} s in PostgreSQL'}), {found['statements']} statements;"
                  f" auto-pay {paying['accounts']:,} accounts ({paying['payments']:,} payments) in "
                  f"{paying['seconds']:.2f} s ({paying['accounts_per_second']:,}/s), {paying['statements']} statements"
                  f"{'' if found['correct'] else ' — CHECK FAILED'}")
        if profiler:
            profiler.stop()
            path = Path(options.results_dir) / f"sweep-profile-{label}.html"
            path.write_text(profiler.output_html())
            print(f"    profile: {path}")
        db.session.remove()
        db.engine.dispose()
    invoices = sum(run["invoices"] for run in runs)
    auto_paid = sum(run["auto_pay_invoices"] for run in runs)
    seconds = sum(run["seconds"] for run in runs)
    paying = [run["auto_pay"] for run in runs]
    pay_seconds = sum(found["seconds"] for found in paying)
    accounts = sum(found["accounts"] for found in paying)
    with_pay = seconds + pay_seconds
    cpu = sum(run["cpu_seconds"] + (run["server_cpu_seconds"] or 0) for run in runs)
    slowest = min(runs, key=lambda run: run["invoices_per_second"]) if runs else None
    return {
        "database": label, "months": months, "invoices": invoices, "seconds": round(seconds, 3),
        "invoices_per_second": round(invoices / seconds) if seconds else 0,
        # The sweep and the auto-pay charges it hands over, as the month's invoices per second of both.
        "with_auto_pay_invoices_per_second": round(invoices / with_pay) if with_pay else 0,
        "auto_pay_accounts_per_second": round(accounts / pay_seconds) if pay_seconds else 0,
        "auto_pay_charged_accounts": accounts, "auto_pay_payments": sum(found["payments"] for found in paying),
        "auto_pay_seconds": round(pay_seconds, 3),
        # Rendered by the e-mail worker before it sends each (not part of the sweep's time).
        "receipts_rendered_per_second": round(sum(found["receipts"]["messages"] for found in paying) / rendering)
        if (rendering := sum(found["receipts"]["seconds"] for found in paying)) else 0,
        "auto_pay_statements_per_account": round(sum(found["statements"] for found in paying) / accounts, 2)
        if accounts else None,
        # A month that was slow (load, a plan gone wrong, a growing table) must not hide behind the average.
        "slowest_month": {"now": slowest["now"], "invoices": slowest["invoices"],
                          "invoices_per_second": slowest["invoices_per_second"]} if slowest else None,
        # Per second of CPU, the sweep's and (PostgreSQL on this machine) the database server's: what the
        # sweep would do on an idle machine, less sensitive than the clock to other work sharing it.
        "cpu_invoices_per_second": round(invoices / cpu) if cpu else 0,
        "statements_per_invoice": round(sum(run["statements"] for run in runs) / invoices, 2) if invoices else None,
        "correct": bool(invoices) and all(run["correct"] for run in runs), "runs": runs,
        "auto_pay_accounts": accounts_with_auto_pay(url), "auto_pay_invoices": auto_paid,
    }


def run(options) -> dict:
    """P5 on SQLite and on PostgreSQL; see the module's docstring."""
    from bench.databases import generated_database

    months = QUICK_MONTHS if options.quick else FULL_MONTHS
    server = postgres_server(options.database_url)
    targets = [("SQLite", None)] + ([("PostgreSQL", server)] if server else [])
    runs = []
    for label, database_url in targets:
        scoped = argparse.Namespace(**{**vars(options), "database_url": database_url})
        print(f"  {label}: {months} monthly billing runs on the data set at scale {options.scale:g}")
        with generated_database(scoped, options.scale, report=lambda line: print(f"    {line}")) as (url, data):
            runs.append(measure(label, url, date.fromisoformat(data["day"]), options, months))
    figures = []
    for found in runs:
        figures.append({"name": f"P5 billing sweep, {found['database']}", "value": found["invoices_per_second"],
                        "unit": "invoices/s", "bar": f"≥ {BAR_INVOICES_PER_SECOND:,}",
                        "ok": found["invoices_per_second"] >= BAR_INVOICES_PER_SECOND})
        slowest = found["slowest_month"]
        if slowest:
            figures.append({"name": f"P5 slowest month ({slowest['now'][:10]}), {found['database']}",
                            "value": slowest["invoices_per_second"], "unit": "invoices/s",
                            "bar": f"≥ {BAR_INVOICES_PER_SECOND:,}",
                            "ok": slowest["invoices_per_second"] >= BAR_INVOICES_PER_SECOND})
        figures.append({"name": f"P5 one invoice per due period, none twice, {found['database']}",
                        "value": f"{found['invoices']:,} invoices in {found['months']} runs", "unit": "",
                        "bar": "equal", "ok": found["correct"]})
        accounts, customers = found["auto_pay_accounts"]
        figures.append({"name": f"P5 accounts with auto-pay on, {found['database']}",
                        "value": f"{accounts:,} of {customers:,} customers; {found['auto_pay_invoices']:,} invoices "
                                 f"handed to auto-pay", "unit": "", "bar": "half", "ok": None})
        figures.append({"name": f"P5 billing sweep with its auto-pay charges, {found['database']}",
                        "value": found["with_auto_pay_invoices_per_second"], "unit": "invoices/s",
                        "bar": f"≥ {BAR_INVOICES_PER_SECOND:,}",
                        "ok": found["with_auto_pay_invoices_per_second"] >= BAR_INVOICES_PER_SECOND})
        figures.append({"name": f"P5 auto-pay charges, {found['database']}",
                        "value": found["auto_pay_accounts_per_second"], "unit": "accounts/s",
                        "bar": "", "ok": None})
        figures.append({"name": f"P5 receipts rendered by the e-mail worker, {found['database']}",
                        "value": found["receipts_rendered_per_second"], "unit": "e-mails/s", "bar": "",
                        "ok": None})
        figures.append({"name": f"P5 auto-pay SQL statements per account charged, {found['database']}",
                        "value": found["auto_pay_statements_per_account"], "unit": "", "bar": "", "ok": None})
        figures.append({"name": f"P5 invoices per CPU-second (sweep + database), {found['database']}",
                        "value": found["cpu_invoices_per_second"], "unit": "invoices/s", "bar": "", "ok": None})
        figures.append({"name": f"P5 SQL statements per invoice, {found['database']}",
                        "value": found["statements_per_invoice"], "unit": "", "bar": "", "ok": None})
    if not server:
        figures.append({"name": "P5 billing sweep, PostgreSQL", "value": "no server answered", "unit": "",
                        "bar": f"≥ {BAR_INVOICES_PER_SECOND:,}", "ok": None})
    return {"figures": figures, "runs": runs}


def main(argv=None) -> int:
    from bench.report import print_suite

    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_MONTHS} monthly runs instead of {FULL_MONTHS}")
    parser.add_argument("--scale", type=float, default=0.01, help="data set scale: 1 = QUALITY.md's large data set")
    parser.add_argument("--database-url", default=None,
                        help=f"the PostgreSQL server to measure on (default: {LOCAL_POSTGRES}, when it answers)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="write a pyinstrument profile per database")
    parser.add_argument("--results-dir", type=Path, default=bench.RESULTS_DIR)
    options = parser.parse_args(argv)
    if not 0 < options.scale <= 10:
        parser.error("--scale must be above 0 and at most 10")
    if options.database_url and not options.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL server URL (SQLite is always measured)")
    options.results_dir = options.results_dir.resolve()
    options.data_url = None
    try:
        result = run(options)
    except GenerateError as error:
        print(f"bench.sweep: {error}", file=sys.stderr)
        return 2
    print_suite("sweep", result)
    print(json.dumps([{k: v for k, v in found.items() if k != "runs"} for found in result["runs"]], indent=2))
    return 0 if all(found["correct"] for found in result["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
