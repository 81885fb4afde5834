"""What the billing sweep reads: the subscriptions due (locked), and for a batch of them, in a handful of grouped
queries, their add-ons, pending charges, payers, the metering of their organisations and the usage to bill."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from portal.bulk import among
from portal.extensions import db
from portal.models import Organisation, Subscription, SubscriptionCharge, SubscriptionItem, UsageEvent
from portal.orm import read_together
from portal.services.billing.rules import LIVE_STATUSES, METERED_METRICS

SUB_COLUMNS = (
    Subscription.id, Subscription.organisation_id, Subscription.payer_id, Subscription.plan_id,
    Subscription.currency, Subscription.period, Subscription.status, Subscription.discount_bp,
    Subscription.current_period_start, Subscription.current_period_end, Subscription.pending_plan_id,
    Subscription.suspend_at_period_end, Subscription.cancel_at_period_end, Subscription.suspended_at,
    Subscription.cancelled_at,
)
PAYER_COLUMNS = (Organisation.id, Organisation.name, Organisation.trade_name, Organisation.tax_id,
                 Organisation.address, Organisation.country, Organisation.phone, Organisation.timezone,
                 Organisation.locale, Organisation.kind)


@dataclass
class BatchInput:
    """What closing a batch of subscriptions needs, by subscription id (payers by organisation id)."""

    items: dict[int, list[tuple[int, int, int | None]]]  # (product id, quantity, own unit price)
    pending: dict[int, list]
    payers: dict[int, object]
    metered: dict[int, dict]
    usage: dict[int, dict[str, int]]


def due(now: datetime, after: int, limit: int):
    """The next `limit` subscriptions due at `now` after id `after`, in id order, locked (others skipped)."""
    return (
        db.select(*SUB_COLUMNS)
        .where(Subscription.status.in_(LIVE_STATUSES), Subscription.current_period_end <= now,
               Subscription.id > after)
        .order_by(Subscription.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def one(subscription_id: int):
    """The row of one subscription, as `due` reads it."""
    return db.session.execute(db.select(*SUB_COLUMNS).where(Subscription.id == subscription_id)).one()


def read_batch(rows) -> BatchInput:
    ids = [row.id for row in rows]
    items = _items(ids)
    payers = {row.id: row for row in db.session.execute(
        db.select(*PAYER_COLUMNS).where(among(Organisation.id, {row.payer_id for row in rows}))).all()}
    metered = _metering(rows, items)
    return BatchInput(items, _pending(ids), payers, metered, _usage(sorted(metered)))


def read_few(rows, *others) -> tuple[BatchInput, list[list[tuple]]]:
    """read_batch for a few subscriptions (one organisation's, as a page shows them) in one statement, with the
    rows of the `others` selects read in the same statement (portal.orm.read_together). The usage is read for
    each subscription of `rows` and kept for those that frame their organisation's usage, as read_batch reads it.
    The `others` are constants, as read_together's keep=True asks (invoicing.context_selects, PriceBook.selects)."""
    ids = [row.id for row in rows]
    orgs = {row.organisation_id for row in rows if row.status != "trial"}
    item_rows, payer_rows, in_force, pending, usage, *rest = read_together(
        db.session, *_FEW_SELECTS, *others, keep=True,
        params={"few_ids": ids, "few_payers": sorted({row.payer_id for row in rows}), "few_orgs": sorted(orgs)})
    items: dict[int, list[tuple[int, int, int | None]]] = {sub_id: [] for sub_id in ids}
    for _id, sub_id, product_id, quantity, unit in sorted(item_rows):
        items[sub_id].append((product_id, quantity, unit))
    payers = {row[0]: SimpleNamespace(**dict(zip(_PAYER_NAMES, row, strict=True))) for row in payer_rows}
    metered = _metering(rows, items, sorted(in_force, key=lambda row: (row[3], row[0])))
    found_pending: dict[int, list] = defaultdict(list)
    for row in sorted(pending, key=lambda row: row[0]):
        found_pending[row[1]].append(SimpleNamespace(**dict(zip(_PENDING_NAMES, row, strict=True))))
    found_usage: dict[int, dict[str, int]] = defaultdict(dict)
    for sub_id, metric, total in usage:
        if sub_id in metered:
            found_usage[sub_id][metric] = int(total)
    return BatchInput(items, found_pending, payers, metered, found_usage), rest


def _items(ids) -> dict[int, list[tuple[int, int, int | None]]]:
    """Each subscription's items: (product id, quantity, own unit price or None for the catalog's)."""
    found: dict[int, list[tuple[int, int, int | None]]] = defaultdict(list)
    for sub_id, product_id, quantity, unit in db.session.execute(
            db.select(SubscriptionItem.subscription_id, SubscriptionItem.product_id, SubscriptionItem.quantity,
                      SubscriptionItem.unit_amount)
            .where(among(SubscriptionItem.subscription_id, ids)).order_by(SubscriptionItem.id)):
        found[sub_id].append((product_id, quantity, unit))
    return found


def _pending(ids) -> dict[int, list]:
    found: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
            db.select(SubscriptionCharge.id, SubscriptionCharge.subscription_id, SubscriptionCharge.kind,
                      SubscriptionCharge.reason, SubscriptionCharge.product_id, SubscriptionCharge.quantity,
                      SubscriptionCharge.unit_amount, SubscriptionCharge.amount, SubscriptionCharge.period_start,
                      SubscriptionCharge.period_end)
            .where(among(SubscriptionCharge.subscription_id, ids), SubscriptionCharge.collected_at.is_(None))
            .order_by(SubscriptionCharge.id)):
        found[row.subscription_id].append(row)
    return found


def _metering(rows, items, in_force=None) -> dict[int, dict]:
    """For each subscription of the batch that frames its organisation's usage (the organisation's oldest one in
    force, as for the usage screens) and is not in trial: its organisation's monthly allowance per metric and the
    products whose overage prices apply, plan first."""
    orgs = {row.organisation_id for row in rows if row.status != "trial"}
    if not orgs:
        return {}
    if in_force is None:
        in_force = db.session.execute(_IN_FORCE.where(among(Subscription.organisation_id, orgs))
                                      .order_by(Subscription.created_at, Subscription.id)).all()
    in_force = [row[:3] for row in in_force]
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
        metered[first_id] = {"subs": subs, "items": {sub_id: [(product_id, quantity) for product_id, quantity, _u
                                                              in all_items.get(sub_id, [])] for sub_id, _p in subs}}
    return metered


def _usage(subscription_ids: list[int]) -> dict[int, dict[str, int]]:
    """Units used per metered metric in each subscription's current period by its organisation: one grouped
    query (a join on the periods as they are before the batch moves them)."""
    found: dict[int, dict[str, int]] = defaultdict(dict)
    if not subscription_ids:
        return found
    for sub_id, metric, total in db.session.execute(_USAGE_SELECT.where(among(Subscription.id, subscription_ids))):
        found[sub_id][metric] = int(total)
    return found


_IN_FORCE = db.select(Subscription.id, Subscription.organisation_id, Subscription.plan_id,
                      Subscription.created_at).where(Subscription.status.in_(LIVE_STATUSES))
_ITEMS = db.select(SubscriptionItem.id, SubscriptionItem.subscription_id, SubscriptionItem.product_id,
                   SubscriptionItem.quantity, SubscriptionItem.unit_amount)
_PENDING_NAMES = ("id", "subscription_id", "kind", "reason", "product_id", "quantity", "unit_amount", "amount",
                  "period_start", "period_end")
_PENDING = db.select(*[getattr(SubscriptionCharge, name) for name in _PENDING_NAMES]).where(
    SubscriptionCharge.collected_at.is_(None))
_PAYER_NAMES = tuple(column.key for column in PAYER_COLUMNS)

_USAGE_SELECT = (
    db.select(Subscription.id, UsageEvent.metric, db.func.sum(UsageEvent.quantity))
    .join(UsageEvent, db.and_(UsageEvent.organisation_id == Subscription.organisation_id,
                              UsageEvent.occurred_at >= Subscription.current_period_start,
                              UsageEvent.occurred_at < Subscription.current_period_end))
    .where(UsageEvent.metric.in_(METERED_METRICS))
    .group_by(Subscription.id, UsageEvent.metric)
)


_FEW_IDS = db.bindparam("few_ids", expanding=True)
# read_few's own reads, with the subscriptions, payers and organisations as parameters.
_FEW_SELECTS = (
    _ITEMS.where(SubscriptionItem.subscription_id.in_(_FEW_IDS)),
    db.select(*PAYER_COLUMNS).where(Organisation.id.in_(db.bindparam("few_payers", expanding=True))),
    _IN_FORCE.where(Subscription.organisation_id.in_(db.bindparam("few_orgs", expanding=True))),
    _PENDING.where(SubscriptionCharge.subscription_id.in_(_FEW_IDS)),
    _USAGE_SELECT.where(Subscription.id.in_(_FEW_IDS)),
)
