"""The billing sweep walks accounts through the months: trials, renewals, overage, repeats, crashes, rivals."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text

from portal.database import writing
from portal.extensions import db
from portal.models import (
    Invoice,
    InvoiceLine,
    Organisation,
    Price,
    Subscription,
    SubscriptionCharge,
    SubscriptionEvent,
    UsageEvent,
)
from portal.services import catalog
from portal.services.billing import credit_notes, invoicing, sweep_reading, usage
from portal.services.billing import subscriptions as subs
from portal.services.billing.rules import PriceBook, add_months
from portal.services.billing.sweep_closing import plan_closing
from portal.workflows.billing_run import run_sweep
from tests import factories
from tests.services.billing_helpers import JAN, assert_adds_up, due_subscriptions, invoices_of, lines_of

PROJECT = Path(__file__).resolve().parents[2]


def _sweep(now, **kwargs):
    kwargs.setdefault("render_pdfs", False)
    return run_sweep(now, **kwargs)


def _customer(country="CL", **fields):
    return factories.make_org("customer", country, **fields)


def _usage(org, metric, quantity, at):
    event = usage.Event(f"u-{at.isoformat()}-{metric}", metric, quantity, at)
    db.session.execute(insert(UsageEvent), [{"organisation_id": org.id, "event_id": event.event_id,
                                             "metric": metric, "quantity": quantity, "occurred_at": at,
                                             "received_at": at}])
    usage.add_to_hours(org.id, [event])


def _invoice_counts() -> dict:
    rows = db.session.execute(db.select(Invoice.subscription_id, Invoice.period_key)
                              .where(Invoice.kind == "invoice")).all()
    return {"invoices": len(rows), "keys": len({key for _sub, key in rows if key})}


def _numbers_are_gapless() -> bool:
    by_series = {}
    for series_id, number in db.session.execute(db.select(Invoice.series_id, Invoice.number)):
        by_series.setdefault(series_id, []).append(number)
    return all(sorted(numbers) == list(range(1, len(numbers) + 1)) for numbers in by_series.values())


# Walking through the months


def test_a_trial_ends_with_the_first_invoice_and_then_renews_every_month(cat):
    org = _customer()
    sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN, items=[(cat.user, 1)])
    trial_end = JAN + timedelta(days=30)
    assert _sweep(trial_end - timedelta(minutes=1)).closed == 0
    result = _sweep(trial_end)
    assert (result.activated, result.invoices) == (1, 1)
    db.session.refresh(sub)
    assert (sub.status, sub.current_period_start, sub.current_period_end) == (
        "active", trial_end, add_months(trial_end, 1))
    for month in range(1, 4):
        _sweep(add_months(trial_end, month) + timedelta(minutes=30))
    invoices = invoices_of(org)
    assert [invoice.period_start for invoice in invoices] == [add_months(trial_end, m) for m in range(4)]
    assert [invoice.number for invoice in invoices] == [1, 2, 3, 4]
    assert all(invoice.total == 13_000 + 2_470 for invoice in invoices)
    events = list(db.session.scalars(db.select(SubscriptionEvent.action)
                                     .where(SubscriptionEvent.subscription_id == sub.id)))
    assert events == ["trial_started", "activated", "renewed", "renewed", "renewed"]


def test_an_annual_subscription_is_invoiced_once_a_year(cat):
    org = _customer()
    subs.start_subscription(org, cat.basic, "CLP", "annual", JAN, trial_days=0, items=[(cat.user, 2)])
    for month in range(1, 13):
        _sweep(add_months(JAN, month))
    first, second = invoices_of(org)
    assert [(line.quantity, line.unit_amount) for line in lines_of(second)] == [(1, 100_000), (2, 36_000)]
    assert (second.period_start, second.period_end) == (add_months(JAN, 12), add_months(JAN, 24))


def test_overage_is_billed_at_the_overage_price_for_the_period_that_ended(cat):
    org = _customer()
    sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN, trial_days=0)
    _usage(org, "documents", 90, JAN + timedelta(days=3))
    _usage(org, "documents", 35, JAN + timedelta(days=20))
    _usage(org, "documents", 1_000, add_months(JAN, 1) + timedelta(days=1))  # next period's
    _usage(org, "users", 50, JAN + timedelta(days=2))  # a level, sold as add-ons: never overage
    _sweep(add_months(JAN, 1))
    renewal = invoices_of(org)[-1]
    [overage] = lines_of(renewal, "overage")
    assert (overage.quantity, overage.unit_amount, overage.amount) == (25, 50, 1_250)
    assert (overage.period_start, overage.period_end) == (JAN, add_months(JAN, 1))
    assert "100" in overage.description
    assert_adds_up(renewal)
    db.session.refresh(sub)
    assert sub.current_period_start == add_months(JAN, 1)


def test_add_on_quotas_raise_the_allowance_and_trials_never_pay_overage(cat):
    catalog.set_quota(cat.module, "documents", 50)
    org = _customer()
    subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN, items=[(cat.module, 2)])
    _usage(org, "documents", 5_000, JAN + timedelta(days=2))  # during the trial
    trial_end = JAN + timedelta(days=30)
    _usage(org, "documents", 210, trial_end + timedelta(days=2))  # 100 + 2 × 50 included
    _sweep(trial_end)
    assert lines_of(invoices_of(org)[0], "overage") == []
    _sweep(add_months(trial_end, 1))
    [overage] = lines_of(invoices_of(org)[-1], "overage")
    assert overage.quantity == 10


def test_a_reseller_paid_renewal_carries_the_discount_in_the_unit_price_but_not_in_overage(cat):
    reseller = factories.make_org("reseller", "BR")
    org = _customer("BR", reseller_id=reseller.id)
    subs.start_subscription(org, cat.basic, "BRL", "monthly", JAN, trial_days=0, payer=reseller)
    _usage(org, "documents", 104, JAN + timedelta(days=5))
    _sweep(add_months(JAN, 1))
    renewal = invoices_of(reseller)[-1]  # the reseller's consolidated invoice of the month: one line for the client
    [line] = lines_of(renewal)
    assert (line.kind, line.amount) == ("recurring", 2_995 + 4 * 25)  # the plan at 50 % off, the overage at list
    assert "(preço de revenda, 50% de desconto); Documentos eletrônicos além dos 100 incluídos" in line.description
    assert renewal.customer_snapshot["country"] == "BR" and renewal.organisation_id == reseller.id


def test_a_new_price_applies_from_the_next_renewal_and_issued_invoices_keep_theirs(cat):
    org = _customer()
    subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN, trial_days=0)
    catalog.set_price(cat.basic, "CLP", "monthly", 12_000)
    _sweep(add_months(JAN, 1))
    first, second = invoices_of(org)
    assert (lines_of(first)[0].unit_amount, lines_of(second)[0].unit_amount) == (10_000, 12_000)


def test_a_sweep_that_is_late_catches_up_one_invoice_per_period(cat):
    org = _customer()
    subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN, trial_days=0)
    result = _sweep(add_months(JAN, 3) + timedelta(days=1))
    assert result.renewed == 3
    assert [invoice.period_start for invoice in invoices_of(org)] == [add_months(JAN, m) for m in range(4)]


def test_a_past_due_subscription_still_renews(cat):
    org = _customer()
    sub = subs.start_subscription(org, cat.basic, "CLP", "monthly", JAN, trial_days=0)
    sub.status = "past_due"
    db.session.flush()
    _sweep(add_months(JAN, 1))
    assert len(invoices_of(org)) == 2


def test_a_subscription_that_cannot_be_priced_is_reported_and_the_others_renew(cat):
    catalog.set_price(cat.pro, "CLP", "monthly", 30_000)
    org, other = _customer(), _customer()
    broken = subs.start_subscription(org, cat.pro, "CLP", "monthly", JAN, trial_days=0)
    subs.start_subscription(other, cat.basic, "CLP", "monthly", JAN, trial_days=0)
    db.session.execute(db.delete(Price).where(Price.product_id == cat.pro.id, Price.period == "monthly"))
    result = _sweep(add_months(JAN, 1))
    assert result.renewed == 1 and list(result.skipped) == [broken.id]
    assert "no monthly price in CLP" in result.skipped[broken.id]
    db.session.refresh(broken)
    assert broken.current_period_start == JAN  # left due, for the next run once the price is back


def _invoices_by_period() -> dict:
    """Every invoice's columns (but its id) and its lines' columns, by period key."""
    found = {}
    for invoice in db.session.scalars(db.select(Invoice).where(Invoice.kind == "invoice")):
        columns = {c.key: getattr(invoice, c.key) for c in Invoice.__table__.columns if c.key != "id"}
        columns["lines"] = [{c.key: getattr(line, c.key) for c in InvoiceLine.__table__.columns
                             if c.key not in ("id", "invoice_id")} for line in lines_of(invoice)]
        found[invoice.period_key] = columns
    return found


def test_the_sweep_issues_the_invoices_invoicing_issues_for_the_same_lines(cat, monkeypatch):
    """The bulk writer (COPY on PostgreSQL, a statement per row on SQLite) opens each invoice by invoicing's
    rules: the same totals, number, status, due date and snapshots as `issue_invoice` gives the same lines, also
    for a renewal that a credit brings to nothing to pay (paid when issued, never due)."""
    monkeypatch.setattr(invoicing, "queue_pdf", lambda _ids: None)
    ids = due_subscriptions(cat, 12)
    credit = SubscriptionCharge(subscription_id=ids[3], kind="credit", reason="quantity_decrease",
                                product_id=cat.user.id, quantity=1, unit_amount=16_000, amount=-16_000,
                                period_start=JAN, period_end=add_months(JAN, 1), created_at=JAN)
    db.session.add(credit)
    db.session.commit()
    now = add_months(JAN, 1)

    by_hand = db.session.begin_nested()
    book, ctx = PriceBook.load(), invoicing.load_context()
    rows = db.session.execute(sweep_reading.due(now, 0, 100)).all()
    batch = sweep_reading.read_batch(rows)
    for row in rows:
        closing = plan_closing(row, batch.items.get(row.id, []), batch.pending.get(row.id, []), book,
                               batch.payers[row.payer_id], batch.metered.get(row.id), batch.usage.get(row.id, {}))
        invoicing.issue_invoice(db.session.get(Organisation, row.payer_id), row.currency, closing.lines, now,
                                subscription=db.session.get(Subscription, row.id), period=closing.period,
                                period_key=closing.key, ctx=ctx)
    db.session.flush()
    expected = _invoices_by_period()
    by_hand.rollback()
    assert _invoice_counts()["invoices"] == 0

    assert _sweep(now, batch_size=5).invoices == 12
    swept = _invoices_by_period()
    assert swept == expected
    [nothing_to_pay] = [invoice for invoice in swept.values() if invoice["subscription_id"] == ids[3]]
    assert (nothing_to_pay["total"], nothing_to_pay["status"], nothing_to_pay["paid_at"],
            nothing_to_pay["due_at"]) == (0, "paid", now, None)
    db.session.refresh(credit)
    assert credit.collected_at == now and credit.invoice_id is not None


# Repeating, interrupting, competing


def test_a_second_sweep_finds_nothing_to_do(cat):
    due_subscriptions(cat, 30)
    first = _sweep(add_months(JAN, 1), batch_size=7)
    before = _invoice_counts()
    second = _sweep(add_months(JAN, 1), batch_size=7)
    assert (first.invoices, second.closed, second.invoices) == (30, 0, 0)
    assert _invoice_counts() == before == {"invoices": 30, "keys": 30}


def test_a_sweep_killed_after_some_batches_is_finished_by_the_next_run(cat):
    due_subscriptions(cat, 25)
    db.session.commit()

    def crash(result):
        if result.batches == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        _sweep(add_months(JAN, 1), batch_size=10, on_batch=crash)
    db.session.rollback()
    assert _invoice_counts()["invoices"] == 20  # two whole batches, nothing of the third
    rerun = _sweep(add_months(JAN, 1), batch_size=10)
    assert rerun.invoices == 5
    assert _invoice_counts() == {"invoices": 25, "keys": 25}
    assert _numbers_are_gapless()


def test_two_sweeps_at_once_bill_each_period_once_with_gapless_numbers(app, cat):
    due_subscriptions(cat, 120)
    db.session.commit()
    results, errors = [], []

    def sweep():
        try:
            with app.app_context():
                results.append(_sweep(add_months(JAN, 1), batch_size=10))
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(result.invoices for result in results) == 120
    assert _invoice_counts() == {"invoices": 120, "keys": 120}
    assert _numbers_are_gapless()
    lines = db.session.scalar(db.select(db.func.count()).select_from(InvoiceLine))
    assert lines == 240


def _billing_run(database_url: str, instance: Path, now: str, batch_size: int = 500) -> subprocess.Popen:
    env = dict(os.environ, PORTAL_DATABASE_URL=database_url, PORTAL_INSTANCE_PATH=str(instance))
    env.pop("PORTAL_REDIS_URL", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "portal", "billing-run", "--now", now,
                             "--batch-size", str(batch_size)], cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _count_invoices(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM invoice")).scalar_one()
    finally:
        engine.dispose()


def test_two_billing_run_processes_at_once(cat, database_url, tmp_path):
    due_subscriptions(cat, 300)
    db.session.commit()
    now = add_months(JAN, 1).isoformat()
    runs = [_billing_run(database_url, tmp_path / f"i{n}", now, batch_size=25) for n in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert _invoice_counts() == {"invoices": 300, "keys": 300}
    assert _numbers_are_gapless()


def test_a_billing_run_killed_mid_sweep_then_restarted_misses_nothing_and_doubles_nothing(cat, database_url,
                                                                                          tmp_path):
    due_subscriptions(cat, 1_500)
    db.session.commit()
    now = add_months(JAN, 1).isoformat()
    run = _billing_run(database_url, tmp_path / "first", now, batch_size=20)
    deadline = time.monotonic() + 120
    while _count_invoices(database_url) == 0 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=60)
    done = _count_invoices(database_url)
    assert done % 20 == 0  # whole batches only
    restart = _billing_run(database_url, tmp_path / "second", now)
    output = restart.communicate(timeout=300)
    assert restart.returncode == 0, output
    assert f"{1_500 - done} invoices" in output[0]
    assert _invoice_counts() == {"invoices": 1_500, "keys": 1_500}
    assert _numbers_are_gapless()
    assert db.session.scalar(db.select(db.func.count()).select_from(Subscription)
                             .where(Subscription.current_period_start == add_months(JAN, 1))) == 1_500


# Entry points


def test_the_billing_run_command_reports_what_it_did(cat, runner):
    due_subscriptions(cat, 3)
    db.session.commit()
    result = runner.invoke(args=["billing-run", "--now", add_months(JAN, 1).isoformat()])
    assert result.exit_code == 0, result.output
    assert "3 periods closed" in result.output and "3 invoices" in result.output
    bad = runner.invoke(args=["billing-run", "--now", "next tuesday"])
    assert bad.exit_code != 0 and "ISO" in bad.output


def test_the_hourly_job_sweeps_up_to_now_and_hands_the_invoices_to_the_pdf_job(cat, monkeypatch):
    from portal import jobs
    from portal.orm import utcnow

    rendered = []
    monkeypatch.setattr(jobs, "render_invoice_pdf", rendered.append)

    org = _customer(address="Calle Prat 455, Temuco")
    start = add_months(utcnow(), -1) - timedelta(hours=1)
    subs.start_subscription(org, cat.basic, "CLP", "monthly", start, trial_days=0)
    db.session.commit()
    assert rendered == [invoices_of(org)[0].id]  # the first invoice, issued at the start
    rendered.clear()
    with writing():
        jobs.run_billing_sweep.call_local()
    renewal = invoices_of(org)[-1]
    assert len(invoices_of(org)) == 2 and renewal.period_start == add_months(start, 1)
    assert rendered == [renewal.id]
    assert credit_notes.amount_due(renewal) == renewal.total
