"""Notices of a threshold crossed: a wallet's balance falling below its threshold, and a metric's usage reaching
80 % and then 100 % of what the plans include in the current billing period.

Each pass finds what is due for every organisation in a fixed number of statements (the balances, the usage and
the quotas are read in SQL, not organisation by organisation); only the notices actually sent cost their own
statements. Each goes out once per trigger (`dunning.send_once`):

- low balance: the trigger is the last movement that left the balance at or above the threshold, so a wallet
  that stays low hears once, and one topped up above the threshold and falling again hears again;
- usage: the trigger is the subscription's period, the metric and the level (80 or 100), so each level is told
  once per period and metric, and again in the next period.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, and_, case, cast, exists, literal, union_all
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.labels import METRIC_LABELS
from portal.models import (
    NoticeLog,
    Organisation,
    Quota,
    Subscription,
    SubscriptionItem,
    UsageEvent,
    WalletEntry,
    WalletSettings,
)
from portal.services.billing.rules import METERED_METRICS, MONTHS
from portal.services.billing.usage import METERED_STATUSES
from portal.services.notices.dunning import send_once

# Minor units under which a wallet without an auto-recharge threshold of its own is low: about ten dollars.
LOW_BALANCE_DEFAULTS = {"CLP": 10_000, "BRL": 5_000, "MXN": 20_000, "USD": 1_000}
USAGE_LEVELS = (80, 100)  # per cent of the included quantity, each told once per period and metric


@dataclass
class ThresholdResult:
    sent: dict[str, int] = field(default_factory=dict)

    def count(self, notice: str) -> None:
        self.sent[notice] = self.sent.get(notice, 0) + 1


def default_threshold(currency: str) -> int:
    return LOW_BALANCE_DEFAULTS.get(currency, 0)


def chosen_threshold(org: Organisation) -> int | None:
    """The organisation's auto-recharge threshold, when it set one."""
    settings = db.session.get(WalletSettings, org.id)
    return settings.recharge_threshold if settings is not None and settings.recharge_threshold > 0 else None


def threshold_of(org: Organisation) -> int:
    """The balance under which the organisation's wallet is low (as `_threshold` says in SQL)."""
    return chosen_threshold(org) or default_threshold(org.currency)


def _threshold():
    """The organisation's low-balance threshold as SQL: its auto-recharge threshold when it set one, otherwise
    the default of its currency (as `threshold_of` says in Python)."""
    default = case(*[(Organisation.currency == currency, amount) for currency, amount in LOW_BALANCE_DEFAULTS.items()],
                   else_=0)
    return case((WalletSettings.recharge_threshold > 0, WalletSettings.recharge_threshold), else_=default)


def low_wallets():
    """(organisation, balance, threshold, trigger) of every wallet (in its organisation's currency) whose balance
    is below its threshold and not yet told for this fall, in one statement."""
    threshold = _threshold()
    latest = (db.select(WalletEntry.organisation_id, db.func.max(WalletEntry.sequence).label("sequence"))
              .join(Organisation, and_(Organisation.id == WalletEntry.organisation_id,
                                       Organisation.currency == WalletEntry.currency))
              .group_by(WalletEntry.organisation_id).subquery())
    last, above = aliased(WalletEntry), aliased(WalletEntry)
    # The last movement that left the balance at or above the threshold (0: it never was): the fall began after.
    rose = (db.select(db.func.coalesce(db.func.max(above.sequence), 0))
            .where(above.organisation_id == Organisation.id, above.currency == Organisation.currency,
                   above.balance_after >= threshold)
            .correlate(Organisation, WalletSettings).scalar_subquery())
    trigger = literal("wallet:") + Organisation.currency + literal(":") + cast(rose, String)
    told = exists().where(NoticeLog.organisation_id == Organisation.id, NoticeLog.notice == "low_balance",
                          NoticeLog.trigger == trigger)
    return db.session.execute(
        db.select(Organisation, last.balance_after, threshold, trigger)
        .join(latest, latest.c.organisation_id == Organisation.id)
        .join(last, and_(last.organisation_id == Organisation.id, last.currency == Organisation.currency,
                         last.sequence == latest.c.sequence))
        .outerjoin(WalletSettings, WalletSettings.organisation_id == Organisation.id)
        .where(last.balance_after < threshold, ~told)
        .order_by(Organisation.id)).all()


@dataclass
class Usage:
    organisation_id: int
    subscription_id: int
    period: str
    currency: str
    start: datetime
    end: datetime
    used: dict[str, int] = field(default_factory=dict)
    included: dict[str, int] = field(default_factory=dict)
    overage_price: dict[str, int] = field(default_factory=dict)


def _primary_subscriptions():
    """Each organisation's subscription whose period frames its usage: its oldest one in force."""
    rank = db.func.row_number().over(partition_by=Subscription.organisation_id,
                                     order_by=(Subscription.created_at, Subscription.id)).label("rank")
    ranked = (db.select(Subscription.id, Subscription.organisation_id, Subscription.period, Subscription.currency,
                        Subscription.current_period_start, Subscription.current_period_end, rank)
              .where(Subscription.status.in_(METERED_STATUSES)).subquery())
    return db.select(ranked).where(ranked.c.rank == 1).subquery()


def usage_in_periods() -> dict[int, Usage]:
    """The metered usage of every organisation in its current period, with what its subscriptions include and
    the overage price, in two statements."""
    primary = _primary_subscriptions()
    in_period = (db.select(primary.c.organisation_id, primary.c.id, primary.c.period, primary.c.currency,
                           primary.c.current_period_start, primary.c.current_period_end, UsageEvent.metric,
                           db.func.sum(UsageEvent.quantity).label("used"))
                 .join(UsageEvent, and_(UsageEvent.organisation_id == primary.c.organisation_id,
                                        UsageEvent.occurred_at >= primary.c.current_period_start,
                                        UsageEvent.occurred_at < primary.c.current_period_end))
                 .where(UsageEvent.metric.in_(METERED_METRICS))
                 .group_by(primary.c.organisation_id, primary.c.id, primary.c.period, primary.c.currency,
                           primary.c.current_period_start, primary.c.current_period_end, UsageEvent.metric))
    found: dict[int, Usage] = {}
    for org_id, sub_id, period, currency, start, end, metric, total in db.session.execute(in_period):
        usage = found.setdefault(org_id, Usage(org_id, sub_id, period, currency, start, end))
        usage.used[metric] = int(total)
    if not found:
        return found
    using = in_period.subquery()
    live = and_(Subscription.status.in_(METERED_STATUSES),
                Subscription.organisation_id.in_(db.select(using.c.organisation_id)))
    # Each subscription's plan (first) and add-ons, with their quantities.
    products = union_all(
        db.select(Subscription.organisation_id, Subscription.id.label("subscription_id"),
                  Subscription.plan_id.label("product_id"), literal(1).label("quantity"),
                  literal(0).label("position")).where(live),
        db.select(Subscription.organisation_id, Subscription.id, SubscriptionItem.product_id,
                  SubscriptionItem.quantity, SubscriptionItem.id)
        .join(SubscriptionItem, SubscriptionItem.subscription_id == Subscription.id).where(live),
    ).subquery()
    for org_id, quantity, metric, included, prices in db.session.execute(
            db.select(products.c.organisation_id, products.c.quantity, Quota.metric, Quota.included,
                      Quota.overage_prices)
            .join(Quota, Quota.product_id == products.c.product_id)
            .where(Quota.metric.in_(METERED_METRICS))
            .order_by(products.c.organisation_id, products.c.subscription_id, products.c.position)):
        usage = found.get(org_id)
        if usage is None:
            continue
        usage.included[metric] = usage.included.get(metric, 0) + included * quantity
        price = (prices or {}).get(usage.currency)
        if price is not None and metric not in usage.overage_price:
            usage.overage_price[metric] = int(price)
    for usage in found.values():
        months = MONTHS.get(usage.period, 1)
        usage.included = {metric: units * months for metric, units in usage.included.items()}
    return found


def _level(used: int, included: int) -> int | None:
    """The highest level reached (80 or 100 per cent), None below 80 % or without an included quantity."""
    if included <= 0:
        return None
    reached = [level for level in USAGE_LEVELS if used * 100 >= included * level]
    return reached[-1] if reached else None


def usage_trigger(usage: Usage, metric: str, level: int) -> str:
    return f"usage:{usage.subscription_id}:{usage.start.date().isoformat()}:{metric}:{level}"


def run_threshold_notices(now: datetime) -> ThresholdResult:
    """One pass of the low-balance and usage notices due at `now`. Safe to run again, or twice at once."""
    from portal.services.mail import composing as mail

    result = ThresholdResult()
    wallet_link = mail.external_url("customer.wallet") + "#top_up"
    for org, balance, threshold, trigger in low_wallets():
        if send_once(org, "low_balance", trigger, now, wallet_link, balance=int(balance), threshold=int(threshold),
                     currency=org.currency):
            result.count("low_balance")

    due: list[tuple[Usage, str, int, str]] = []
    for usage in usage_in_periods().values():
        for metric in METERED_METRICS:
            level = _level(usage.used.get(metric, 0), usage.included.get(metric, 0))
            if level is not None:
                due.append((usage, metric, level, usage_trigger(usage, metric, level)))
    if not due:
        return result
    told = set(db.session.execute(
        db.select(NoticeLog.organisation_id, NoticeLog.trigger)
        .where(NoticeLog.notice == "usage_quota",
               NoticeLog.organisation_id.in_({usage.organisation_id for usage, *_rest in due}),
               NoticeLog.trigger.in_({trigger for *_rest, trigger in due}))).all())
    waiting = [item for item in due if (item[0].organisation_id, item[3]) not in told]
    organisations = {org.id: org for org in db.session.scalars(
        db.select(Organisation).where(Organisation.id.in_({usage.organisation_id for usage, *_rest in waiting})))}
    usage_link = mail.external_url("customer.account_month")
    for usage, metric, level, trigger in waiting:
        included = usage.included[metric]
        if send_once(organisations[usage.organisation_id], "usage_quota", trigger, now, usage_link, level=level,
                     metric=METRIC_LABELS[metric], used=usage.used.get(metric, 0), included=included,
                     over=max(usage.used.get(metric, 0) - included, 0), price=usage.overage_price.get(metric),
                     currency=usage.currency, period_start=usage.start, period_end=usage.end):
            result.count("usage_quota")
    return result
