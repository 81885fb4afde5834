"""Activating a cart: everything in it at once, through the subscription service, once per idempotency key.

The form that confirms a cart carries a key and the cart's fingerprint (its products, quantities and prices
as shown). The same key again (a double click, a retried request) answers with the activation it made; the
same key with another cart is refused; a cart that changed since it was shown (another tab, a new price, a
new day) is refused before anything is written, so nothing is activated at a price the customer did not see.
"""

import re
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Organisation, SubscriptionEvent, User
from portal.models.store import Activation, ActivationLine
from portal.services import audit
from portal.services.billing import subscriptions as subs
from portal.services.errors import DomainError
from portal.services.store.carts import PricedCart, clear_cart, price_cart

KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def check_key(key) -> str:
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise DomainError(_l("This confirmation could not be read. Open your cart again and confirm from there."),
                          code="invalid_key", field="key", status=400)
    return key


def activation_for(org: Organisation, key: str) -> Activation | None:
    return db.session.scalar(db.select(Activation).where(Activation.organisation_id == org.id, Activation.key == key))


def replay(org: Organisation, key: str, shown: str) -> Activation | None:
    """The activation already made with `key` (None if none); refused when that key confirmed another cart."""
    done = activation_for(org, check_key(key))
    if done is not None and done.fingerprint != shown:
        raise DomainError(_l("This confirmation was already used for another cart. Open your cart again."),
                          code="key_reused", status=409)
    return done


def activate_cart(org: Organisation, user: User, key: str, shown: str, now: datetime,
                  address: str | None = None) -> Activation:
    """Activate the user's cart as it was shown (`shown`: its fingerprint); the cart is emptied."""
    done = replay(org, key, shown)
    if done is not None:
        return done
    cart = price_cart(org, user, now)
    _check(cart, shown)
    activation = Activation(organisation_id=org.id, user_id=user.id, key=key, fingerprint=shown,
                            currency=next(iter(cart.totals)), created_at=now)
    db.session.add(activation)
    db.session.flush()  # a second request with the key stops here, on the unique key, until this one ends
    for priced in cart.lines:
        offer, quantity = priced.offer, priced.line.quantity
        sub, product = offer.subscription, offer.product
        if offer.period == "one_time":
            subs.buy_once(sub, product, quantity, now, actor=user)
        elif offer.held:
            subs.change_quantity(sub, product, offer.held + quantity, now, invoice_now=product.pay_upfront,
                                 actor=user)
        else:
            subs.add_addon(sub, product, now, quantity, invoice_now=product.pay_upfront, actor=user)
        event = db.session.scalar(db.select(SubscriptionEvent).where(SubscriptionEvent.subscription_id == sub.id)
                                  .order_by(SubscriptionEvent.id.desc()).limit(1))
        activation.lines.append(ActivationLine(
            product_id=product.id, subscription_id=sub.id, quantity=quantity, amount=event.details.get("amount", 0),
            period_amount=priced.period_amount, invoice_id=event.invoice_id,
            details={"period": offer.period, "unit": offer.unit, "setup_fee": priced.setup_fee,
                     "pay_now": priced.pay_now, "event_id": event.id}))
    clear_cart(org, user)
    db.session.flush()
    audit.record("store_activated", actor=user, organisation=org, obj=activation, address=address,
                 details={"key": key, "lines": [{"product_id": line.product_id, "quantity": line.quantity,
                                                 "amount": line.amount} for line in activation.lines]})
    return activation


def _check(cart: PricedCart, shown: str) -> None:
    if not cart.lines:
        raise DomainError(_l("Your cart is empty: there is nothing to activate."), code="empty_cart", status=409)
    if cart.fingerprint != shown:
        raise DomainError(_l("Your cart changed since you saw it (in another tab, or its prices). Check it again "
                             "and confirm."), code="cart_changed", status=409)
    if not cart.activatable:
        raise DomainError(_l("Some products in your cart cannot be activated. Remove them and confirm again."),
                          code="cart_not_activatable", status=409)


def list_activations(org: Organisation, limit: int = 50) -> list[Activation]:
    """The organisation's activations, newest first, with their lines and who made them."""
    return db.session.scalars(
        db.select(Activation).where(Activation.organisation_id == org.id)
        .options(db.selectinload(Activation.lines).joinedload(ActivationLine.product),
                 db.joinedload(Activation.user))
        .order_by(Activation.id.desc()).limit(limit)).unique().all()


def organisation_activation(org: Organisation, activation_id: int) -> Activation | None:
    return db.session.scalar(
        db.select(Activation).where(Activation.id == activation_id, Activation.organisation_id == org.id)
        .options(db.selectinload(Activation.lines).joinedload(ActivationLine.product),
                 db.joinedload(Activation.user)))
