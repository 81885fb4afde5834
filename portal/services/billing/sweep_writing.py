"""What the billing sweep writes for a batch of closings, in bulk: invoices and their lines, the subscriptions'
new periods and states, the charges collected and the subscriptions' events.

An invoice opens by invoicing's rules, as one issued by hand does: the tax of each line (`line_values`), the
totals (`document_totals`), the number of its series (`series_for`, `reserve_numbers`: one block per series and
batch) and how it opens (`opening`: due by the payment terms, or paid when there is nothing to pay).

A subscription a reseller pays for gets no invoice of its own: its closing becomes one line of the reseller's
consolidated invoice of the month (services/billing/consolidated.py)."""

from collections import defaultdict
from datetime import datetime
from functools import lru_cache

from portal.bulk import BulkWriter
from portal.models import Invoice, InvoiceLine, Subscription, SubscriptionCharge, SubscriptionEvent
from portal.services.billing import consolidated, invoicing, money
from portal.services.billing.sweep_closing import Closing

tax_for = lru_cache(maxsize=65_536)(money.tax_for)
# A payer's snapshot is a pure function of its row (sweep_reading.PAYER_COLUMNS, all of them in the key):
# formatting and validating tax ids once per payer and run, not once per batch, keeps it out of the profile.
customer_snapshot = lru_cache(maxsize=65_536)(invoicing.customer_snapshot)

# The subscription's columns a closing sets, with their PostgreSQL types.
_SUBSCRIPTION_TYPES = {
    "status": "varchar", "plan_id": "integer", "pending_plan_id": "integer",
    "current_period_start": "timestamptz", "current_period_end": "timestamptz",
    "suspend_at_period_end": "boolean", "cancel_at_period_end": "boolean",
    "suspended_at": "timestamptz", "cancelled_at": "timestamptz",
}
_FLAGS = ("suspend_at_period_end", "cancel_at_period_end")
_TIMES = ("current_period_start", "current_period_end", "suspended_at", "cancelled_at")


def write_batch(closings: list[Closing], payers: dict, now: datetime, ctx) -> dict[str, int]:
    """Write everything the closings decided; returns the new (issued) invoices' ids by period key."""
    bulk = BulkWriter()
    own, resold = [], []
    for closing in closings:
        if closing.lines:
            (resold if consolidated.pays_for_client(payers[closing.sub.payer_id], closing.sub) else own).append(closing)
    invoice_ids = write_invoices(own, payers, now, ctx, bulk)
    billed_on = invoice_ids | consolidated.add_lines(resold, payers, now, ctx, tax_for)
    write_subscriptions(closings, bulk)
    write_charges(closings, billed_on, now, bulk)
    write_events(closings, billed_on, now, bulk)
    return invoice_ids


def write_invoices(closings: list[Closing], payers: dict, now: datetime, ctx, bulk: BulkWriter) -> dict[str, int]:
    """Insert the invoices of the closings with lines, and their lines; returns invoice id by period key."""
    billed = [closing for closing in closings if closing.lines]
    if not billed:
        return {}
    numbers = _numbers(billed, payers, ctx)
    snapshots: dict[int, dict] = {}
    invoices, lines_by_key = [], {}
    for closing in billed:
        payer = payers[closing.sub.payer_id]
        if payer.id not in snapshots:
            snapshots[payer.id] = customer_snapshot(payer)
        rate = ctx.tax_rate(payer.country)
        lines = [invoicing.line_values(spec, position, rate if spec.tax_rate_bp is None else spec.tax_rate_bp,
                                       tax_for) for position, spec in enumerate(closing.lines)]
        subtotal, tax_total, total = invoicing.document_totals(lines)
        opened = invoicing.opening("invoice", total, now, ctx)
        series_id, number = numbers[closing.key]
        invoices.append({
            "organisation_id": payer.id, "subscription_id": closing.sub.id, "period_key": closing.key,
            "kind": "invoice", "credit_for_id": None, "series_id": series_id, "number": number,
            "status": opened["status"], "currency": closing.sub.currency, "locale": payer.locale,
            "subtotal": subtotal, "tax_total": tax_total, "total": total,
            "period_start": bulk.time(closing.period[0]), "period_end": bulk.time(closing.period[1]),
            "issued_at": bulk.time(opened["issued_at"]), "due_at": bulk.time(opened["due_at"]),
            "paid_at": bulk.time(opened["paid_at"]), "voided_at": None,
            "vendor_snapshot": bulk.json(ctx.vendor_snapshot, shared=True),
            "customer_snapshot": bulk.json(snapshots[payer.id], shared=True), "created_at": bulk.time(now),
        })
        for line in lines:
            line["period_start"], line["period_end"] = bulk.time(line["period_start"]), bulk.time(line["period_end"])
        lines_by_key[closing.key] = lines
    ids = _insert_invoices(invoices, bulk)
    rows = []
    for key, lines in lines_by_key.items():
        for line in lines:
            line["invoice_id"] = ids[key]
            rows.append(line)
    bulk.insert(InvoiceLine, rows)
    return ids


def _numbers(billed: list[Closing], payers: dict, ctx) -> dict[str, tuple[int, int]]:
    """(series id, number) by period key: one block of numbers per series, reserved in one order by every sweep
    (no deadlock between two of them)."""
    by_series: dict[int, list[Closing]] = defaultdict(list)
    for closing in billed:
        by_series[invoicing.series_for(ctx, payers[closing.sub.payer_id].country)].append(closing)
    numbers = {}
    for series_id in sorted(by_series):
        first = invoicing.reserve_numbers(series_id, len(by_series[series_id]))
        for offset, closing in enumerate(by_series[series_id]):
            numbers[closing.key] = (series_id, first + offset)
    return numbers


def _insert_invoices(invoices: list[dict], bulk: BulkWriter) -> dict[str, int]:
    """Insert the invoices; returns id by period key. On PostgreSQL the ids are drawn from the table's sequence
    first, in one query, so that the rows (and then their lines) can be copied in."""
    if bulk.sqlite:
        return bulk.insert_returning_ids(Invoice, invoices, "period_key")
    ids = {}
    for invoice, invoice_id in zip(invoices, bulk.next_ids(Invoice, len(invoices)), strict=True):
        invoice["id"] = ids[invoice["period_key"]] = invoice_id
    bulk.insert(Invoice, invoices)
    return ids


def write_subscriptions(closings: list[Closing], bulk: BulkWriter) -> None:
    rows = []
    for closing in closings:
        row = {"id": closing.sub.id}
        for name in _SUBSCRIPTION_TYPES:
            value = closing.values[name]
            row[name] = bulk.time(value) if name in _TIMES else bulk.flag(value) if name in _FLAGS else value
        rows.append(row)
    bulk.update(Subscription, rows, _SUBSCRIPTION_TYPES)


def write_charges(closings: list[Closing], invoice_ids: dict[str, int], now: datetime, bulk: BulkWriter) -> None:
    at = bulk.time(now)
    bulk.update(SubscriptionCharge, [{"id": charge_id, "invoice_id": invoice_ids.get(closing.key), "collected_at": at}
                                     for closing in closings for charge_id in closing.collected + closing.waived],
                {"invoice_id": "integer", "collected_at": "timestamptz"})


def write_events(closings: list[Closing], invoice_ids: dict[str, int], now: datetime, bulk: BulkWriter) -> None:
    at = bulk.time(now)
    bulk.insert(SubscriptionEvent, [
        {"subscription_id": c.sub.id, "at": at, "action": c.action, "details": bulk.json(c.details),
         "invoice_id": invoice_ids.get(c.key) if c.key else None, "actor_id": None} for c in closings])
