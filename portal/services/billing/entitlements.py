"""Entitlements: how much of each metric an organisation's subscriptions include, and how much it uses.

Allowance per metric = the plans' quotas + the add-ons': an additional user adds a user and an additional
company a company (each × its quantity, unless the add-on states its own quota for that metric), and any
quota row of an add-on adds its metric × the add-on's quantity. Quotas of the metered metrics (documents,
API calls) are monthly, as the billing sweep counts them: an annual period includes twelve times as much.
A metric no subscription has a quota for is not limited (`included` is None).

Use: users are the organisation's memberships; documents and API calls are the usage reported in the
current billing period; companies are the latest count reported in the period (1 when none was).
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import inspect
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db
from portal.models import METRICS, Membership, Organisation, Product, Quota, Subscription, SubscriptionItem
from portal.orm import utcnow
from portal.services.billing.rules import METERED_METRICS, MONTHS
from portal.services.billing.usage import METERED_STATUSES, Period, current_period, latest_report, usage_totals

IMPLIED_BY_KIND = {"additional_user": "users", "additional_company": "companies"}
COUNTED = METERED_METRICS  # summed over the period; users and companies are levels


@dataclass(frozen=True)
class Entitlement:
    metric: str
    included: int | None  # None: the subscriptions set no limit
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.included is None else max(self.included - self.used, 0)

    @property
    def overage(self) -> int:
        return 0 if self.included is None else max(self.used - self.included, 0)


@dataclass
class Entitlements:
    organisation: Organisation
    subscriptions: list[Subscription]
    period: Period
    metrics: dict[str, Entitlement] = field(default_factory=dict)

    @property
    def primary(self) -> Subscription | None:
        """The subscription whose plan is shown first and whose period frames the usage."""
        return self.subscriptions[0] if self.subscriptions else None


def subscriptions_in_force(organisation_id: int) -> list[Subscription]:
    """The organisation's trial, active and past-due subscriptions to a plan (a license partner's has none and
    includes no quota), oldest first, plans and add-ons loaded with their quotas."""
    subscriptions = list(db.session.scalars(
        db.select(Subscription)
        .where(Subscription.organisation_id == organisation_id, Subscription.status.in_(METERED_STATUSES),
               Subscription.plan_id.is_not(None))
        .order_by(Subscription.created_at, Subscription.id)
        .options(joinedload(Subscription.plan),
                 selectinload(Subscription.items).joinedload(SubscriptionItem.product))
    ))
    _load_quotas({subscription.plan for subscription in subscriptions}
                 | {item.product for subscription in subscriptions for item in subscription.items})
    return subscriptions


def _load_quotas(products: set[Product]) -> None:
    """The quotas of the plans and the add-ons in one statement (a load per relationship cost one each);
    a product whose quotas are loaded already keeps them."""
    waiting = {product.id: product for product in products if "quotas" not in inspect(product).dict}
    if not waiting:
        return
    found: dict[int, list[Quota]] = {product_id: [] for product_id in waiting}
    for quota in db.session.scalars(db.select(Quota).where(Quota.product_id.in_(list(waiting)))):
        found[quota.product_id].append(quota)
    for product_id, product in waiting.items():
        set_committed_value(product, "quotas", found[product_id])


def allowances(subscriptions: list[Subscription]) -> dict[str, int]:
    """Units included per metric by the plans and add-ons of `subscriptions` in the period of the first one
    (metrics without a quota left out)."""
    included: dict[str, int] = {}

    def add(metric: str, units: int) -> None:
        included[metric] = included.get(metric, 0) + units

    for subscription in subscriptions:
        for quota in subscription.plan.quotas:
            add(quota.metric, quota.included)
        for item in subscription.items:
            stated = {quota.metric: quota.included * item.quantity for quota in item.product.quotas}
            implied = IMPLIED_BY_KIND.get(item.product.kind)
            if implied is not None:
                stated.setdefault(implied, item.quantity)
            for metric, units in stated.items():
                add(metric, units)
    months = MONTHS[subscriptions[0].period] if subscriptions else 1
    return {metric: units * months if metric in COUNTED else units for metric, units in included.items()}


def current_use(organisation_id: int, period: Period) -> dict[str, int]:
    """What the organisation uses now of each metric (see the module's docstring)."""
    totals = usage_totals(organisation_id, period.start, period.end)
    members = db.session.scalar(
        db.select(db.func.count()).select_from(Membership).where(Membership.organisation_id == organisation_id)
    )
    companies = latest_report(organisation_id, "companies", period.start, period.end) if "companies" in totals else 1
    used = {metric: totals.get(metric, 0) for metric in COUNTED}
    used.update(users=int(members or 0), companies=companies or 1)
    return used


def entitlements_for(organisation: Organisation, now: datetime | None = None) -> Entitlements:
    """The allowance and the use of every metric for `organisation` in its current billing period."""
    now = now or utcnow()
    subscriptions = subscriptions_in_force(organisation.id)
    period = current_period(organisation.id, now, subscriptions[0] if subscriptions else None)
    included = allowances(subscriptions)
    used = current_use(organisation.id, period)
    return Entitlements(organisation, subscriptions, period, {
        metric: Entitlement(metric, included.get(metric), used.get(metric, 0)) for metric in METRICS
    })
