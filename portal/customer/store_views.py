"""The store: its rows of products (each row paged by its arrows), a search by name, and a product's page."""

from flask import abort, g, request
from flask_login import current_user

from portal.customer.views import bp
from portal.htmx import render, wants_fragment
from portal.orm import utcnow
from portal.routing import page_arg
from portal.services import trial_notices
from portal.services.store import carts, offers


def _pages() -> dict[str, int]:
    """Each row's page from the address (`?erp=2`): a plain link pages one row and keeps the others'."""
    pages = {}
    for code, raw in request.args.items():
        if code not in ("q", "row") and raw.isdigit() and len(raw) < 6:
            pages[code] = int(raw)
    return pages


def cart_summary():
    """The cart beside the store (admins only: members do not buy)."""
    if g.membership.role != "admin":
        return None
    return carts.cart_lines(g.organisation, current_user)


def _in_cart(cart) -> dict[int, int]:
    return {line.product_id: line.quantity for line in cart or ()}


@bp.get("/store")
def store():
    """Show the store: the catalog's rows in order, or the products whose name matches the search."""
    held = offers.shown_holdings(g.organisation)
    term = request.args.get("q", "").strip()[:100]
    code = request.args.get("row")
    if code and wants_fragment():
        row = offers.store_row(held, code, page_arg(code)) or abort(404)
        return render("customer/store_row.html", row=row, pages=_pages(), can_buy=_can_buy(),
                      in_cart_by=_in_cart(cart_summary()))
    results = offers.search_offers(held, term) if term else None
    rows = [] if term else offers.store_rows(held, _pages())
    cart = cart_summary()
    return render("customer/store.html", rows=rows, pages=_pages(), term=term, results=results,
                  can_buy=_can_buy(), cart=cart, in_cart_by=_in_cart(cart),
                  trial=trial_notices.trial_ending(g.organisation, utcnow(), subscriptions=held.every))


@bp.get("/store/products/<int:product_id>")
def store_product(product_id: int):
    """Show one product of the store: its whole description, what it includes, its price, setup fee and
    period."""
    offer = offers.product_offer(offers.shown_holdings(g.organisation), product_id) or abort(404)
    cart = cart_summary()
    return render("customer/store_product.html", offer=offer, can_buy=_can_buy(), cart=cart,
                  in_cart=_in_cart(cart).get(product_id, 0))


def _can_buy() -> bool:
    return g.membership.role == "admin"
