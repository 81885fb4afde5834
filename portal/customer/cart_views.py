"""The cart (administrators fill it, change it and activate it) and the activations made from it."""

import secrets

from flask import abort, flash, g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal.customer.views import bp
from portal.database import commit_keeping_loaded, undo_writes
from portal.extensions import db
from portal.htmx import redirect_to, render, wants_fragment
from portal.models import Product
from portal.orm import utcnow
from portal.routing import fits
from portal.services.errors import DomainError
from portal.services.store import activation, carts, offers
from portal.tenancy import client_address, roles


def _number(name: str, default: int | None = None) -> int:
    raw = request.form.get(name, "").strip()
    if not raw and default is not None:
        return default
    try:
        number = int(raw)
    except ValueError:
        raise DomainError(_("The quantity must be a whole number of at least 1."), code="invalid_quantity",
                          field=name) from None
    if not fits(number):
        raise DomainError(_("The quantity must be a whole number of at least 1."), code="invalid_quantity",
                          field=name)
    return number


def _back() -> str:
    """Where a plain form goes back to: the store page it came from (only an address of this portal)."""
    target = request.form.get("next", "")
    store = url_for("customer.store")
    return target if target.startswith(store) and "//" not in target and "\\" not in target else store


def _cart_page(status: int = 200, error: str | None = None):
    priced = carts.price_cart(g.organisation, current_user, utcnow())
    return render("customer/cart.html", "cart", status=status, cart=priced, error=error,
                  key=secrets.token_urlsafe(24), problem_message=carts.problem_message)


@bp.get("/cart")
@roles("admin")
def cart():
    """Show the cart priced now: each line until the next renewal, its tax, the totals and the next bill."""
    return _cart_page()


@bp.post("/cart")
@roles("admin")
def cart_add():
    """Put a product in the cart from its card or its page; htmx gets the card, the badge and the panel."""
    product_id = _number("product_id")
    product = db.session.get(Product, product_id) if fits(product_id) else None
    held = offers.holdings(g.organisation)
    lines = carts.cart_lines(g.organisation, current_user)
    try:
        line = carts.add_to_cart(g.organisation, current_user, product, _number("quantity", 1), utcnow(),
                                 held=held, lines=lines)
    except DomainError as error:
        undo_writes()
        if not wants_fragment():
            raise
        return _card(product, held, lines, error=str(error.message), status=422)
    commit_keeping_loaded()
    if not wants_fragment():
        flash(_("%(product)s was added to your cart.", product=line.product.display_name(str(get_locale()))),
              "success")
        return redirect_to(_back())
    return _card(line.product, held, lines, added=True)


def _card(product: Product | None, held: offers.Holdings, lines: list, error: str | None = None,
          added: bool = False, status: int = 200):
    """The product's card as it now stands, with the cart's badge and panel (`held` and `lines` as read)."""
    offer = offers.offer_for(product, held) if product is not None else None
    if offer is None:
        abort(status if status != 200 else 404, description=error)
    return render("customer/store_card_swap.html", status=status, offer=offer, error=error, added=added,
                  can_buy=True, cart=lines)


def _line(line_id: int):
    return carts.cart_line(g.organisation, current_user, line_id) or abort(404)


@bp.post("/cart/<int:line_id>")
@roles("admin")
def cart_line_update(line_id: int):
    """Change a line's quantity."""
    line = _line(line_id)
    try:
        carts.set_quantity(g.organisation, current_user, line, _number(f"quantity-{line_id}"))
    except DomainError as error:
        db.session.rollback()
        return _cart_page(422, str(error.message))
    db.session.commit()
    return _after_change()


@bp.post("/cart/<int:line_id>/remove")
@roles("admin")
def cart_line_remove(line_id: int):
    """Take a line out of the cart."""
    carts.remove_line(_line(line_id))
    db.session.commit()
    return _after_change()


def _after_change():
    if wants_fragment():
        return _cart_page()
    return redirect_to(url_for("customer.cart"))


@bp.post("/cart/activate")
@roles("admin")
def cart_activate():
    """Activate everything in the cart, once for the form's key, and show what was activated."""
    key, shown = request.form.get("key", ""), request.form.get("fingerprint", "")
    try:
        done = activation.activate_cart(g.organisation, current_user, key, shown, utcnow(), client_address())
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same key, confirmed at the same moment by another request: that one won
        done = activation.replay(g.organisation, key, shown) or abort(409)
    except DomainError as error:
        db.session.rollback()
        if error.status == 409 and error.code != "key_reused":
            return _cart_page(422, str(error.message))
        raise
    return redirect_to(url_for("customer.store_activation", activation_id=done.id))


@bp.get("/store/activations")
def store_activations():
    """List the activations made (what, when, by whom, what it costs)."""
    return render("customer/store_activations.html", activations=activation.list_activations(g.organisation))


@bp.get("/store/activations/<int:activation_id>")
def store_activation(activation_id: int):
    """Show one activation: what it activated, when, by whom, and what it costs now and on each bill."""
    found = activation.organisation_activation(g.organisation, activation_id) or abort(404)
    return render("customer/store_activation.html", activation=found)
