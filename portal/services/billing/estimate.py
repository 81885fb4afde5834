"""The next invoice of each subscription, estimated now: what the billing sweep will issue when the current period
ends if nothing changes before then (no more usage, no other change).

It is the sweep's own decision (sweep_reading → sweep_closing.plan_closing → invoicing.line_values and
document_totals) taken at the current period, with the usage reported so far, and nothing written: the same
lines, the same taxes, the same totals, to the minor unit.
"""

from dataclasses import dataclass
from datetime import datetime

from portal.extensions import db
from portal.models import Subscription
from portal.services.billing import invoicing, sweep_reading
from portal.services.billing.rules import LIVE_STATUSES, MissingPrice, PriceBook
from portal.services.billing.sweep_closing import plan_closing


@dataclass(frozen=True)
class Estimate:
    """The invoice a subscription's period closes with: its lines (InvoiceLine columns) and totals, issued at
    `issue_at`. `on_hold` when a product has lost its price (the sweep will not renew it as it is)."""

    subscription_id: int
    issue_at: datetime
    action: str  # activated, renewed, suspended, cancelled
    currency: str
    lines: tuple[dict, ...] = ()
    subtotal: int = 0
    tax_total: int = 0
    total: int = 0
    on_hold: bool = False


def next_invoices(organisation_id: int, book: PriceBook | None = None) -> dict[int, Estimate]:
    """The estimate of every live subscription of the organisation, by subscription id, in a constant number of
    queries."""
    rows = db.session.execute(
        db.select(*sweep_reading.SUB_COLUMNS)
        .where(Subscription.organisation_id == organisation_id, Subscription.status.in_(LIVE_STATUSES))
        .order_by(Subscription.id)
    ).all()
    if not rows:
        return {}
    others = () if book is not None else PriceBook.selects()
    batch, found = sweep_reading.read_few(rows, *invoicing.context_selects(), *others)
    ctx = invoicing.context_from_rows(found[:4])
    book = book or PriceBook.from_rows(found[4:])
    estimates = {}
    for row in rows:
        try:
            closing = plan_closing(row, batch.items.get(row.id, []), batch.pending.get(row.id, []), book,
                                   batch.payers[row.payer_id], batch.metered.get(row.id), batch.usage.get(row.id, {}))
        except MissingPrice:
            estimates[row.id] = Estimate(row.id, row.current_period_end, "renewed", row.currency, on_hold=True)
            continue
        rate = ctx.tax_rate(batch.payers[row.payer_id].country)
        lines = tuple(invoicing.line_values(spec, position, rate if spec.tax_rate_bp is None else spec.tax_rate_bp)
                      for position, spec in enumerate(closing.lines))
        subtotal, tax_total, total = invoicing.document_totals(list(lines))
        estimates[row.id] = Estimate(row.id, row.current_period_end, closing.action, row.currency, lines, subtotal,
                                     tax_total, total)
    return estimates
