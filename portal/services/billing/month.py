"""This month's account ("Cuenta mensual"): the services in force in the current period with their prices, the
activations made in it (what, when, who, the prorated amount) and the overconsumption of each metered metric.

Prices and overage come from the rules the billing sweep applies (rules.PriceBook, money.discounted): a service's
amount here is the line its renewal invoice carries, and the overage "so far" is the sweep's overage line for the
usage reported until now. Every query is scoped by the organisation passed in.
"""

from dataclasses import dataclass

from portal.models import Subscription
from portal.services.billing import money
from portal.services.billing.entitlements import Entitlements
from portal.services.billing.rules import METERED_METRICS, PriceBook

# The events that activate something during a period: a plan started, an add-on or more units, an upgrade.
ACTIVATION_ACTIONS = ("started", "trial_started", "addon_added", "quantity_changed", "plan_changed", "resumed")


@dataclass(frozen=True)
class Service:
    """A product in force in a subscription's current period and what the period costs."""

    subscription: Subscription
    product_id: int
    name: str
    kind: str
    quantity: int
    unit_amount: int  # the whole period's price of one unit, the subscription's discount applied
    amount: int  # quantity × unit, before tax

    @property
    def currency(self) -> str:
        return self.subscription.currency


@dataclass(frozen=True)
class Overconsumption:
    """One metered metric in the current period: units used beyond what the plans include, and their cost."""

    metric: str
    used: int
    included: int
    unit_price: int | None  # the overage price in the currency (None: the excess is not billed)
    currency: str

    @property
    def excess(self) -> int:
        return max(self.used - self.included, 0)

    @property
    def amount(self) -> int:
        return self.excess * (self.unit_price or 0)


def services(subscriptions: list[Subscription], book: PriceBook, locale: str | None) -> list[Service]:
    """Plan and add-ons of each subscription in force, with their prices for the current period (an unpriced
    product is left out: its renewal is on hold, which the billing overview says)."""
    found = []
    for sub in subscriptions:
        for product_id, quantity in [(sub.plan_id, 1), *((item.product_id, item.quantity) for item in sub.items)]:
            amount = book.period_amount(product_id, sub.currency, sub.period)
            if amount is None:
                continue
            unit = money.discounted(amount, sub.discount_bp)
            info = book.products[product_id]
            found.append(Service(sub, product_id, info.display_name(locale), info.kind, quantity, unit,
                                 unit * quantity))
    return found


def overconsumption(entitlements: Entitlements, book: PriceBook) -> list[Overconsumption]:
    """The metered metrics with a quota in the current period: used, included, the overage price (the first the
    plans and add-ons state in the currency, plan first, as the sweep takes it)."""
    primary = entitlements.primary
    if primary is None:
        return []
    product_ids = []
    for sub in entitlements.subscriptions:
        product_ids.append(sub.plan_id)
        product_ids.extend(item.product_id for item in sub.items)
    found = []
    for metric in METERED_METRICS:
        entitlement = entitlements.metrics.get(metric)
        if entitlement is None or entitlement.included is None:
            continue
        found.append(Overconsumption(metric, entitlement.used, entitlement.included,
                                     book.overage_price(product_ids, metric, primary.currency), primary.currency))
    return found

