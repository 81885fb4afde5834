"""Active plans ("Tus planes activos"): every subscription with its plan, add-ons, period, state, renewal and payer;
its administrators change quantities and add-ons, change plan (an upgrade previewed before it is confirmed, a
downgrade at the end of the period), suspend (the refund previewed) and resume, through the subscriptions
service."""

from flask import abort, flash, g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.customer.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.labels import PERIOD_LABELS, SUBSCRIPTION_STATUS_LABELS
from portal.models import Product
from portal.orm import utcnow
from portal.routing import fits
from portal.services.billing import account
from portal.services.billing import subscriptions as subs
from portal.services.billing.amounts import parse_units
from portal.services.billing.rules import PriceBook
from portal.services.errors import DomainError
from portal.services.payments import suspension
from portal.tenancy import roles
from portal.workflows import refunds as refund_flow

PLANS = "customer.account_plans"


def _subscription(subscription_id: int):
    return account.subscription(g.organisation.id, subscription_id) or abort(404)


def _product(name: str, message) -> Product:
    """The product a form names in field `name`; a missing or unknown one is a translated 422."""
    raw = (request.values.get(name) or "").strip()
    found = db.session.get(Product, int(raw)) if raw.isdigit() and fits(int(raw)) else None
    if found is None:
        raise DomainError(message, code="invalid_product", field=name)
    return found


@bp.get("/account/plans")
def account_plans():
    """Show the organisation's plans: plan, add-ons and quantities, period, state, next renewal and who pays."""
    book = PriceBook.load()
    found = account.subscriptions(g.organisation.id)
    return render("customer/account/plans.html", subscriptions=found, book=book,
                  choices={sub.id: account.choices(sub, book) for sub in found},
                  status_labels=SUBSCRIPTION_STATUS_LABELS, period_labels=PERIOD_LABELS)


@bp.route("/account/plans/<int:subscription_id>/plan", methods=["GET", "POST"])
@roles("admin")
def account_plan_change(subscription_id: int):
    """Show what changing to the chosen plan costs (an upgrade now, prorated; a downgrade at the period's end), and
    change it once confirmed."""
    sub = _subscription(subscription_id)
    plan = _product("plan", _l("Choose one of the plans offered."))
    now = utcnow()
    if request.method == "POST":
        subs.change_plan(sub, plan, now, actor=current_user)
        db.session.commit()
        flash(_("The plan was changed.") if sub.plan_id == plan.id else
              _("The plan will change at the end of the current period."), "success")
        return redirect_to(url_for(PLANS))
    preview = subs.preview_plan_change(sub, plan, now)
    return render("customer/account/plan_change.html", sub=sub, preview=preview, locale=str(get_locale()))


@bp.route("/account/plans/<int:subscription_id>/suspend", methods=["GET", "POST"])
@roles("admin")
def account_suspend(subscription_id: int):
    """Show what suspending means (when, the whole unused months refunded, and where what was paid of them goes
    back: the wallet or the card that paid), and suspend once confirmed."""
    sub = _subscription(subscription_id)
    now = utcnow()
    cards = suspension.refund_cards(sub)
    if request.method == "POST":
        destination = request.form.get("destination", "wallet")
        suspension.suspend(sub, now, actor=current_user, destination=destination)
        db.session.commit()
        for refund_id in suspension.waiting_refunds(sub):  # the cards' gateways, asked with no transaction open
            refund_flow.ask_gateway(refund_id, now, current_user.id)
        flash(_("The subscription is suspended.") if sub.status == "suspended" else
              _("The subscription will be suspended at the end of the current period."), "success")
        return redirect_to(url_for(PLANS))
    return render("customer/account/suspend.html", sub=sub, preview=subs.preview_suspension(sub, now), cards=cards)


@bp.post("/account/plans/<int:subscription_id>/resume")
@roles("admin")
def account_resume(subscription_id: int):
    """Resume a suspended subscription (a new period, invoiced), or withdraw a scheduled suspension."""
    sub = _subscription(subscription_id)
    subs.resume(sub, utcnow(), actor=current_user)
    db.session.commit()
    flash(_("The subscription is active again."), "success")
    return redirect_to(url_for(PLANS))


@bp.post("/account/plans/<int:subscription_id>/quantity")
@roles("admin")
def account_quantity(subscription_id: int):
    """Set how many units of an add-on the subscription has (0 removes it, a new one is added), prorated."""
    sub = _subscription(subscription_id)
    product = _product("product_id", _l("Choose one of the add-ons offered."))
    quantity = parse_units(request.form.get("quantity"), str(get_locale()), field="quantity")
    now = utcnow()
    held = next((item for item in sub.items if item.product_id == product.id), None)
    if quantity == 0:
        if held is None:
            raise DomainError(_l("Enter a quantity of at least 1."), code="invalid_quantity", field="quantity")
        subs.remove_addon(sub, product, now, actor=current_user)
    else:
        subs.change_quantity(sub, product, quantity, now, actor=current_user)
    db.session.commit()
    flash(_("The add-ons were updated: the difference is prorated on your next invoice."), "success")
    return redirect_to(url_for(PLANS))
