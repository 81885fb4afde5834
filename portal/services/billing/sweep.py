"""The billing sweep: everything due at `now` and not yet done, in batches, safe to repeat and to interrupt.

A subscription is due when its period has ended (`current_period_end <= now`) and it is in trial, active or
past due. Closing its period does, in one go: a trial becomes active and gets its first invoice; a period
renews, applying a downgrade that waited for it, with one invoice that charges the next period in advance
(plan + add-ons × quantity, the reseller's discount in the unit price), the overage of the period that ended
and the prorated charges and credits collected since; a monthly suspension or a cancellation takes effect,
with a last invoice for the overage and the charges left, if any.

Safety. Each batch is one transaction: its subscriptions are read and locked (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so two sweeps take different batches; SQLite's BEGIN IMMEDIATE lets one writer in at a time), and
their invoices, lines, events and new periods commit together or not at all. The invoice that opens a period
carries the unique `period_key` "sub:<id>:<period start>", so a period is never billed twice. A sweep killed
halfway leaves whole batches behind; the next run finds the rest still due and finishes them. Numbers are
reserved per batch and series under the series' row lock (see invoicing), so they never repeat nor skip.

Speed. The catalog, prices, tax rates and series are read once per run; each batch reads its subscriptions,
add-ons, pending charges, payers and usage in a handful of grouped queries, and writes with bulk statements.
"""

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from babel.numbers import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import NullType, UserDefinedType

from portal.database import writing
from portal.extensions import db
from portal.models import (
    Invoice,
    InvoiceLine,
    Organisation,
    Subscription,
    SubscriptionCharge,
    SubscriptionEvent,
    SubscriptionItem,
    UsageEvent,
)
from portal.orm import UTCDateTime
from portal.services.billing import invoicing, money
from portal.services.billing.rules import (
    LIVE_STATUSES,
    METERED_METRICS,
    MONTHS,
    LineSpec,
    MissingPrice,
    PriceBook,
    describe,
    metric_name,
    next_period,
    period_key,
    recurring_line,
)
from portal.services.errors import DomainError

log = logging.getLogger(__name__)

BATCH_SIZE = 500
_SUB_COLUMNS = (
    Subscription.id, Subscription.organisation_id, Subscription.payer_id, Subscription.plan_id,
    Subscription.currency, Subscription.period, Subscription.status, Subscription.discount_bp,
    Subscription.current_period_start, Subscription.current_period_end, Subscription.pending_plan_id,
    Subscription.suspend_at_period_end, Subscription.cancel_at_period_end, Subscription.suspended_at,
    Subscription.cancelled_at,
)
_PAYER_COLUMNS = (Organisation.id, Organisation.name, Organisation.trade_name, Organisation.tax_id,
                  Organisation.address, Organisation.country, Organisation.phone, Organisation.timezone,
                  Organisation.locale)
tax_for = lru_cache(maxsize=65_536)(money.tax_for)
# A payer's snapshot is a pure function of its row (_PAYER_COLUMNS, all of them in the key): formatting and
# validating tax ids once per payer and run, not once per batch, keeps it out of the sweep's profile.
customer_snapshot = lru_cache(maxsize=65_536)(invoicing.customer_snapshot)


@dataclass
class SweepResult:
    """What a run did: periods closed, invoices issued, and subscriptions it could not renew (id → why)."""

    closed: int = 0
    invoices: int = 0
    activated: int = 0
    renewed: int = 0
    suspended: int = 0
    cancelled: int = 0
    plan_changes: int = 0
    credit_notes: int = 0
    batches: int = 0
    seconds: float = 0.0
    skipped: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in ("closed", "invoices", "activated", "renewed", "suspended",
                                                          "cancelled", "plan_changes", "credit_notes", "batches",
                                                          "seconds")} | {"skipped": len(self.skipped)}


@dataclass
class Closing:
    """How one subscription's period closes: its new state, its invoice (if any) and what it collects."""

    sub: object
    values: dict  # the subscription's columns after closing
    action: str
    details: dict
    lines: list[LineSpec] = field(default_factory=list)
    key: str | None = None
    period: tuple[datetime, datetime] | None = None
    collected: list[int] = field(default_factory=list)  # charge ids taken as lines
    leftover_credits: list[int] = field(default_factory=list)  # credits to refund by credit note
    waived: list[int] = field(default_factory=list)  # charges dropped (a trial ends unpaid)


# Running


def run_sweep(now: datetime, batch_size: int = BATCH_SIZE, commit: bool = True, render_pdfs: bool = True,
              on_batch=None) -> SweepResult:
    """Close every period due at `now`; commit once per batch (or only flush, with commit=False).

    `on_batch(result)` is called after each batch (progress reports; tests raise from it to interrupt)."""
    started = time.perf_counter()
    result = SweepResult()
    with writing():
        book, ctx = PriceBook.load(), invoicing.load_context()
        if commit:
            db.session.commit()
        while True:
            closed_before, after = result.closed, 0
            while True:
                rows = db.session.execute(_due(now, after, batch_size)).all()
                if not rows:
                    if commit:
                        db.session.commit()
                    break
                after = rows[-1].id
                rows = [row for row in rows if row.id not in result.skipped]
                if rows:
                    _run_batch(rows, now, book, ctx, result, commit, render_pdfs)
                elif commit:
                    db.session.commit()
                result.batches += 1
                if on_batch is not None:
                    on_batch(result)
            if result.closed == closed_before:  # a pass that closed nothing: all is done (or cannot be)
                break
    result.seconds = time.perf_counter() - started
    return result


def _due(now: datetime, after: int, limit: int):
    return (
        db.select(*_SUB_COLUMNS)
        .where(Subscription.status.in_(LIVE_STATUSES), Subscription.current_period_end <= now,
               Subscription.id > after)
        .order_by(Subscription.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _run_batch(rows, now, book, ctx, result: SweepResult, commit: bool, render_pdfs: bool) -> None:
    if not commit:
        _close_batch(rows, now, book, ctx, result, render_pdfs)
        db.session.flush()
        db.session.expire_all()
        return
    try:
        batch_result = SweepResult()
        _close_batch(rows, now, book, ctx, batch_result, render_pdfs)
        db.session.commit()
    except IntegrityError:
        # Someone issued one of these periods' invoices by hand meanwhile: redo the batch one by one.
        db.session.rollback()
        log.warning("billing sweep: a batch of %d conflicted; closing its subscriptions one at a time", len(rows))
        batch_result = SweepResult()
        for row in rows:
            try:
                with db.session.begin_nested():
                    _close_batch([row], now, book, ctx, batch_result, render_pdfs)
            except IntegrityError as error:
                batch_result.skipped[row.id] = f"conflict: {error.orig}"[:200]
        db.session.commit()
    _merge(result, batch_result)


def _merge(total: SweepResult, part: SweepResult) -> None:
    for name in ("closed", "invoices", "activated", "renewed", "suspended", "cancelled", "plan_changes",
                 "credit_notes"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.skipped.update(part.skipped)


def bring_up_to_date(sub: Subscription, now: datetime, book: PriceBook | None = None) -> None:
    """Close the periods of one subscription that ended before `now` (a change made before the sweep ran)."""
    book = book or PriceBook.load()
    ctx = invoicing.load_context()
    while sub.status in LIVE_STATUSES and sub.current_period_end <= now:
        db.session.flush()
        row = db.session.execute(db.select(*_SUB_COLUMNS).where(Subscription.id == sub.id)).one()
        result = SweepResult()
        _close_batch([row], now, book, ctx, result, render_pdfs=True)
        db.session.flush()
        db.session.expire_all()
        if not result.closed:
            raise DomainError(_l("This subscription's renewal is on hold: a product it has is no longer priced "
                                 "in its currency. Contact us so that we can sort it out."), code="renewal_on_hold")


# One batch


def _close_batch(rows, now: datetime, book: PriceBook, ctx, result: SweepResult, render_pdfs: bool) -> None:
    ids = [row.id for row in rows]
    items = _items(ids)
    pending = _pending(ids)
    payers = {row.id: row for row in db.session.execute(
        db.select(*_PAYER_COLUMNS).where(Organisation.id.in_({row.payer_id for row in rows}))).all()}
    metered = _metering(rows, items)
    usage = _usage(sorted(metered))
    closings = []
    for row in rows:
        try:
            closings.append(plan_closing(row, items.get(row.id, []), pending.get(row.id, []), book,
                                         payers[row.payer_id], metered.get(row.id),
                                         usage.get(row.id, {})))
        except MissingPrice as error:
            log.warning("billing sweep: subscription %s not renewed: %s", row.id, error)
            result.skipped[row.id] = str(error)
    raw = _Raw()
    invoice_ids = _write_invoices(closings, payers, now, ctx, raw)
    _write_subscriptions(closings, raw)
    _write_charges(closings, invoice_ids, now, raw)
    _write_events(closings, invoice_ids, now, raw)
    for closing in closings:
        if closing.leftover_credits:
            from portal.services.billing.refunds import refund_credits

            result.credit_notes += refund_credits(closing.sub.id, closing.leftover_credits, now)
    if render_pdfs and invoice_ids:
        invoicing.queue_pdf(sorted(invoice_ids.values()))
    result.closed += len(closings)
    result.invoices += len(invoice_ids)
    for closing in closings:
        name = {"activated": "activated", "renewed": "renewed", "suspended": "suspended",
                "cancelled": "cancelled"}.get(closing.action)
        if name:
            setattr(result, name, getattr(result, name) + 1)
        if "previous_plan_id" in closing.details:
            result.plan_changes += 1


def _items(ids) -> dict[int, list[tuple[int, int]]]:
    found: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for sub_id, product_id, quantity in db.session.execute(
            db.select(SubscriptionItem.subscription_id, SubscriptionItem.product_id, SubscriptionItem.quantity)
            .where(SubscriptionItem.subscription_id.in_(ids)).order_by(SubscriptionItem.id)):
        found[sub_id].append((product_id, quantity))
    return found


def _pending(ids) -> dict[int, list]:
    found: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
            db.select(SubscriptionCharge.id, SubscriptionCharge.subscription_id, SubscriptionCharge.kind,
                      SubscriptionCharge.reason, SubscriptionCharge.product_id, SubscriptionCharge.quantity,
                      SubscriptionCharge.unit_amount, SubscriptionCharge.amount, SubscriptionCharge.period_start,
                      SubscriptionCharge.period_end)
            .where(SubscriptionCharge.subscription_id.in_(ids), SubscriptionCharge.collected_at.is_(None))
            .order_by(SubscriptionCharge.id)):
        found[row.subscription_id].append(row)
    return found


def _metering(rows, items) -> dict[int, dict]:
    """For each subscription of the batch that frames its organisation's usage (the organisation's oldest one in
    force, as for the usage screens) and is not in trial: its organisation's monthly allowance per metric and the
    products whose overage prices apply, plan first."""
    orgs = {row.organisation_id for row in rows if row.status != "trial"}
    if not orgs:
        return {}
    in_force = db.session.execute(
        db.select(Subscription.id, Subscription.organisation_id, Subscription.plan_id)
        .where(Subscription.organisation_id.in_(orgs), Subscription.status.in_(LIVE_STATUSES))
        .order_by(Subscription.created_at, Subscription.id)
    ).all()
    others = [sub_id for sub_id, _org, _plan in in_force if sub_id not in items]
    all_items = dict(items)
    all_items.update(_items(others) if others else {})
    by_org: dict[int, list] = defaultdict(list)
    for sub_id, org_id, plan_id in in_force:
        by_org[org_id].append((sub_id, plan_id))
    batch = {row.id: row for row in rows}
    metered = {}
    for subs in by_org.values():
        first_id = subs[0][0]
        if first_id not in batch or batch[first_id].status == "trial":
            continue
        metered[first_id] = {"subs": subs, "items": {sub_id: all_items.get(sub_id, []) for sub_id, _p in subs}}
    return metered


def _usage(subscription_ids: list[int]) -> dict[int, dict[str, int]]:
    """Units used per metered metric in each subscription's current period by its organisation: one grouped
    query (a join on the periods as they are before the batch moves them)."""
    found: dict[int, dict[str, int]] = defaultdict(dict)
    if not subscription_ids:
        return found
    for sub_id, metric, total in db.session.execute(_USAGE_QUERY, {"ids": subscription_ids}):
        found[sub_id][metric] = int(total)
    return found


_USAGE_QUERY = (
    db.select(Subscription.id, UsageEvent.metric, db.func.sum(UsageEvent.quantity))
    .join(UsageEvent, db.and_(UsageEvent.organisation_id == Subscription.organisation_id,
                              UsageEvent.occurred_at >= Subscription.current_period_start,
                              UsageEvent.occurred_at < Subscription.current_period_end))
    .where(Subscription.id.in_(db.bindparam("ids", expanding=True)), UsageEvent.metric.in_(METERED_METRICS))
    .group_by(Subscription.id, UsageEvent.metric)
)


# Deciding (no writes)


def plan_closing(sub, items: list[tuple[int, int]], pending: list, book: PriceBook, payer, metering: dict | None,
                 used: dict[str, int]) -> Closing:
    """How the period of `sub` that ended closes. Raises MissingPrice when a product has no price to renew."""
    start, end = sub.current_period_start, sub.current_period_end
    locale = payer.locale
    trial = sub.status == "trial"
    values = {"status": sub.status, "plan_id": sub.plan_id, "pending_plan_id": sub.pending_plan_id,
              "current_period_start": start, "current_period_end": end,
              "suspend_at_period_end": False, "cancel_at_period_end": False,
              "suspended_at": sub.suspended_at, "cancelled_at": sub.cancelled_at}
    details = {"period_start": start.isoformat(), "period_end": end.isoformat()}
    if sub.suspend_at_period_end or sub.cancel_at_period_end:
        action = "suspended" if sub.suspend_at_period_end else "cancelled"
        values["status"] = action
        values["suspended_at" if action == "suspended" else "cancelled_at"] = end
        closing = Closing(sub, values, action, details)
        if trial:  # a trial that ends unpaid owes nothing
            closing.waived = [charge.id for charge in pending]
            return closing
    else:
        plan_id = sub.pending_plan_id or sub.plan_id
        new_start, new_end = next_period(start, end, sub.period, after_trial=trial)
        values.update(status="active" if trial else sub.status, plan_id=plan_id, pending_plan_id=None,
                      current_period_start=new_start, current_period_end=new_end)
        details.update(period_start=new_start.isoformat(), period_end=new_end.isoformat())
        if plan_id != sub.plan_id:
            details.update(previous_plan_id=sub.plan_id, plan_id=plan_id)
        closing = Closing(sub, values, "activated" if trial else "renewed", details, period=(new_start, new_end))
        for product_id, quantity in [(plan_id, 1), *items]:
            line = recurring_line(book, product_id, quantity, sub.currency, sub.period, sub.discount_bp, locale,
                                  new_start, new_end)
            if line is not None:
                closing.lines.append(line)
    if metering is not None:
        closing.lines.extend(overage_lines(sub, metering, used, book, locale))
    _take_pending(closing, pending, book, locale)
    if closing.lines:
        closing.key = period_key(sub.id, end)
        closing.period = closing.period or (start, end)
    return closing


def overage_lines(sub, metering: dict, used: dict[str, int], book: PriceBook, locale: str) -> list[LineSpec]:
    """The units used beyond the organisation's allowance in the period that ended, at the overage price."""
    allowance: dict[str, int] = {}
    product_ids: list[int] = []
    for sub_id, plan_id in metering["subs"]:
        for metric, units in book.monthly_allowance(plan_id, metering["items"][sub_id]).items():
            allowance[metric] = allowance.get(metric, 0) + units
        product_ids.append(plan_id)
        product_ids.extend(product_id for product_id, _q in metering["items"][sub_id])
    months = MONTHS[sub.period]
    lines = []
    for metric in METERED_METRICS:
        if metric not in allowance:
            continue  # no quota: not limited
        included = allowance[metric] * months
        over = used.get(metric, 0) - included
        price = book.overage_price(product_ids, metric, sub.currency)
        if over > 0 and price:
            text = describe("overage", locale, metric=metric_name(metric, locale),
                            included=format_decimal(included, locale=locale))
            lines.append(LineSpec("overage", text, price, over, None, sub.current_period_start,
                                  sub.current_period_end))
    return lines


def charge_line(charge, book: PriceBook, locale: str) -> LineSpec:
    """The invoice line of a pending charge or credit."""
    product = book.products.get(charge.product_id)
    name = product.display_name(locale) if product else ""
    text = describe(charge.reason, locale, product=name, quantity=charge.quantity)
    kind = "setup" if charge.kind == "setup" else ("credit" if charge.amount < 0 else "prorated")
    return LineSpec(kind, text, charge.amount, 1, charge.product_id, charge.period_start, charge.period_end,
                    amount=charge.amount)


def _take_pending(closing: Closing, pending: list, book: PriceBook, locale: str) -> None:
    """Charges go on the invoice; credits too, as long as the invoice stays above zero. A credit that does not
    fit waits for the next invoice, or is refunded by credit note when there is none (the subscription ends)."""
    net = sum(line.net for line in closing.lines)
    for charge in pending:
        if charge.amount >= 0:
            closing.lines.append(charge_line(charge, book, locale))
            closing.collected.append(charge.id)
            net += charge.amount
    ending = closing.action in ("suspended", "cancelled")
    for charge in pending:
        if charge.amount < 0:
            if net + charge.amount >= 0:
                closing.lines.append(charge_line(charge, book, locale))
                closing.collected.append(charge.id)
                net += charge.amount
            elif ending:
                closing.leftover_credits.append(charge.id)


# Writing (bulk)


class _Raw:
    """Bulk statements on the portal's tables that skip SQLAlchemy's per-value type processing (at 100,000 rows
    it costs more than the database): values are converted here once, as the column types would store them —
    UTC timestamps as SQLite's text or PostgreSQL's timestamptz, JSON as text, booleans as SQLite's 0/1."""

    _tables: dict[tuple[str, bool], Table] = {}

    def __init__(self):
        self.sqlite = db.session.get_bind().dialect.name == "sqlite"
        self._json: dict[int, str] = {}

    def table(self, model) -> Table:
        key = (model.__tablename__, self.sqlite)
        if key not in self._tables:
            self._tables[key] = Table(model.__tablename__, MetaData(), *[
                Column(c.name, self._type(c.type), primary_key=c.primary_key) for c in model.__table__.columns])
        return self._tables[key]

    def _type(self, column_type):
        if isinstance(column_type, Integer | String):
            return column_type
        if self.sqlite:
            return NullType()
        if isinstance(column_type, UTCDateTime):
            return DateTime(timezone=True)
        if isinstance(column_type, JSON):
            return _JsonText()
        return column_type

    def time(self, value: datetime | None):
        if value is None or not self.sqlite:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def flag(self, value: bool):
        return int(value) if self.sqlite else value

    def json(self, value: dict, shared: bool = False) -> str:
        """A dict as JSON text; `shared` ones (the vendor's snapshot, a payer's) are serialised once."""
        if not shared:
            return json.dumps(value)
        key = id(value)
        if key not in self._json:
            self._json[key] = json.dumps(value)
        return self._json[key]


class _JsonText(UserDefinedType):
    """A JSON column written from JSON text (PostgreSQL casts the text)."""

    cache_ok = True
    render_bind_cast = True

    def get_col_spec(self, **_kw) -> str:
        return "JSON"


def _write_invoices(closings: list[Closing], payers: dict, now: datetime, ctx, raw: _Raw) -> dict[str, int]:
    """Insert the batch's invoices and lines; returns invoice id by period key."""
    billed = [closing for closing in closings if closing.lines]
    if not billed:
        return {}
    by_series: dict[int, list[Closing]] = defaultdict(list)
    for closing in billed:
        by_series[invoicing.series_for(ctx, payers[closing.sub.payer_id].country)].append(closing)
    numbers: dict[str, tuple[int, int]] = {}
    for series_id in sorted(by_series):  # one order for every sweep: no deadlock between two of them
        first = invoicing.reserve_numbers(series_id, len(by_series[series_id]))
        for offset, closing in enumerate(by_series[series_id]):
            numbers[closing.key] = (series_id, first + offset)
    snapshots: dict[int, dict] = {}
    invoices, lines_by_key = [], {}
    issued, due = raw.time(now), raw.time(ctx.due_at(now))
    for closing in billed:
        payer = payers[closing.sub.payer_id]
        if payer.id not in snapshots:
            snapshots[payer.id] = customer_snapshot(payer)
        rate = ctx.tax_rate(payer.country)
        lines = [invoicing.line_values(spec, position, rate if spec.tax_rate_bp is None else spec.tax_rate_bp,
                                       tax_for) for position, spec in enumerate(closing.lines)]
        subtotal = sum(line["amount"] for line in lines)
        tax_total = sum(line["tax_amount"] for line in lines)
        total = subtotal + tax_total
        series_id, number = numbers[closing.key]
        invoices.append({
            "organisation_id": payer.id, "subscription_id": closing.sub.id, "period_key": closing.key,
            "kind": "invoice", "credit_for_id": None, "series_id": series_id, "number": number,
            "status": "paid" if total == 0 else "open", "currency": closing.sub.currency, "locale": payer.locale,
            "subtotal": subtotal, "tax_total": tax_total, "total": total,
            "period_start": raw.time(closing.period[0]), "period_end": raw.time(closing.period[1]),
            "issued_at": issued, "due_at": due, "paid_at": issued if total == 0 else None, "voided_at": None,
            "vendor_snapshot": raw.json(ctx.vendor_snapshot, shared=True),
            "customer_snapshot": raw.json(snapshots[payer.id], shared=True), "created_at": issued,
        })
        for line in lines:
            line["period_start"], line["period_end"] = raw.time(line["period_start"]), raw.time(line["period_end"])
        lines_by_key[closing.key] = lines
    ids = _insert_invoices(invoices, raw)
    rows = []
    for key, lines in lines_by_key.items():
        for line in lines:
            line["invoice_id"] = ids[key]
            rows.append(line)
    db.session.execute(insert(raw.table(InvoiceLine)), rows)
    return ids


def _insert_invoices(invoices: list[dict], raw: _Raw) -> dict[str, int]:
    """Insert the invoices; returns id by period key.

    On SQLite, INSERT ... RETURNING in pages (each id comes back beside its period key, so the rows' order does
    not matter and no sort_by_parameter_order is needed, which would insert them one at a time). On PostgreSQL
    the ids are drawn from the table's sequence first, in one query, and the rows go through psycopg's
    pipelined executemany: a RETURNING insert would be SQLAlchemy's multi-row VALUES pages, whose thousands of
    parameters psycopg parses again on every page (about a third of the sweep's own CPU)."""
    table = raw.table(Invoice)
    if raw.sqlite:
        return dict((key, invoice_id) for invoice_id, key in db.session.execute(
            insert(table).returning(table.c.id, table.c.period_key), invoices))
    drawn = db.session.scalars(
        db.text("SELECT nextval(pg_get_serial_sequence('invoice', 'id')) FROM generate_series(1, :count)"),
        {"count": len(invoices)}).all()
    ids = {}
    for invoice, invoice_id in zip(invoices, drawn, strict=True):
        invoice["id"] = ids[invoice["period_key"]] = invoice_id
    db.session.execute(insert(table), invoices)
    return ids


_FLAGS = ("suspend_at_period_end", "cancel_at_period_end")
_TIMES = ("current_period_start", "current_period_end", "suspended_at", "cancelled_at")


def _write_subscriptions(closings: list[Closing], raw: _Raw) -> None:
    if not closings:
        return
    table = raw.table(Subscription)
    names = list(closings[0].values)
    statement = update(table).where(table.c.id == bindparam("b_id")).values(
        {name: bindparam(f"b_{name}") for name in names})
    rows = []
    for closing in closings:
        row = {"b_id": closing.sub.id}
        for name, value in closing.values.items():
            row[f"b_{name}"] = raw.time(value) if name in _TIMES else raw.flag(value) if name in _FLAGS else value
        rows.append(row)
    db.session.execute(statement, rows)


def _write_charges(closings: list[Closing], invoice_ids: dict[str, int], now: datetime, raw: _Raw) -> None:
    at = raw.time(now)
    rows = [{"b_id": charge_id, "b_invoice": invoice_ids.get(closing.key), "b_at": at}
            for closing in closings for charge_id in closing.collected + closing.waived]
    if rows:
        table = raw.table(SubscriptionCharge)
        db.session.execute(update(table).where(table.c.id == bindparam("b_id"))
                           .values(invoice_id=bindparam("b_invoice"), collected_at=bindparam("b_at")), rows)


def _write_events(closings: list[Closing], invoice_ids: dict[str, int], now: datetime, raw: _Raw) -> None:
    at = raw.time(now)
    rows = [{"subscription_id": c.sub.id, "at": at, "action": c.action, "details": raw.json(c.details),
             "invoice_id": invoice_ids.get(c.key) if c.key else None, "actor_id": None} for c in closings]
    if rows:
        db.session.execute(insert(raw.table(SubscriptionEvent)), rows)
