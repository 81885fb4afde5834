"""Each user's cart in an organisation: kept in the database (it survives logging out), changed line by line,
and priced again every time it is read, exactly as the subscription service will charge it.

A line's price: for a product billed per period, the days from now to the end of the subscription's period,
prorated by day (nothing during a trial), plus its setup fee when it is new to the subscription; for a
product bought once, its price times the quantity plus its setup fee. Each line carries the tax of the payer's
country. What is paid at activation (a product marked "pay at activation", or bought once) is invoiced then;
the rest is charged on the next monthly bill, which also starts adding the products' price per period.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam
from sqlalchemy.orm.util import identity_key

from portal.extensions import db
from portal.models import Organisation, Product, TaxRate, User
from portal.models.store import CartLine
from portal.services.billing import money
from portal.services.billing.subscriptions import MAX_QUANTITY
from portal.services.billing.subscriptions.common import prorated_amount
from portal.services.errors import DomainError
from portal.services.store.offers import Holdings, Offer, holdings, offer_for

LINE_PROBLEMS = ("retired", "unavailable", "already_active", "no_plan", "suspended")


def _quantity(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DomainError(_l("The quantity must be a whole number of at least 1."), code="invalid_quantity",
                          field="quantity")
    return value


def check_quantity(offer: Offer, quantity, already: int = 0) -> int:
    """A quantity the product can be bought in: held once, one; otherwise up to the subscription's limit."""
    quantity = _quantity(quantity)
    limit = MAX_QUANTITY - offer.held if offer.stackable else 1
    if quantity + already > limit:
        if not offer.stackable:
            raise DomainError(_l("%(product)s is bought once: the quantity is 1.", product=offer.product.name),
                              code="quantity_too_large", field="quantity")
        raise DomainError(_l("The quantity can be at most %(max)s. For more, talk to your commercial advisor.",
                             max=f"{max(limit - already, 0):,}"), code="quantity_too_large", field="quantity")
    return quantity


def cart_lines(org: Organisation, user: User) -> list[CartLine]:
    """The user's cart as it stands, each line with its product (not priced: the store's panel lists it); not
    read when the count read with the session's user (line_count) says it is empty."""
    if (getattr(user, "cart_line_counts", None) or {}).get(org.id) == 0:
        return []
    return db.session.scalars(_cart_lines_query(), {"organisation_id": org.id, "user_id": user.id}).all()


@cache
def _cart_lines_query():
    """The statement of cart_lines, built once; bound per call."""
    return (db.select(CartLine).where(CartLine.organisation_id == bindparam("organisation_id"),
                                      CartLine.user_id == bindparam("user_id"))
            .options(db.joinedload(CartLine.product)).order_by(CartLine.id))


def _lines(org: Organisation, user: User) -> list[CartLine]:
    return db.session.scalars(
        db.select(CartLine).where(CartLine.organisation_id == org.id, CartLine.user_id == user.id)
        .options(db.joinedload(CartLine.product).selectinload(Product.prices)).order_by(CartLine.id)).all()


def line_count(org: Organisation, user: User) -> int:
    """How many products are in the user's cart (the top bar's badge, on every page of its administrator): as
    counted with the session's user (accounts.auth.session_user) unless the cart changed since."""
    known = getattr(user, "cart_line_counts", None)
    if known and org.id in known:
        return known[org.id]
    return db.session.scalar(_line_count_query(), {"organisation_id": org.id, "user_id": user.id}) or 0


@cache
def _line_count_query():
    """The statement of line_count, built once (building it cost more than running it); bound per call."""
    return db.select(db.func.count(CartLine.id)).where(
        CartLine.organisation_id == bindparam("organisation_id"), CartLine.user_id == bindparam("user_id"))


def _changed(user_id: int) -> None:
    """The user's cart gains or loses a line: the count read with the session's user no longer holds."""
    user = db.session.identity_map.get(identity_key(User, user_id))
    if getattr(user, "cart_line_counts", None):
        user.cart_line_counts = {}


def cart_line(org: Organisation, user: User, line_id: int) -> CartLine | None:
    """One line of the user's own cart (None for anyone else's)."""
    return db.session.scalar(db.select(CartLine).where(
        CartLine.id == line_id, CartLine.organisation_id == org.id, CartLine.user_id == user.id))


def _problem(offer: Offer | None, product: Product, held: Holdings) -> str | None:
    if offer is None:
        return "retired" if product.is_retired else "unavailable"
    if offer.subscription is None:
        return "no_plan"
    if offer.subscription.status not in ("trial", "active", "past_due"):
        return "suspended"
    if not offer.can_add:
        return "already_active"
    return None


def add_to_cart(org: Organisation, user: User, product: Product | None, quantity, now: datetime,
                held: Holdings | None = None, lines: list[CartLine] | None = None) -> CartLine:
    """Put a product in the cart (a product already there gets the quantity added, when it can be held
    several times). The price the store shows now is kept, to tell later whether it changed. `held` and
    `lines` are what the caller already read of the organisation's holdings and of the cart (`cart_lines`);
    a new line is appended to `lines`, so that the caller shows the cart as it now stands."""
    held = holdings(org) if held is None else held
    offer = offer_for(product, held) if product is not None else None
    if offer is None:
        raise DomainError(_l("This product is not offered in your store. Choose another one."),
                          code="not_offered", field="product_id")
    problem = _problem(offer, offer.product, held)
    if problem is not None:
        raise DomainError(problem_message(problem, offer.product), code=problem, field="product_id")
    lines = _lines(org, user) if lines is None else lines
    line = next((each for each in lines if each.product_id == product.id), None)
    quantity = check_quantity(offer, quantity, line.quantity if line is not None else 0)
    if line is None:
        line = CartLine(organisation_id=org.id, user_id=user.id, product_id=product.id, quantity=quantity,
                        currency=offer.currency, unit_amount=offer.unit, added_at=now)
        db.session.add(line)
        lines.append(line)
        _changed(user.id)
    else:
        line.quantity += quantity
    db.session.flush()
    return line


def set_quantity(org: Organisation, user: User, line: CartLine, quantity) -> CartLine:
    held = holdings(org)
    offer = offer_for(line.product, held)
    if offer is None:
        raise DomainError(problem_message(_problem(None, line.product, held), line.product),
                          code="not_offered", field="quantity")
    line.quantity = check_quantity(offer, quantity)
    db.session.flush()
    return line


def remove_line(line: CartLine) -> None:
    _changed(line.user_id)
    db.session.delete(line)
    db.session.flush()


def clear_cart(org: Organisation, user: User) -> None:
    _changed(user.id)
    db.session.execute(db.delete(CartLine).where(CartLine.organisation_id == org.id, CartLine.user_id == user.id))


def problem_message(problem: str, product: Product):
    name = product.name
    return {
        "retired": _l("%(product)s is no longer sold. Remove it from your cart.", product=name),
        "unavailable": _l("%(product)s is no longer offered in your store. Remove it from your cart.",
                          product=name),
        "already_active": _l("%(product)s is already active in your plan.", product=name),
        "no_plan": _l("%(product)s needs a plan of its software first. Your commercial advisor can help you "
                      "choose one.", product=name),
        "suspended": _l("Your plan is suspended: resume it before adding %(product)s.", product=name),
    }[problem]


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    offer: Offer | None
    problem: str | None
    now_amount: int  # net: the rest of this period (or the purchase), setup fee included
    setup_fee: int
    tax: int
    period_amount: int  # net, added to each later bill (0 for a product bought once)
    tax_rate_bp: int

    @property
    def price_changed(self) -> bool:
        return self.offer is not None and (self.offer.unit != self.line.unit_amount
                                           or self.offer.currency != self.line.currency)

    @property
    def pay_now(self) -> bool:
        return self.offer is not None and self.offer.pay_now

    @property
    def total(self) -> int:
        return self.now_amount + self.tax


@dataclass
class Totals:
    currency: str
    due_now: int = 0  # with tax: invoiced at activation
    next_bill: int = 0  # with tax: the prorated part and setup fees, on the next monthly bill
    per_period: int = 0  # with tax: what every later bill adds
    next_bill_at: datetime | None = None


@dataclass
class PricedCart:
    lines: list[PricedLine] = field(default_factory=list)
    totals: dict[str, Totals] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def activatable(self) -> bool:
        return bool(self.lines) and all(line.problem is None for line in self.lines)

    @property
    def has_changes(self) -> bool:
        return any(line.price_changed or line.problem for line in self.lines)


def _tax_rate(org: Organisation, held: Holdings) -> dict[int, int]:
    """The tax rate of each subscription's payer (the organisation, or the reseller that pays)."""
    payers = {sub.id: sub.payer.country for sub in held.subscriptions.values()}
    countries = set(payers.values()) | {org.country}
    rates = dict(db.session.execute(db.select(TaxRate.country, TaxRate.rate_bp)
                                    .where(TaxRate.country.in_(countries))).all())
    return {sub_id: rates.get(country, 0) for sub_id, country in payers.items()} | {0: rates.get(org.country, 0)}


def price_line(offer: Offer, quantity: int, now: datetime) -> tuple[int, int, int]:
    """(now, setup fee, per period) of `quantity` units, net: what activating them charges, to the minor unit."""
    sub = offer.subscription
    if offer.period == "one_time":
        return offer.unit * quantity + offer.setup_fee, offer.setup_fee, 0
    new = offer.held == 0 or not any(item.product_id == offer.product.id for item in sub.items)
    setup = offer.setup_fee if new else 0
    return prorated_amount(sub, offer.unit, quantity, now) + setup, setup, offer.unit * quantity


def price_cart(org: Organisation, user: User, now: datetime) -> PricedCart:
    """The user's cart priced now; lines whose product is retired, no longer offered or already active say so."""
    held = holdings(org)
    rates = _tax_rate(org, held)
    cart = PricedCart()
    for line in _lines(org, user):
        offer = offer_for(line.product, held)
        problem = _problem(offer, line.product, held)
        if problem in (None, "already_active"):
            now_amount, setup, period_amount = price_line(offer, line.quantity, now)
        else:
            now_amount = setup = period_amount = 0
        rate = rates[offer.subscription.id] if offer is not None and offer.subscription is not None else rates[0]
        priced = PricedLine(line, offer, problem, now_amount, setup, money.tax_for(now_amount, rate),
                            period_amount, rate)
        cart.lines.append(priced)
        if problem is not None:
            continue
        totals = cart.totals.setdefault(offer.currency, Totals(offer.currency))
        if priced.pay_now:
            totals.due_now += priced.total
        else:
            totals.next_bill += priced.total
            totals.next_bill_at = offer.subscription.current_period_end
        totals.per_period += period_amount + money.tax_for(period_amount, rate)
    cart.fingerprint = fingerprint(cart)
    return cart


def fingerprint(cart: PricedCart) -> str:
    """The cart as it is shown: its products, quantities and prices (a change in any is another cart)."""
    shown = [(p.line.product_id, p.line.quantity, p.offer.currency if p.offer else "", p.offer.unit if p.offer else 0,
              p.now_amount, p.period_amount, p.problem or "") for p in cart.lines]
    return hashlib.sha256(json.dumps(shown).encode()).hexdigest()
