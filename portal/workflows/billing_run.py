"""The billing run: the sweep of services/billing/sweep.py, committed one batch at a time.

What `flask --app portal billing-run` and the hourly job start. Each batch commits on its own, so a run killed
halfway keeps the batches it finished and the next run does the rest; a batch that conflicts with an invoice
issued by hand meanwhile is redone one subscription at a time, the conflicting one left for later.
"""

import logging
import time
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from portal.database import writing
from portal.extensions import db
from portal.memory import paused_collection
from portal.services.billing import consolidated, invoicing
from portal.services.billing.rules import PriceBook
from portal.services.billing.sweep import BATCH_SIZE, SweepResult, close_batch, due_batches

log = logging.getLogger(__name__)


def run_sweep(now: datetime, batch_size: int = BATCH_SIZE, render_pdfs: bool = True, on_batch=None) -> SweepResult:
    """Close every period due at `now`, committing once per batch.

    `on_batch(result)` is called after each batch (progress reports; tests raise from it to interrupt)."""
    started = time.perf_counter()
    result = SweepResult()
    with writing():
        book, ctx = PriceBook.load(), invoicing.load_context()
        db.session.commit()
        for rows in due_batches(now, batch_size, result):
            if rows:
                with paused_collection():
                    _commit_batch(rows, now, book, ctx, result, render_pdfs)
            else:
                db.session.commit()  # every row of the batch was skipped: release their locks
            result.batches += 1
            if on_batch is not None:
                on_batch(result)
        db.session.commit()
        result.invoices += len(consolidated.issue_ended(now, ctx))  # the resellers' invoices of the months ended
        db.session.commit()
    result.seconds = time.perf_counter() - started
    return result


def _commit_batch(rows, now: datetime, book: PriceBook, ctx, result: SweepResult, render_pdfs: bool) -> None:
    try:
        batch = SweepResult()
        close_batch(rows, now, book, ctx, batch, render_pdfs)
        db.session.commit()
    except IntegrityError:
        # Someone issued one of these periods' invoices by hand meanwhile: redo the batch one by one.
        db.session.rollback()
        log.warning("billing sweep: a batch of %d conflicted; closing its subscriptions one at a time", len(rows))
        batch = SweepResult()
        for row in rows:
            try:
                with db.session.begin_nested():
                    close_batch([row], now, book, ctx, batch, render_pdfs)
            except IntegrityError as error:
                batch.skipped[row.id] = f"conflict: {error.orig}"[:200]
        db.session.commit()
    result.add(batch)
