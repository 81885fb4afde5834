"""Subscriptions and invoices of the large data set: plans, add-ons, history, and one invoice per period."""

import calendar
import functools
from datetime import datetime, timedelta

from sqlalchemy import update

from bench.dataset import CHUNK, Context, spread
from portal.extensions import db
from portal.models import (
    Installment,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    Subscription,
    SubscriptionEvent,
    SubscriptionItem,
)
from portal.services.billing import money
from portal.services.billing.money import split_installments

# Exact fractions are slow; the same few (amount, rate) pairs repeat a million times.
discounted = functools.lru_cache(maxsize=65_536)(money.discounted)
tax_for = functools.lru_cache(maxsize=65_536)(money.tax_for)

MONTHS = {"monthly": 1, "annual": 12}
CURRENT_STATUSES = (("active", 85), ("past_due", 5), ("suspended", 4), ("trial", 6))


def add_months(moment: datetime, months: int) -> datetime:
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _invoice_counts(rng, total: int, periods: list[str], statuses: list[str]) -> list[int]:
    """Past periods (so invoices) per subscription: about five each, none for a trial, at most 3 years
    for an annual plan; exactly `total` in all (as long as there is a monthly plan to take the rest)."""
    eligible = [i for i, status in enumerate(statuses) if status != "trial"]
    counts = [0] * len(periods)
    for i, n in zip(eligible, spread(rng, total, len(eligible), minimum=1), strict=True):
        counts[i] = n
    monthly = [i for i in eligible if periods[i] == "monthly"]
    for i in eligible:
        if periods[i] == "annual" and counts[i] > 3 and monthly:
            counts[rng.choice(monthly)] += counts[i] - 3
            counts[i] = 3
    return counts


def generate_subscriptions(ctx: Context) -> None:
    """Every customer has a current plan; some a second software; most a history of cancelled plans."""
    rng = ctx.rng("subscriptions")
    orgs, customers = ctx.made["organisations"], ctx.made["customer_ids"]
    plans, addons = ctx.made["plans"], ctx.made["addons"]
    per_customer = spread(rng, ctx.count("subscriptions"), len(customers), minimum=1)
    busiest = max(range(len(per_customer)), key=per_customer.__getitem__)
    per_customer[0], per_customer[busiest] = per_customer[busiest], per_customer[0]  # bench customer: the most
    software_ids = sorted(plans)
    drafts = []  # (org id, software, period, status, start)
    for org_id, n in zip(customers, per_customer, strict=True):
        order = rng.sample(software_ids, len(software_ids))
        for j in range(n):
            current = j == 0 or (j == 1 and rng.random() < 0.5)
            period = "annual" if current and rng.random() < 0.1 else "monthly"
            status = rng.choices(*zip(*CURRENT_STATUSES, strict=True))[0] if current else "cancelled"
            if current:
                start = ctx.today - timedelta(days=rng.randrange(0, 28))
                start = start.replace(day=min(start.day, 28))
            else:
                start = add_months(ctx.today - timedelta(days=rng.randrange(30, 700)), -1)
            if org_id == customers[0] and j == 0:
                period, status = "monthly", "active"
            drafts.append((org_id, order[j % len(order)], period, status, start))
    counts = _invoice_counts(rng, ctx.count("invoices"), [d[2] for d in drafts], [d[3] for d in drafts])

    subscriptions, items, events, made = [], [], [], []
    for sub_id, ((org_id, software, period, status, start), periods) in enumerate(
            zip(drafts, counts, strict=True), start=1):
        currency, reseller_id = orgs[org_id][2], orgs[org_id][4]
        end = add_months(start, MONTHS[period])
        first = add_months(start, -MONTHS[period] * max(periods - 1, 0))
        reseller_pays = reseller_id and rng.random() < 0.5
        payer_id = reseller_id if reseller_pays and org_id != customers[0] else org_id  # the bench customer pays
        discount = 5000 if payer_id != org_id else 0  # a reseller that pays gets 50 % off
        plan_id = rng.choice(plans[software])
        subscriptions.append({
            "id": sub_id, "organisation_id": org_id, "payer_id": payer_id, "plan_id": plan_id,
            "currency": currency, "period": period, "status": status, "discount_bp": discount,
            "trial_ends_at": start + timedelta(days=30) if status == "trial" else None,
            "current_period_start": start, "current_period_end": end, "pending_plan_id": None,
            "suspend_at_period_end": False, "cancel_at_period_end": False,
            "suspended_at": start if status == "suspended" else None,
            "cancelled_at": end if status == "cancelled" else None, "created_at": first,
        })
        chosen = []
        if status != "cancelled":
            for product_id, kind in rng.sample(addons[software], rng.choice((0, 0, 1, 1, 2, 3))):
                quantity = rng.randrange(1, 6) if kind.startswith("additional") else 1
                chosen.append((product_id, quantity))
                items.append({"id": len(items) + 1, "subscription_id": sub_id, "product_id": product_id,
                              "quantity": quantity, "added_at": first})
        events.append({"id": len(events) + 1, "subscription_id": sub_id, "at": first, "action": "created",
                       "details": {"plan_id": plan_id}, "invoice_id": None, "actor_id": None})
        if status == "cancelled":
            events.append({"id": len(events) + 1, "subscription_id": sub_id, "at": end, "action": "cancelled",
                           "details": {}, "invoice_id": None, "actor_id": None})
        made.append((sub_id, payer_id, plan_id, currency, period, status, discount, first, periods, tuple(chosen)))
    ctx.insert(Subscription, subscriptions)
    ctx.insert(SubscriptionItem, items)
    ctx.insert(SubscriptionEvent, events)
    ctx.made["subscriptions"] = made


def _status(rng, last: bool, sub_status: str) -> str:
    if last and sub_status == "past_due":
        return "open"
    if last and sub_status == "active":
        return "open" if rng.random() < 0.3 else "paid"
    return rng.choices(("paid", "open", "void", "uncollectible"), weights=(97, 1, 1, 1))[0]


def generate_invoices(ctx: Context) -> None:
    """One invoice per subscription and past period, numbered per series in date order, with lines."""
    rng = ctx.rng("invoices")
    orgs, subs = ctx.made["organisations"], ctx.made["subscriptions"]
    price_of, overage_of, names = ctx.made["price_of"], ctx.made["overage_of"], ctx.made["product_names"]
    tax_bp, series = ctx.made["tax_bp"], ctx.made["series"]
    _k, vendor_country, _c, _l, _r, vendor_name, vendor_tax = orgs[ctx.made["vendor_id"]]
    vendor_snapshot = {"name": vendor_name, "tax_id": vendor_tax, "country": vendor_country}
    # (period start, subscription index, period index): sorted, so numbers follow the issue dates.
    plan = sorted((add_months(sub[7], MONTHS[sub[4]] * p), index, p)
                  for index, sub in enumerate(subs) for p in range(sub[8]))
    next_number: dict[int, int] = {}
    line_id = installment_id = 0
    for offset in range(0, len(plan), CHUNK):
        invoices, lines, installments = [], [], []
        for invoice_id, (start, index, p) in enumerate(plan[offset:offset + CHUNK], start=offset + 1):
            sub_id, payer_id, plan_id, currency, period, sub_status, discount, _first, periods, chosen = subs[index]
            _kind, country, _cur, locale, _res, name, tax_id = orgs[payer_id]
            end = add_months(start, MONTHS[period])
            last = p == periods - 1
            charges = [(plan_id, 1, "recurring")] + [(product, qty, "recurring") for product, qty in chosen]
            if period == "monthly" and rng.random() < 0.1:
                charges.append((None, rng.randrange(1, 200), "overage"))
            subtotal = tax_total = 0
            for position, (product_id, quantity, kind) in enumerate(charges):
                unit = overage_of[(plan_id, currency)] if kind == "overage" else discounted(
                    price_of[(product_id, currency, period)], discount)
                amount = unit * quantity
                tax = tax_for(amount, tax_bp[country])
                subtotal, tax_total = subtotal + amount, tax_total + tax
                line_id += 1
                lines.append({"id": line_id, "invoice_id": invoice_id, "position": position, "kind": kind,
                              "product_id": product_id, "description": names[product_id] if product_id else
                              "Documentos sobre el plan", "quantity": quantity, "unit_amount": unit,
                              "amount": amount, "tax_rate_bp": tax_bp[country], "tax_amount": tax,
                              "total": amount + tax, "period_start": start, "period_end": end})
            status = _status(rng, last, sub_status)
            series_id = series[(country, "invoice")]
            number = next_number[series_id] = next_number.get(series_id, 0) + 1
            due = start + timedelta(days=10)
            invoices.append({
                "id": invoice_id, "organisation_id": payer_id, "subscription_id": sub_id,
                "period_key": f"sub:{sub_id}:{start:%Y-%m-%d}", "kind": "invoice", "credit_for_id": None,
                "series_id": series_id, "number": number, "status": status, "currency": currency, "locale": locale,
                "subtotal": subtotal, "tax_total": tax_total, "total": subtotal + tax_total,
                "period_start": start, "period_end": end, "issued_at": start, "due_at": due,
                "paid_at": due - timedelta(days=rng.randrange(0, 10)) if status == "paid" else None,
                "voided_at": due if status == "void" else None, "vendor_snapshot": vendor_snapshot,
                "customer_snapshot": {"name": name, "tax_id": tax_id, "country": country},
                "created_at": start,
            })
            if subtotal + tax_total >= 3 and rng.random() < 0.03:
                for n, amount in enumerate(split_installments(subtotal + tax_total, 3), start=1):
                    installment_id += 1
                    installments.append({"id": installment_id, "invoice_id": invoice_id, "number": n,
                                         "due_at": due + timedelta(days=30 * (n - 1)), "amount": amount,
                                         "paid_at": due if status == "paid" else None})
        ctx.insert(Invoice, invoices)
        ctx.insert(InvoiceLine, lines)
        ctx.insert(Installment, installments)
    for series_id, last in next_number.items():
        db.session.execute(update(InvoiceSeries).where(InvoiceSeries.id == series_id).values(next_number=last + 1))
