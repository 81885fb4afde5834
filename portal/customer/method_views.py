"""The customer's payment methods: list them with their state, add a card on the gateway's own page, choose
which one pays automatically, remove one. Administrators only; the card number never comes here."""

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.customer.payment_forms import MethodActionForm, SaveCardForm
from portal.customer.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.orm import utcnow
from portal.services.errors import DomainError
from portal.services.payments import auto_pay, methods
from portal.services.payments import gateway as gateways
from portal.templating import card_name
from portal.tenancy import roles


def _card_gateway() -> gateways.Gateway:
    found = next((gw for gw in gateways.registered() if gw.captures_cards), None)
    return found or abort(404)


def _list(status: int = 200):
    return render("customer/payment_methods.html", "payment_methods", status=status,
                  cards=methods.methods_of(g.organisation), form=MethodActionForm(),
                  auto=auto_pay.summary(g.organisation))


@bp.get("/payment-methods")
@roles("admin")
def payment_methods():
    """List the organisation's cards with their state and the one that pays automatically."""
    return _list()


@bp.post("/payment-methods/new")
@roles("admin")
def payment_method_new():
    """Send the administrator to the gateway's own page to enter a card."""
    form = MethodActionForm()
    if not form.validate():
        return _list(422)
    start = _card_gateway().start_capture(g.organisation.id, url_for("customer.payment_method_added"),
                                          str(get_locale()))
    return redirect(start.url, 303)


@bp.route("/payment-methods/added", methods=["GET", "POST"])
@roles("admin")
def payment_method_added():
    """Back from the gateway's page: show the card it stored and save it here once confirmed."""
    if request.args.get("cancelled"):
        flash(_("No card was added."), "info")
        return redirect_to(url_for("customer.payment_methods"))
    form = SaveCardForm()
    if request.method == "GET":
        form.result.data = request.args.get("result", "")
    gateway = _card_gateway()
    try:
        card = gateway.finish_capture({"result": form.result.data or ""}, g.organisation.id)
    except gateways.WebhookRefused:
        abort(410)
    if request.method == "POST" and form.validate():
        try:
            method = methods.add_card(g.organisation, gateway.code, card, utcnow(), current_user)
        except DomainError as refused:
            abort(refused.status if refused.status in (404, 409) else 422, description=str(refused.message))
        db.session.commit()
        flash(_("%(card)s was added to your payment methods.", card=card_name(method)), "success")
        return redirect_to(url_for("customer.payment_methods"))
    if card.organisation_id != g.organisation.id:
        abort(404)
    return render("customer/payment_method_added.html", form=form, card=card,
                  status=422 if form.errors else 200)


def _method(method_id: int):
    return methods.method_of(g.organisation, method_id) or abort(404)


@bp.post("/payment-methods/<int:method_id>/auto-pay")
@roles("admin")
def payment_method_auto_pay(method_id: int):
    """Make this card the one that pays renewals automatically."""
    method = _method(method_id)
    if not MethodActionForm().validate():
        return _list(422)
    try:
        methods.choose_auto_pay(g.organisation, method, utcnow(), current_user)
    except DomainError as refused:
        db.session.rollback()
        flash(str(refused.message), "error")
        return redirect_to(url_for("customer.payment_methods"))
    db.session.commit()
    flash(_("%(card)s now pays your renewals automatically.", card=card_name(method)), "success")
    return redirect_to(url_for("customer.payment_methods"))


@bp.post("/payment-methods/auto-pay-off")
@roles("admin")
def payment_method_auto_pay_off():
    """Stop paying renewals automatically (each invoice is then paid by hand)."""
    if not MethodActionForm().validate():
        return _list(422)
    methods.stop_auto_pay(g.organisation, current_user)
    db.session.commit()
    flash(_("Renewals are no longer paid automatically."), "success")
    return redirect_to(url_for("customer.payment_methods"))


@bp.post("/payment-methods/<int:method_id>/remove")
@roles("admin")
def payment_method_remove(method_id: int):
    """Remove a card: it is never charged again."""
    method = _method(method_id)
    if not MethodActionForm().validate():
        return _list(422)
    methods.remove(g.organisation, method, utcnow(), current_user)
    db.session.commit()
    flash(_("%(card)s was removed.", card=card_name(method)), "success")
    return redirect_to(url_for("customer.payment_methods"))
