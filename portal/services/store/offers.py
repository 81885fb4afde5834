"""What the store offers an organisation: the catalog's rows in order, each product with its price in the
organisation's currency for its subscription's period (or once), and whether the organisation has it.

A product is offered when it is on sale, sits in a store category, belongs to a software the organisation
subscribes to (any software when it has no subscription yet) and has a price in its currency (or is free).
The catalog is tens of products: what of it the organisation may be offered is read whole in two statements
(the products of the software it subscribes to, with their categories, then their prices in its currencies),
as plain rows, and paged here.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import bindparam

from portal.extensions import db
from portal.models import Category, Organisation, Price, Product, Quota, Subscription
from portal.models.catalog import Localised
from portal.services.billing import money
from portal.services.billing.rules import LIVE_STATUSES, SUBSCRIBED_STATUSES
from portal.services.catalog.search import on_sale
from portal.text import folded

ROW_SIZE = 4  # cards per page of a store row
SEARCH_LIMIT = 48
# Products that an organisation can hold several units of (and buy again); any other is held once.
STACKABLE_KINDS = ("additional_user", "additional_company", "service")


@dataclass
class Holdings:
    """The organisation's subscriptions by software, and the products it has (plans and add-ons)."""

    organisation: Organisation
    subscriptions: dict[int, Subscription] = field(default_factory=dict)  # software id → subscription
    active: dict[int, int] = field(default_factory=dict)  # product id → quantity held
    every: list[Subscription] = field(default_factory=list)  # all of them, suspended ones too, in id order

    @property
    def currency(self) -> str:
        first = next(iter(self.subscriptions.values()), None)
        return first.currency if first is not None else self.organisation.currency


@dataclass(frozen=True, slots=True)
class Shelf(Localised):
    """A store category as its row shows it: read with its products, as a plain row."""

    id: int
    code: str
    name: str
    names: dict


@dataclass(frozen=True, slots=True)
class ShelfProduct(Localised):
    """A product as the store shows it, read as a plain row (the store reads its catalog on every page), with
    its prices in the organisation's currencies and, on its own page, what it includes."""

    id: int
    code: str
    software_id: int
    category_id: int
    kind: str
    name: str
    names: dict
    description: str
    is_free: bool
    pay_upfront: bool
    prices: Sequence  # rows of (product_id, currency, period, amount, setup_fee)
    quotas: list = field(default_factory=list)  # rows of (metric, included)

    is_retired = False  # the store reads only what is on sale


@dataclass(frozen=True)
class Offer:
    product: Product | ShelfProduct  # a product of the cart (Product) or of the store's pages (ShelfProduct)
    currency: str
    period: str  # the subscription's period, or "one_time"
    unit: int  # one unit's price for the period (or once), the subscription's discount applied
    setup_fee: int
    subscription: Subscription | None
    held: int  # units the organisation has now

    @property
    def is_free(self) -> bool:
        return self.unit == 0 and self.setup_fee == 0

    @property
    def stackable(self) -> bool:
        return self.product.kind in STACKABLE_KINDS

    @property
    def is_active(self) -> bool:
        return self.held > 0 and self.period != "one_time"

    @property
    def can_add(self) -> bool:
        """Whether more of it can go in a cart: held once and active already, it cannot."""
        return self.stackable or not self.is_active

    @property
    def pay_now(self) -> bool:
        return self.period == "one_time" or self.product.pay_upfront


@dataclass(frozen=True)
class Row:
    category: Shelf
    offers: list[Offer]  # this page's
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@cache
def _holdings_query(joined: bool):
    """The statement of holdings (joined: its plans and add-ons read with it), built once; bound per call."""
    load = db.joinedload if joined else db.selectinload
    return (db.select(Subscription)
            .where(Subscription.organisation_id == bindparam("organisation_id"),
                   Subscription.status.in_(SUBSCRIBED_STATUSES))
            .options(load(Subscription.items), load(Subscription.plan))
            .order_by(Subscription.id))


def holdings(org: Organisation) -> Holdings:
    """What `org` subscribes to, to change it (its add-ons and plans read apart, in two more statements: a
    subscription is locked by refreshing it FOR UPDATE with the loaders it was read with, and PostgreSQL locks
    no row of an outer join)."""
    return _holdings(org, _holdings_query(False))


def shown_holdings(org: Organisation) -> Holdings:
    """What `org` subscribes to, for the store's pages (which change nothing): read in one statement, its plans
    and add-ons joined."""
    return _holdings(org, _holdings_query(True))


def _holdings(org: Organisation, statement) -> Holdings:
    found = Holdings(org)
    subs = db.session.scalars(statement, {"organisation_id": org.id}).unique().all()
    found.every = subs
    for sub in subs:
        found.subscriptions.setdefault(sub.plan.software_id, sub)
        found.active[sub.plan_id] = 1
        for item in sub.items:
            found.active[item.product_id] = found.active.get(item.product_id, 0) + item.quantity
    return found


def offer_for(product: Product | ShelfProduct, held: Holdings) -> Offer | None:
    """The product as the store sells it to the organisation, or None when it is not offered to it."""
    if product.is_retired or product.category_id is None:
        return None
    sub = held.subscriptions.get(product.software_id)
    if sub is None and held.subscriptions:
        return None
    currency = sub.currency if sub is not None else held.currency
    period = sub.period if sub is not None else "monthly"
    discount = sub.discount_bp if sub is not None else 0
    prices = {(p.currency, p.period): p for p in product.prices}
    price = prices.get((currency, period))
    amount = price.amount if price is not None else None
    if price is None and period == "annual" and (currency, "monthly") in prices:
        amount = prices[(currency, "monthly")].amount * 12
    setup = (price or prices.get((currency, "monthly")))
    fee = setup.setup_fee if setup is not None else 0
    if amount is None and (currency, "one_time") in prices:
        once = prices[(currency, "one_time")]
        period, amount, fee = "one_time", once.amount, once.setup_fee
    if product.is_free:
        amount, fee = 0, 0
    if amount is None:
        return None
    return Offer(product, currency, period, money.discounted(amount, discount), fee, sub,
                 held.active.get(product.id, 0))


# The store reads its catalog on every page, as plain rows of the tables' columns (an ORM entity or attribute
# would have the ORM build each row, which costs more than these small reads).
_PRODUCT, _CATEGORY, _PRICE, _QUOTA = (model.__table__.c for model in (Product, Category, Price, Quota))
_SHELF_COLUMNS = (_PRODUCT.id, _PRODUCT.code, _PRODUCT.software_id, _PRODUCT.category_id, _PRODUCT.kind,
                  _PRODUCT.name, _PRODUCT.names, _PRODUCT.description, _PRODUCT.is_free, _PRODUCT.pay_upfront,
                  _CATEGORY.code, _CATEGORY.name, _CATEGORY.names)


@cache
def _offered_products(subscribed: bool):
    """The products on sale in a store category, in catalog order, with their category; `subscribed`: only those
    of the software bound as `software_ids` (an organisation that subscribes to some is offered no other's).
    Built once of each kind; a caller adds its criteria."""
    statement = (db.select(*_SHELF_COLUMNS).join_from(Product.__table__, Category.__table__,
                                                      _CATEGORY.id == _PRODUCT.category_id)
                 .where(on_sale())
                 .order_by(_CATEGORY.position, _CATEGORY.id, _PRODUCT.position, _PRODUCT.name, _PRODUCT.id))
    if subscribed:
        statement = statement.where(_PRODUCT.software_id.in_(bindparam("software_ids", expanding=True)))
    return statement


@cache
def _in_category(subscribed: bool):
    return _offered_products(subscribed).where(_CATEGORY.code == bindparam("code"))


@cache
def _one_product(subscribed: bool):
    return _offered_products(subscribed).where(_PRODUCT.id == bindparam("product_id"))


@cache
def _matching(subscribed: bool):
    """The products whose search name contains the bound `needle` (escaped for LIKE: "/" before "/", % and _)."""
    return _offered_products(subscribed).where(_PRODUCT.search_name.contains(bindparam("needle"), escape="/"))


@cache
def _prices_query():
    """The prices of some products (`product_ids`) in some currencies (`currencies`)."""
    return db.select(_PRICE.product_id, _PRICE.currency, _PRICE.period, _PRICE.amount, _PRICE.setup_fee).where(
        _PRICE.product_id.in_(bindparam("product_ids", expanding=True)),
        _PRICE.currency.in_(bindparam("currencies", expanding=True)))


@cache
def _quotas_query():
    return db.select(_QUOTA.metric, _QUOTA.included).where(_QUOTA.product_id == bindparam("product_id"))


def _currencies(held: Holdings) -> list[str]:
    """The currencies the organisation is offered prices in: its subscriptions', or its own without one."""
    return sorted({sub.currency for sub in held.subscriptions.values()} or {held.currency})


def _shelves(held: Holdings, statement_for, binds: dict | None = None) -> list[tuple[Shelf, Offer]]:
    """The offers of the products that `statement_for(subscribed)` (_offered_products or one of its kind, with
    `binds`) reads, each with its category, in their order: their prices are read in one statement, only in
    the organisation's currencies (no other is offered)."""
    binds = dict(binds or {})
    if held.subscriptions:
        binds["software_ids"] = sorted(held.subscriptions)
    rows = db.session.execute(statement_for(bool(held.subscriptions)), binds).all()
    if not rows:
        return []
    prices: dict[int, list] = {}
    for price in db.session.execute(_prices_query(), {"product_ids": [row[0] for row in rows],
                                                      "currencies": _currencies(held)}):
        prices.setdefault(price.product_id, []).append(price)
    found, shelves = [], {}
    for (product_id, code, software_id, category_id, kind, name, names, description, is_free, pay_upfront,
         category_code, category_name, category_names) in rows:
        product = ShelfProduct(product_id, code, software_id, category_id, kind, name, names, description, is_free,
                               pay_upfront, prices.get(product_id, ()))
        offer = offer_for(product, held)
        if offer is not None:
            shelf = shelves.get(category_id) or shelves.setdefault(
                category_id, Shelf(category_id, category_code, category_name, category_names))
            found.append((shelf, offer))
    return found


def store_rows(held: Holdings, pages: dict[str, int] | None = None) -> list[Row]:
    """The store's rows in catalog order, each at its page (`pages`: category code → page, default 1);
    a category with nothing offered to the organisation is left out."""
    by_category: dict[int, tuple[Shelf, list[Offer]]] = {}
    for shelf, offer in _shelves(held, _offered_products):
        by_category.setdefault(shelf.id, (shelf, []))[1].append(offer)
    return [_row(shelf, offers, (pages or {}).get(shelf.code, 1)) for shelf, offers in by_category.values()]


def _row(category: Shelf, offers: list[Offer], page: int) -> Row:
    pages = -(-len(offers) // ROW_SIZE)
    page = min(max(page, 1), pages)
    return Row(category, offers[(page - 1) * ROW_SIZE:page * ROW_SIZE], page, pages)


def store_row(held: Holdings, code: str, page: int) -> Row | None:
    """One row of the store at `page` (what its arrows bring), or None when there is no such row."""
    found = _shelves(held, _in_category, {"code": code[:40]})
    return _row(found[0][0], [offer for _shelf, offer in found], page) if found else None


def search_offers(held: Holdings, term: str) -> list[Offer]:
    """The offered products whose name (in any language) or code contains `term`, accents and case aside."""
    needle = folded(term.strip()[:100])
    if not needle:
        return []
    escaped = needle.replace("/", "//").replace("%", "/%").replace("_", "/_")  # as LIKE … ESCAPE '/' reads it
    return [offer for _shelf, offer in _shelves(held, _matching, {"needle": escaped})][:SEARCH_LIMIT]


def product_offer(held: Holdings, product_id: int) -> Offer | None:
    """One offered product, for its page, with what it includes (None when the organisation is not offered it)."""
    found = _shelves(held, _one_product, {"product_id": product_id})
    if not found:
        return None
    offer = found[0][1]
    offer.product.quotas.extend(db.session.execute(_quotas_query(), {"product_id": product_id}))
    return offer


def can_change(offer: Offer) -> bool:
    """Whether the subscription the product would join can take changes now (not suspended)."""
    return offer.subscription is None or offer.subscription.status in LIVE_STATUSES
