"""Reading the catalog: lists in store order, the back office's product search, what is on sale, what is in
use by live subscriptions, the translated names of the catalog's codes, and the CSV export."""

import csv
import io

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.i18n import to_major
from portal.labels import PERIOD_LABELS, PRODUCT_KIND_LABELS
from portal.models import METRICS, PERIODS, Category, Price, Product, Quota, Software, Subscription, SubscriptionItem
from portal.models.catalog import CURRENCIES
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


def find_products(software_id: int | None = None, category_id: int | None = None, kind: str | None = None,
                  search: str | None = None, include_retired: bool = False):
    """A select of products for the back office's list, filtered, in store order."""
    query = (
        db.select(Product)
        .outerjoin(Category, Product.category_id == Category.id)
        .options(db.joinedload(Product.software), db.contains_eager(Product.category),
                 db.selectinload(Product.prices))
        .order_by(Category.position.is_(None), Category.position, Product.position, Product.name, Product.id)
    )
    if software_id:
        query = query.where(Product.software_id == software_id)
    if category_id:
        query = query.where(Product.category_id == category_id)
    if kind:
        query = query.where(Product.kind == kind)
    if search and search.strip():
        term = search.strip()[:100]
        query = query.where(Product.search_name.contains(folded(term), autoescape=True))
    if not include_retired:
        query = query.where(Product.retired_at.is_(None))
    return query


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
