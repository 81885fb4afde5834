"""How one subscription's period closes, decided without writing: its new state, its invoice's lines (the
next period in advance, the overage of the period that ended, the charges and credits collected since) and
what it collects, waives or refunds."""

from dataclasses import dataclass, field
from datetime import datetime

from babel.numbers import format_decimal

from portal.services.billing.rules import (
    METERED_METRICS,
    MONTHS,
    LineSpec,
    PriceBook,
    describe,
    metric_name,
    next_period,
    period_key,
    recurring_line,
)


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


def plan_closing(sub, items: list[tuple[int, int, int | None]], pending: list, book: PriceBook, payer,
                 metering: dict | None, used: dict[str, int]) -> Closing:
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
        for product_id, quantity, unit in [(plan_id, 1, None), *items]:
            if product_id is None:  # a license partner's subscription has no plan
                continue
            line = recurring_line(book, product_id, quantity, sub.currency, sub.period, sub.discount_bp, locale,
                                  new_start, new_end, unit)
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
