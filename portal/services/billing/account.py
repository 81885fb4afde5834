"""The customer's billing overview: what it owes and what of that is overdue, and its last purchase.

Every query is scoped by the organisation passed in (the view passes `g.organisation`). What the next invoice of
each subscription will be is `portal.services.billing.estimate`.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.models import Invoice
from portal.services.billing import credit_notes


@dataclass(frozen=True)
class Balance:
    """What is still to pay in one currency, and the part of it past its due date."""

    currency: str
    due: int
    invoices: int
    overdue: int
    overdue_invoices: int
    oldest_due_at: datetime | None  # the earliest due date among the overdue ones


def balances(organisation_id: int, now: datetime) -> list[Balance]:
    """Per currency, what the open invoices billed to the organisation still ask (their totals less the credit
    notes and payments that settle part of them, as credit_notes.amount_due), how much of it is overdue, in one
    query."""
    return balances_from_rows(db.session.execute(balances_select(organisation_id, now)).all())


def balances_select(organisation_id: int, now: datetime):
    """What `balances` reads (to read it in the statement of other reads: portal.orm.read_together)."""
    left = credit_notes.left_to_pay()
    overdue = Invoice.is_overdue(now)
    return (db.select(Invoice.currency, db.func.sum(left), db.func.count(Invoice.id),
                      db.func.sum(db.case((overdue, left), else_=0)),
                      db.func.sum(db.case((overdue, 1), else_=0)),
                      db.func.min(db.case((overdue, Invoice.due_at), else_=None)))
            .where(Invoice.organisation_id == organisation_id, Invoice.kind == "invoice", Invoice.status == "open")
            .group_by(Invoice.currency).order_by(Invoice.currency))


def balances_from_rows(rows) -> list[Balance]:
    return [Balance(currency, max(int(due or 0), 0), int(count), max(int(late or 0), 0), int(late_count or 0),
                    oldest)
            for currency, due, count, late, late_count, oldest in sorted(rows, key=lambda row: row[0])]


def overdue_invoices(organisation_id: int, now: datetime, limit: int = 5) -> list[Invoice]:
    """The organisation's overdue invoices, the oldest due first (at most `limit`)."""
    return list(db.session.scalars(
        db.select(Invoice).options(joinedload(Invoice.series))
        .where(Invoice.organisation_id == organisation_id, Invoice.kind == "invoice", Invoice.is_overdue(now))
        .order_by(Invoice.due_at, Invoice.id).limit(limit)))


def last_purchase(organisation_id: int) -> Invoice | None:
    """The latest invoice issued to the organisation (not voided), with its lines: what it bought last."""
    return db.session.scalars(  # the lines joined in the same statement (the limit applies to the invoice)
        db.select(Invoice).options(joinedload(Invoice.series), joinedload(Invoice.lines))
        .where(Invoice.organisation_id == organisation_id, Invoice.kind == "invoice",
               Invoice.status.in_(("open", "paid", "uncollectible")), Invoice.issued_at.is_not(None))
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc()).limit(1)).unique().first()


def subscriptions(organisation_id: int) -> list:
    """The organisation's subscriptions that hold a plan (every state but cancelled), oldest first, with their
    plan and its software, add-ons, payer and any plan they change to."""
    from portal.models import Product, Subscription, SubscriptionItem
    from portal.services.billing.rules import SUBSCRIBED_STATUSES

    return list(db.session.scalars(
        db.select(Subscription)
        .where(Subscription.organisation_id == organisation_id, Subscription.status.in_(SUBSCRIBED_STATUSES))
        .order_by(Subscription.created_at, Subscription.id)
        .options(joinedload(Subscription.plan).joinedload(Product.software), joinedload(Subscription.payer),
                 joinedload(Subscription.pending_plan),
                 selectinload(Subscription.items).joinedload(SubscriptionItem.product))))


def subscription(organisation_id: int, subscription_id: int):
    """One subscription of the organisation (None for anyone else's)."""
    from portal.models import Subscription

    return db.session.scalar(db.select(Subscription).where(Subscription.id == subscription_id,
                                                           Subscription.organisation_id == organisation_id))


def choices(sub, book) -> tuple[list, list]:
    """The plans `sub` can move to and the add-ons it can take: of its software, on sale, priced in its currency
    and period (ids, for the forms), the current plan and the add-ons it has left out."""
    software = book.products[sub.plan_id].software_id
    held = {item.product_id for item in sub.items}
    plans, addons = [], []
    for info in book.products.values():
        if info.software_id != software or not info.on_sale:
            continue
        if book.period_amount(info.id, sub.currency, sub.period) is None:
            continue
        if info.kind == "plan" and info.id != sub.plan_id:
            plans.append(info)
        elif info.kind != "plan" and info.id not in held:
            addons.append(info)
    return sorted(plans, key=lambda p: p.name), sorted(addons, key=lambda p: p.name)
