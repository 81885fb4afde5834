"""The billing sweep: everything due at `now` and not yet done, in batches, safe to repeat and to interrupt.

A subscription is due when its period has ended (`current_period_end <= now`) and it is in trial, active or
past due. Closing its period does, in one go: a trial becomes active and gets its first invoice; a period
renews, applying a downgrade that waited for it, with one invoice that charges the next period in advance
(plan + add-ons × quantity, the reseller's discount in the unit price), the overage of the period that ended
and the prorated charges and credits collected since; a monthly suspension or a cancellation takes effect,
with a last invoice for the overage and the charges left, if any.

Safety. Each batch is one transaction (portal/workflows/billing_run.py commits them): its subscriptions are
read and locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two sweeps take different batches; SQLite lets one
writer in at a time), and their invoices, lines, events and new periods commit together or not at all. The
invoice that opens a period carries the unique `period_key` "sub:<id>:<period start>", so a period is never
billed twice. A subscription a reseller pays for adds one line, with that key, to the reseller's consolidated
invoice of the month instead (services/billing/consolidated.py), issued once the month has ended. A sweep killed
halfway leaves whole batches behind; the next run finds the rest still due and
finishes them. Numbers are reserved per batch and series under the series' row lock (see invoicing), so they
never repeat nor skip.

Speed. The catalog, prices, tax rates and series are read once per run; each batch reads its subscriptions,
add-ons, pending charges, payers and usage in a handful of grouped queries (sweep_reading), decides without
writing (sweep_closing), and writes with bulk statements (sweep_writing, portal/bulk.py).
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Subscription
from portal.services import hooks
from portal.services.billing import consolidated, invoicing, sweep_reading
from portal.services.billing.rules import LIVE_STATUSES, MissingPrice, PriceBook
from portal.services.billing.sweep_closing import charge_line as charge_line  # subscriptions' charges too
from portal.services.billing.sweep_closing import plan_closing
from portal.services.billing.sweep_writing import write_batch
from portal.services.errors import DomainError

log = logging.getLogger(__name__)

BATCH_SIZE = 500
_COUNTED = ("closed", "invoices", "activated", "renewed", "suspended", "cancelled", "plan_changes", "credit_notes")


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
        return {name: getattr(self, name) for name in (*_COUNTED, "batches", "seconds")} | {
            "skipped": len(self.skipped)}

    def add(self, part: "SweepResult") -> None:
        """Count what `part` (one batch) did into this run."""
        for name in _COUNTED:
            setattr(self, name, getattr(self, name) + getattr(part, name))
        self.skipped.update(part.skipped)


def due_batches(now: datetime, batch_size: int, result: SweepResult) -> Iterator[list]:
    """The subscriptions due at `now`, a locked batch at a time (without those `result` skipped), pass after pass
    until a pass closes nothing: what one pass closes can be due again (a sweep that is months late).

    The caller closes each batch (`close_batch`) before asking for the next, and may end the transaction between
    batches: each batch is read when it is asked for."""
    while True:
        closed_before, after = result.closed, 0
        while rows := db.session.execute(sweep_reading.due(now, after, batch_size)).all():
            after = rows[-1].id
            yield [row for row in rows if row.id not in result.skipped]
        if result.closed == closed_before:  # a pass that closed nothing: all is done (or cannot be)
            return


def close_due(now: datetime, batch_size: int = BATCH_SIZE, render_pdfs: bool = True) -> SweepResult:
    """Close every period due at `now` in the current transaction, flushing only (the demo data's months)."""
    result = SweepResult()
    book, ctx = PriceBook.load(), invoicing.load_context()
    for rows in due_batches(now, batch_size, result):
        if rows:
            close_batch(rows, now, book, ctx, result, render_pdfs, auto_pay=False)
        result.batches += 1
    result.invoices += len(consolidated.issue_ended(now))
    return result


def close_batch(rows, now: datetime, book: PriceBook, ctx, result: SweepResult, render_pdfs: bool,
                auto_pay: bool = True) -> None:
    """Close the periods of a batch of due subscriptions (rows of `sweep_reading.due`), count it into `result`,
    and flush. Once the batch commits, its invoices are paid automatically where their payers chose it (jobs,
    services/payments/auto_pay.py; not for `close_due`, the demo data's past months).
    The ORM's loaded objects are expired: the bulk statements wrote past them."""
    batch = sweep_reading.read_batch(rows)
    closings = []
    for row in rows:
        try:
            closings.append(plan_closing(row, batch.items.get(row.id, []), batch.pending.get(row.id, []), book,
                                         batch.payers[row.payer_id], batch.metered.get(row.id),
                                         batch.usage.get(row.id, {})))
        except MissingPrice as error:
            log.warning("billing sweep: subscription %s not renewed: %s", row.id, error)
            result.skipped[row.id] = str(error)
    invoice_ids = write_batch(closings, batch.payers, now, ctx)
    for closing in closings:
        if closing.leftover_credits:
            from portal.services.billing.refunds import refund_credits

            result.credit_notes += refund_credits(closing.sub.id, closing.leftover_credits, now)
    if render_pdfs and invoice_ids:
        invoicing.queue_pdf(sorted(invoice_ids.values()))
    if auto_pay and invoice_ids:  # the first attempt at each: see services/payments/auto_pay.py
        hooks.after_commit("auto_pay", [(invoice_id, 1) for invoice_id in sorted(invoice_ids.values())])
    result.closed += len(closings)
    result.invoices += len(invoice_ids)
    for closing in closings:
        if closing.action in ("activated", "renewed", "suspended", "cancelled"):
            setattr(result, closing.action, getattr(result, closing.action) + 1)
        if "previous_plan_id" in closing.details:
            result.plan_changes += 1
    db.session.flush()
    db.session.expire_all()


def bring_up_to_date(sub: Subscription, now: datetime, book: PriceBook | None = None) -> None:
    """Close the periods of one subscription that ended before `now` (a change made before the sweep ran)."""
    book = book or PriceBook.load()
    ctx = invoicing.load_context()
    while sub.status in LIVE_STATUSES and sub.current_period_end <= now:
        db.session.flush()
        result = SweepResult()
        close_batch([sweep_reading.one(sub.id)], now, book, ctx, result, render_pdfs=True)
        if not result.closed:
            raise DomainError(_l("This subscription's renewal is on hold: a product it has is no longer priced "
                                 "in its currency. Contact us so that we can sort it out."), code="renewal_on_hold")
