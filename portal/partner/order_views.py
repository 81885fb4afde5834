"""Orders of licenses: New order ("Pedido > Comprar") with its items, and My orders ("Meus pedidos")."""

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.database import commit_keeping_loaded, undo_writes
from portal.extensions import db
from portal.htmx import redirect_to, render, wants_fragment
from portal.labels import ORDER_KIND_LABELS, ORDER_STATUS_LABELS, ORDER_STATUS_MARKS, ORDER_STATUS_TONES
from portal.orm import utcnow
from portal.partner import forms
from portal.partner.views import bp
from portal.services.errors import DomainError
from portal.services.partners import orders
from portal.templating import Labels
from portal.tenancy import client_address, roles

LABELS = dict(kind_labels=Labels(ORDER_KIND_LABELS), status_labels=Labels(ORDER_STATUS_LABELS),
              status_marks=Labels(ORDER_STATUS_MARKS), status_tones=ORDER_STATUS_TONES)


def _new_order_page(status: int = 200, error: str | None = None, field: str | None = None, kind: str | None = None,
                    price=None, draft=orders.UNREAD, price_list=orders.UNREAD):
    """The new order (its items for htmx); `draft` and `price_list` when the view has read them already."""
    draft = orders.draft_for(g.organisation, current_user) if draft is orders.UNREAD else draft
    kind = kind or (draft.kind if draft is not None and draft.lines else request.values.get("kind", "purchase"))
    kind = kind if kind in ORDER_KIND_LABELS else "purchase"
    price_list = orders.current_price_list(g.organisation) if price_list is orders.UNREAD else price_list
    products = []
    if price_list is not None:
        products = ([stock.product for stock in orders.stock_products(g.organisation)] if kind == "additional" else
                    [item.product for item in price_list.items if item.product.kind != "additional_user"])
    return render("partner/order_new.html", "order_items", status=status, draft=draft, kind=kind,
                  price_list=price_list, products=products, error=error, field=field, price=price,
                  **LABELS)


@bp.get("/orders/new")
def order_new():
    """Show the new order: type, partner and price list, a product to add, and the order's items."""
    return _new_order_page()


@bp.get("/orders/new/preview")
def order_line_preview():
    """The amounts a product and quantity would have on the order, read-only, from the price list."""
    product = forms.product(values=request.args)
    try:
        quantity = int(request.args.get("quantity", "") or 0)
        _list, price = orders.line_price(g.organisation, request.args.get("kind", ""), product, quantity)
    except (ValueError, DomainError):
        price = None
    if not wants_fragment():  # the address opened as a page: the new order, with these amounts
        return _new_order_page(price=price)
    return render("partner/order_new.html", "line_preview", price=price, price_list=orders.current_price_list(
        g.organisation))


@bp.post("/orders/new/items")
def order_items_add():
    """Add a product to the order's items ("Adicionar produto"); htmx gets the items table."""
    kind, org = request.form.get("kind", ""), g.organisation
    # Read once: the price list and the draft that the items table shows after the line is added (or refused).
    price_list, draft = orders.current_price_list(org), orders.draft_for(org, current_user)
    try:
        line = orders.add_line(org, current_user, kind, forms.product(), forms.quantity(), utcnow(),
                               price_list=price_list, draft=draft)
    except DomainError as error:
        undo_writes()
        return _new_order_page(422, str(error.message), error.field, kind=kind if kind in ORDER_KIND_LABELS else None,
                               draft=draft, price_list=price_list)
    commit_keeping_loaded()
    if wants_fragment():
        return _new_order_page(draft=line.order, price_list=price_list)
    return redirect_to(url_for("partner.order_new", kind=kind))


@bp.post("/orders/new/items/<int:line_id>/remove")
def order_items_remove(line_id: int):
    """Take an item out of the order."""
    draft = orders.draft_for(g.organisation, current_user) or abort(404)
    orders.remove_line(draft, line_id)
    db.session.commit()
    return _after_change(draft.kind)


def _after_change(kind: str):
    if wants_fragment():
        return _new_order_page()
    return redirect_to(url_for("partner.order_new", kind=kind))


@bp.route("/orders/new/confirm", methods=["GET", "POST"])
def order_confirm():
    """Ask to confirm the order (the page behind htmx's dialog), then send it for approval."""
    draft = orders.draft_for(g.organisation, current_user)
    if request.method == "POST":
        order = orders.confirm(draft, current_user, utcnow(), client_address())
        db.session.commit()
        flash(_("Order %(number)s was confirmed and waits for approval.", number=order.id), "success")
        return redirect_to(url_for("partner.orders"))
    if draft is None or not draft.lines:
        return redirect_to(url_for("partner.order_new"))
    return render("partner/order_confirm.html", draft=draft, **LABELS)


@bp.get("/orders", endpoint="orders")
def orders_list():
    """List the partner's orders ("Meus pedidos"): number, date, type, items, totals and status."""
    return render("partner/orders.html", orders=orders.list_orders(g.organisation), **LABELS)


@bp.get("/orders/<int:order_id>")
def order(order_id: int):
    """Show one order: its items, totals, who made and who decided it, and what approving it invoices and
    adds to the monthly subscription (once approved, what it did)."""
    found = orders.partner_order(g.organisation, order_id) or abort(404)
    return render("partner/order.html", order=found, billing=orders.billing_of(found, utcnow()), **LABELS)


def _decide(order_id: int, verb, done: str):
    found = orders.partner_order(g.organisation, order_id) or abort(404)
    verb(found, current_user, utcnow(), client_address())
    db.session.commit()
    flash(done % {"number": found.id}, "success")
    return redirect_to(url_for("partner.orders"))


@bp.post("/orders/<int:order_id>/approve")
@roles("admin")
def order_approve(order_id: int):
    """Approve a pending order: its licenses go to stock and its setup fees are invoiced."""
    return _decide(order_id, orders.approve, _("Order %(number)s was approved: its licenses are in your stock."))


@bp.post("/orders/<int:order_id>/cancel")
@roles("admin")
def order_cancel(order_id: int):
    """Cancel a pending order."""
    return _decide(order_id, orders.cancel, _("Order %(number)s was cancelled."))
