"""What the store offers an organisation: the catalog's rows in order, each product with its price in the
organisation's currency for its subscription's period (or once), and whether the organisation has it.

A product is offered when it is on sale, sits in a store category, belongs to a software the organisation
subscribes to (any software when it has no subscription yet) and has a price in its currency (or is free).
The catalog is tens of products: it is read whole in two statements and paged here.
"""

from dataclasses import dataclass, field

from portal.extensions import db
from portal.models import Category, Organisation, Product, Subscription
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


@dataclass(frozen=True)
class Offer:
    product: Product
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
    category: Category
    offers: list[Offer]  # this page's
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def holdings(org: Organisation) -> Holdings:
    """What `org` subscribes to, read in one statement (its add-ons with it)."""
    found = Holdings(org)
    subs = db.session.scalars(
        db.select(Subscription).where(Subscription.organisation_id == org.id,
                                      Subscription.status.in_(SUBSCRIBED_STATUSES))
        .options(db.selectinload(Subscription.items), db.selectinload(Subscription.plan))
        .order_by(Subscription.id)).all()
    found.every = subs
    for sub in subs:
        found.subscriptions.setdefault(sub.plan.software_id, sub)
        found.active[sub.plan_id] = 1
        for item in sub.items:
            found.active[item.product_id] = found.active.get(item.product_id, 0) + item.quantity
    return found


def offer_for(product: Product, held: Holdings) -> Offer | None:
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


def _offered_products():
    return (db.select(Product).join(Category, Category.id == Product.category_id)
            .where(on_sale()).options(db.selectinload(Product.prices))
            .order_by(Category.position, Category.id, Product.position, Product.name, Product.id))


def _offers(query, held: Holdings) -> list[Offer]:
    return [offer for offer in (offer_for(p, held) for p in db.session.scalars(query)) if offer is not None]


def store_rows(held: Holdings, pages: dict[str, int] | None = None) -> list[Row]:
    """The store's rows in catalog order, each at its page (`pages`: category code → page, default 1);
    a category with nothing offered to the organisation is left out."""
    categories = db.session.scalars(
        db.select(Category).where(Category.retired_at.is_(None)).order_by(Category.position, Category.id)).all()
    by_category: dict[int, list[Offer]] = {}
    for offer in _offers(_offered_products(), held):
        by_category.setdefault(offer.product.category_id, []).append(offer)
    rows = []
    for category in categories:
        offers = by_category.get(category.id)
        if offers:
            rows.append(_row(category, offers, (pages or {}).get(category.code, 1)))
    return rows


def _row(category: Category, offers: list[Offer], page: int) -> Row:
    pages = -(-len(offers) // ROW_SIZE)
    page = min(max(page, 1), pages)
    return Row(category, offers[(page - 1) * ROW_SIZE:page * ROW_SIZE], page, pages)


def store_row(held: Holdings, code: str, page: int) -> Row | None:
    """One row of the store at `page` (what its arrows bring), or None when there is no such row."""
    category = db.session.scalar(db.select(Category).where(Category.code == code[:40],
                                                           Category.retired_at.is_(None)))
    if category is None:
        return None
    offers = _offers(_offered_products().where(Product.category_id == category.id), held)
    return _row(category, offers, page) if offers else None


def search_offers(held: Holdings, term: str) -> list[Offer]:
    """The offered products whose name (in any language) or code contains `term`, accents and case aside."""
    needle = folded(term.strip()[:100])
    if not needle:
        return []
    query = _offered_products().where(Product.search_name.contains(needle, autoescape=True))
    return _offers(query, held)[:SEARCH_LIMIT]


def product_offer(held: Holdings, product_id: int) -> Offer | None:
    """One offered product, for its page (None when the organisation is not offered it)."""
    product = db.session.scalar(_offered_products().where(Product.id == product_id))
    return offer_for(product, held) if product is not None else None


def can_change(offer: Offer) -> bool:
    """Whether the subscription the product would join can take changes now (not suspended)."""
    return offer.subscription is None or offer.subscription.status in LIVE_STATUSES
