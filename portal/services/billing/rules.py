"""The billing rules shared by the subscription verbs and the billing sweep: periods, prices, lines.

Everything here is computation on plain values (no writes), so that a change made by a customer at noon and
the renewal made by the sweep at night price a subscription the same way.

- Periods: a monthly period runs from a day to the same day of the next month, an annual one to the same day
  of the next year. The day a subscription is anchored on is never lost to a short month: 31 Jan → 28 Feb →
  31 Mar. A trial is a period of its own (30 days); the first paid period starts when it ends.
- Prices: a product's price for the subscription's currency and period; an add-on priced only per month costs
  12 monthly prices on an annual subscription. A free product costs 0 and never makes a line.
- The reseller's discount (a billing setting, 50 % by default) is applied in the unit price of every recurring
  and prorated line (the line says so), as the invoices of the large data set do; it never applies to setup
  fees nor to overage.
- Overage: for the metered metrics (documents, API calls), the units used in the period beyond what the
  organisation's plans and add-ons include, at the plan's overage price in the currency. Quotas are monthly:
  an annual period includes twelve times as much. A trial period is free, overage included.
"""

import calendar
import functools
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_decimal
from flask_babel import force_locale, gettext

from portal.extensions import db
from portal.labels import METRIC_LABELS
from portal.models import Price, Product, Quota, Software
from portal.orm import read_together
from portal.services.billing import money

MONTHS = {"monthly": 1, "annual": 12}
TRIAL_DAYS = 30
# Summed over a period and billed beyond the quota; users and companies are levels, sold as add-ons.
METERED_METRICS = ("documents", "api_calls")
# A subscription in one of these states is billed and renewed, can be changed and is metered; the sweep looks at
# them only.
LIVE_STATUSES = ("trial", "active", "past_due")
# Every state but cancelled: the subscription still holds its plan and add-ons (a suspended one is resumed with
# them), so the organisation cannot take a second plan of the software and its prices are still in use.
SUBSCRIBED_STATUSES = (*LIVE_STATUSES, "suspended")


# Periods


def add_months(moment: datetime, months: int, day: int | None = None) -> datetime:
    """`moment` moved by whole months, on `day` (default: its own) or the month's last day when shorter."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(day or moment.day, last))


def first_period(start: datetime, period: str) -> tuple[datetime, datetime]:
    return start, add_months(start, MONTHS[period])


def next_period(start: datetime, end: datetime, period: str, after_trial: bool = False) -> tuple[datetime, datetime]:
    """The period that follows [start, end). A paid period's anchor day is the larger of its two ends' days: a
    day clamped by a short month is always the smaller one (of two months in a row, one has 31 days)."""
    if after_trial:
        return first_period(end, period)
    return end, add_months(end, MONTHS[period], day=max(start.day, end.day))


def period_key(subscription_id: int, start: datetime) -> str:
    """The unique key of the invoice that opens a subscription's period starting at `start` (UTC)."""
    return f"sub:{subscription_id}:{start.strftime('%Y-%m-%dT%H:%M:%S')}"


def whole_months_between(start: datetime, end: datetime) -> int:
    """How many whole months fit from `start` to `end` (0 when `end` is not later)."""
    months = max((end.year - start.year) * 12 + end.month - start.month, 0)
    while months and add_months(start, months, day=start.day) > end:
        months -= 1
    return months


# The catalog, loaded once


@dataclass(frozen=True)
class ProductInfo:
    id: int
    code: str
    kind: str
    software_id: int
    name: str
    names: dict
    is_free: bool
    pay_upfront: bool
    on_sale: bool  # the product, its software and its category are not retired

    def display_name(self, locale: str | None) -> str:
        return (self.names or {}).get(locale or "", {}).get("name") or self.name


@dataclass(frozen=True)
class QuotaInfo:
    metric: str
    included: int
    overage_prices: dict


@dataclass
class PriceBook:
    """Products, prices and quotas of the whole catalog (tens of rows): read once per sweep or per change."""

    products: dict[int, ProductInfo] = field(default_factory=dict)
    prices: dict[tuple[int, str, str], tuple[int, int]] = field(default_factory=dict)  # → (amount, setup fee)
    quotas: dict[int, list[QuotaInfo]] = field(default_factory=dict)

    @classmethod
    def load(cls, session=None) -> "PriceBook":
        """The catalog's products, prices and quotas, read in one statement."""
        return cls.from_rows(read_together(session or db.session, *cls.selects(), keep=True))

    @staticmethod
    @functools.cache
    def selects() -> tuple:
        """What `load` reads (to read it in the statement of other reads: portal.orm.read_together), the same
        objects on every call (read_together's keep=True)."""
        from portal.models import Category

        return (
            db.select(Product.id, Product.code, Product.kind, Product.software_id, Product.name, Product.names,
                      Product.is_free, Product.pay_upfront, Product.retired_at, Software.retired_at,
                      Product.category_id)
            .join(Software, Software.id == Product.software_id),
            db.select(Category.id).where(Category.retired_at.is_not(None)),
            db.select(Price.product_id, Price.currency, Price.period, Price.amount, Price.setup_fee),
            db.select(Quota.id, Quota.product_id, Quota.metric, Quota.included, Quota.overage_prices),
        )

    @classmethod
    def from_rows(cls, found: list[list[tuple]]) -> "PriceBook":
        """The book of the rows of `selects`."""
        rows, retired_categories, prices, quotas = found
        book = cls()
        retired_categories = {category_id for (category_id,) in retired_categories}
        for pid, code, kind, software_id, name, names, free, upfront, retired, sw_retired, category_id in rows:
            on_sale = retired is None and sw_retired is None and category_id not in retired_categories
            book.products[pid] = ProductInfo(pid, code, kind, software_id, name, names or {}, bool(free),
                                             bool(upfront), on_sale)
        for product_id, currency, period, amount, setup_fee in prices:
            book.prices[(product_id, currency, period)] = (amount, setup_fee)
        for _id, product_id, metric, included, overage in sorted(quotas, key=lambda row: row[0]):
            book.quotas.setdefault(product_id, []).append(QuotaInfo(metric, included, overage or {}))
        return book

    def period_amount(self, product_id: int, currency: str, period: str) -> int | None:
        """What one unit costs for a whole period (None: not sold in this currency for recurring periods)."""
        product = self.products.get(product_id)
        if product is None:
            return None
        if product.is_free:
            return 0
        price = self.prices.get((product_id, currency, period))
        if price is not None:
            return price[0]
        if period == "annual":
            monthly = self.prices.get((product_id, currency, "monthly"))
            if monthly is not None:
                return monthly[0] * 12
        return None

    def setup_fee(self, product_id: int, currency: str, period: str) -> int:
        price = self.prices.get((product_id, currency, period)) or self.prices.get((product_id, currency, "monthly"))
        return price[1] if price else 0

    def monthly_allowance(self, plan_id: int, items: list[tuple[int, int]]) -> dict[str, int]:
        """Units of each metered metric included per month by a plan and its add-ons (product id, quantity)."""
        included: dict[str, int] = {}
        for product_id, quantity in [(plan_id, 1), *items]:
            for quota in self.quotas.get(product_id, ()):
                if quota.metric in METERED_METRICS:
                    included[quota.metric] = included.get(quota.metric, 0) + quota.included * quantity
        return included

    def overage_price(self, product_ids: list[int], metric: str, currency: str) -> int | None:
        """The first overage price for `metric` in `currency` among the products (the plan first)."""
        for product_id in product_ids:
            for quota in self.quotas.get(product_id, ()):
                if quota.metric == metric and quota.overage_prices.get(currency) is not None:
                    return int(quota.overage_prices[currency])
        return None


# Lines, as the invoice's reader sees them


@dataclass(frozen=True)
class LineSpec:
    """One invoice line before tax: the invoicing service adds the tax of the customer's country."""

    kind: str  # recurring, prorated, overage, one_time, setup, discount, credit
    description: str
    unit_amount: int
    quantity: int = 1
    product_id: int | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    amount: int | None = None  # net of tax; by default quantity × unit_amount (a proration brings its own)
    tax_rate_bp: int | None = None  # by default the rate of the customer's country

    @property
    def net(self) -> int:
        return self.quantity * self.unit_amount if self.amount is None else self.amount


_DESCRIPTIONS = {
    "recurring_discounted": lambda v: gettext("%(product)s (reseller price, %(percent)s%% off)", **v),
    "quantity_increase": lambda v: gettext("%(product)s: %(quantity)s more, for the rest of the period", **v),
    "addon_added": lambda v: gettext("%(product)s × %(quantity)s, added for the rest of the period", **v),
    "quantity_decrease": lambda v: gettext("%(product)s: %(quantity)s fewer, credit for the rest of the period",
                                           **v),
    "addon_removed": lambda v: gettext("%(product)s × %(quantity)s, removed: credit for the rest of the period",
                                       **v),
    "upgrade": lambda v: gettext("Upgrade to %(product)s, difference for the rest of the period", **v),
    "setup": lambda v: gettext("Setup fee: %(product)s", **v),
    "overage": lambda v: gettext("%(metric)s beyond the %(included)s included", **v),
    "refund": lambda v: gettext("%(product)s: refund of %(months)s unused months", **v),
    "refund_charge": lambda v: gettext("%(description)s: refund of the unused months", **v),
    "credit_note": lambda v: gettext("Credit for invoice %(number)s: %(reason)s", **v),
    "credit_note_plain": lambda v: gettext("Credit for invoice %(number)s", **v),
    "rounding": lambda v: gettext("Rounding adjustment", **v),
    "client": lambda v: gettext("%(client)s (%(tax_label)s %(tax_id)s): %(details)s", **v),
    "client_no_tax_id": lambda v: gettext("%(client)s: %(details)s", **v),
}


@lru_cache(maxsize=8192)
def describe(key: str, locale: str, **values) -> str:
    """A line's description in the customer's language (cached: the sweep writes the same few thousands)."""
    with force_locale(locale):
        return _DESCRIPTIONS[key](values)[:300]


def metric_name(metric: str, locale: str) -> str:
    with force_locale(locale):
        return str(METRIC_LABELS.get(metric, metric))


def recurring_line(book: PriceBook, product_id: int, quantity: int, currency: str, period: str, discount_bp: int,
                   locale: str, start: datetime, end: datetime, unit_amount: int | None = None) -> LineSpec | None:
    """The line that charges a product for a whole period in advance (None for a free product); at the item's
    own price `unit_amount` for the period when it has one (a partner's price list), else the catalog's."""
    amount = book.period_amount(product_id, currency, period) if unit_amount is None else unit_amount
    if amount is None:
        raise MissingPrice(product_id, currency, period)
    unit = _discounted(amount, discount_bp)
    if unit == 0:
        return None
    name = book.products[product_id].display_name(locale)
    if discount_bp:
        text = describe("recurring_discounted", locale, product=name, percent=_percent(discount_bp, locale))
    else:
        text = name[:300]
    return LineSpec("recurring", text, unit, quantity, product_id, start, end)


_discounted = lru_cache(maxsize=65_536)(money.discounted)  # exact fractions are slow; prices repeat


@lru_cache(maxsize=1024)
def _percent(discount_bp: int, locale: str) -> str:
    """A discount in basis points as the customer reads it (5000 → "50"); the sweep asks for the same few."""
    return format_decimal(Decimal(discount_bp) / 100, locale=locale)


class MissingPrice(LookupError):
    """A product of a subscription has no price in its currency for its period: it cannot be renewed as is."""

    def __init__(self, product_id: int, currency: str, period: str):
        super().__init__(f"product {product_id} has no {period} price in {currency}")
        self.product_id, self.currency, self.period = product_id, currency, period
