"""Reading the catalog: lists in store order, the back office's product search, what is on sale, what is in
use by live subscriptions, the translated names of the catalog's codes, and the CSV export."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.i18n import to_major
from portal.labels import PERIOD_LABELS, PRODUCT_KIND_LABELS
from portal.models import METRICS, PERIODS, Category, Price, Product, Quota, Software, Subscription, SubscriptionItem
from portal.models.catalog import CURRENCIES, Localised
from portal.pagination import Page, page_of
from portal.services.billing.rules import SUBSCRIBED_STATUSES
from portal.text import folded


def list_software() -> list[Software]:
    return db.session.scalars(db.select(Software).order_by(Software.retired_at.is_not(None), Software.name)).all()


def list_categories() -> list[Category]:
    """Every category in store order (retired ones keep their place)."""
    return db.session.scalars(db.select(Category).order_by(Category.position, Category.id)).all()


def live_subscriptions(product: Product) -> int:
    """How many subscriptions that are not cancelled have this product, as plan, next plan or add-on."""
    with_item = db.select(SubscriptionItem.subscription_id).where(SubscriptionItem.product_id == product.id)
    return db.session.scalar(
        db.select(db.func.count(Subscription.id)).where(
            Subscription.status.in_(SUBSCRIBED_STATUSES),
            db.or_(Subscription.plan_id == product.id, Subscription.pending_plan_id == product.id,
                   Subscription.id.in_(with_item)),
        )
    ) or 0


def products_offered(owner: Software | Category) -> int:
    """How many products of a software or category are not retired."""
    column = Product.software_id if isinstance(owner, Software) else Product.category_id
    return db.session.scalar(
        db.select(db.func.count(Product.id)).where(column == owner.id, Product.retired_at.is_(None))
    ) or 0


def sorted_prices(product: Product) -> list[Price]:
    return sorted(product.prices, key=lambda p: (CURRENCIES.index(p.currency), PERIODS.index(p.period)))


def sorted_quotas(product: Product) -> list[Quota]:
    return sorted(product.quotas, key=lambda q: METRICS.index(q.metric))


def on_sale():
    """The condition of a product that can be sold now: it, its software and its category are not retired."""
    return db.and_(
        Product.retired_at.is_(None),
        Product.software.has(Software.retired_at.is_(None)),
        db.or_(Product.category_id.is_(None), Product.category.has(Category.retired_at.is_(None))),
    )


def _product_criteria(software_id: int | None, category_id: int | None, kind: str | None, search: str | None,
                      include_retired: bool) -> list:
    criteria = []
    if software_id:
        criteria.append(Product.software_id == software_id)
    if category_id:
        criteria.append(Product.category_id == category_id)
    if kind:
        criteria.append(Product.kind == kind)
    if search and search.strip():
        term = search.strip()[:100]
        criteria.append(Product.search_name.contains(folded(term), autoescape=True))
    if not include_retired:
        criteria.append(Product.retired_at.is_(None))
    return criteria


_STORE_ORDER = (Category.position.is_(None), Category.position, Product.position, Product.name, Product.id)


def find_products(software_id: int | None = None, category_id: int | None = None, kind: str | None = None,
                  search: str | None = None, include_retired: bool = False):
    """A select of products for the back office's list, filtered, in store order."""
    return (
        db.select(Product)
        .outerjoin(Category, Product.category_id == Category.id)
        .options(db.joinedload(Product.software), db.contains_eager(Product.category),
                 db.selectinload(Product.prices))
        .where(*_product_criteria(software_id, category_id, kind, search, include_retired))
        .order_by(*_STORE_ORDER)
    )


@dataclass(frozen=True, slots=True)
class Named(Localised):
    """The software or store category of a listed product: what the list shows of it."""

    name: str
    names: dict


@dataclass(frozen=True, slots=True)
class ListedProduct(Localised):
    """A product as the back office's list shows it: its names, kind, status, software, category and monthly
    prices (amount, currency) in the catalog's currency order; read by one statement, not loaded as a model
    with every price."""

    id: int
    code: str
    name: str
    names: dict
    kind: str
    is_free: bool
    retired_at: datetime | None
    software: Named
    category: Named | None
    monthly_prices: tuple[tuple[int, str], ...]


_LISTED_COLUMNS = (Product.id, Product.code, Product.name, Product.names, Product.kind, Product.is_free,
                   Product.retired_at, Software.name, Software.names, Category.id, Category.name, Category.names)


def product_list(number: int, nothing: bool = False, **filters) -> Page:
    """Page `number` of the products `find_products(**filters)` finds, as ListedProducts (`nothing`: a
    search that can find none, answered with an empty page)."""
    query = (
        db.select(*_LISTED_COLUMNS)
        .join(Software, Product.software_id == Software.id)
        .outerjoin(Category, Product.category_id == Category.id)
        .where(*_product_criteria(**filters))
        .order_by(*_STORE_ORDER)
    )
    if nothing:
        query = query.where(db.false())
    page = page_of(query, number, as_rows=True)
    ids = [row[0] for row in page.items]
    monthly: dict[int, list[tuple[int, str]]] = {}
    if ids:
        prices = db.session.execute(
            db.select(Price.product_id, Price.amount, Price.currency)
            .where(Price.product_id.in_(ids), Price.period == "monthly")
        ).all()
        for product_id, amount, currency in sorted(prices, key=lambda row: CURRENCIES.index(row[2])):
            monthly.setdefault(product_id, []).append((amount, currency))
    page.items = [
        ListedProduct(id_, code, name, names, kind, is_free, retired_at, Named(software_name, software_names),
                      Named(category_name, category_names) if category_id is not None else None,
                      tuple(monthly.get(id_, ())))
        for (id_, code, name, names, kind, is_free, retired_at, software_name, software_names, category_id,
             category_name, category_names) in page.items
    ]
    return page


def price_uses(product: Product, price: Price) -> int:
    """How many live subscriptions are billed with this price (same product, currency and period)."""
    with_item = db.select(SubscriptionItem.subscription_id).where(SubscriptionItem.product_id == product.id)
    return db.session.scalar(
        db.select(db.func.count(Subscription.id)).where(
            Subscription.status.in_(SUBSCRIBED_STATUSES),
            Subscription.currency == price.currency,
            Subscription.period == price.period,
            db.or_(Subscription.plan_id == product.id, Subscription.pending_plan_id == product.id,
                   Subscription.id.in_(with_item)),
        )
    ) or 0


def _cell(value) -> str:
    """A cell a spreadsheet shows as text: a leading =, +, - or @ would otherwise run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(query, locale: str) -> str:
    """The products of `query` as CSV, one line per price (a product without prices has one line), amounts
    as plain decimals in major units so that spreadsheets add them up."""
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so that spreadsheets read the accents as UTF-8
    writer = csv.writer(buffer)
    writer.writerow([str(title) for title in (
        _l("Code"), _l("Product"), _l("Kind"), _l("Software"), _l("Store category"), _l("Status"), _l("Currency"),
        _l("Period"), _l("Price"), _l("Setup fee"))])
    for product in db.session.scalars(query).unique():
        head = [product.code, _cell(product.display_name(locale)), str(PRODUCT_KIND_LABELS[product.kind]),
                _cell(product.software.display_name(locale)),
                _cell(product.category.display_name(locale)) if product.category else "",
                str(_l("Retired") if product.retired_at else _l("On sale"))]
        prices = sorted_prices(product)
        for price in prices:
            writer.writerow(head + [price.currency, str(PERIOD_LABELS[price.period]),
                                    str(to_major(price.amount, price.currency)),
                                    str(to_major(price.setup_fee, price.currency))])
        if not prices:
            writer.writerow(head + ["", "", "", ""])
    return buffer.getvalue()
