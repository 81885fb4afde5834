"""An organisation's payment methods screen, shared by the customer's "Payment methods" tab and the license
partner's: its cards with their state, a card added on the gateway's own page (the card number never comes
here: the gateway sends back a signed token), the one that pays automatically, removing one. Each blueprint
gets the same endpoints ("<blueprint>.payment_methods", "….payment_method_new", "….payment_method_added",
"….payment_method_auto_pay", "….payment_method_auto_pay_off", "….payment_method_remove") for the roles that
pay its bills, from `register`."""

from dataclasses import dataclass

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from portal.extensions import db
from portal.forms import FlaskForm
from portal.htmx import redirect_to, render
from portal.orm import utcnow
from portal.services.errors import DomainError
from portal.services.payments import auto_pay, methods
from portal.services.payments import gateway as gateways
from portal.templating import card_name
from portal.tenancy import roles


class SaveCardForm(FlaskForm):
    result = HiddenField(validators=[DataRequired(), Length(max=2000)])


class MethodActionForm(FlaskForm):
    """A button that acts on one stored method (its id is in the URL)."""


@dataclass(frozen=True)
class Screen:
    """Whose screen: the blueprint its endpoints are on, and its page (whose "payment_methods" block is the
    fragment htmx asks for)."""

    blueprint: str
    template: str

    def url(self, name: str) -> str:
        return url_for(f"{self.blueprint}.{name}")


def _card_gateway() -> gateways.Gateway:
    found = next((gw for gw in gateways.registered() if gw.captures_cards), None)
    return found or abort(404)


def listing(screen: Screen, status: int = 200):
    """The organisation's cards with their state and what pays automatically."""
    return render(screen.template, "payment_methods", status=status, cards=methods.methods_of(g.organisation),
                  auto=auto_pay.summary(g.organisation), methods_bp=screen.blueprint)


def start(screen: Screen):
    """Send the administrator to the gateway's own page to enter a card."""
    if not MethodActionForm().validate():
        return listing(screen, 422)
    begun = _card_gateway().start_capture(g.organisation.id, screen.url("payment_method_added"), str(get_locale()))
    return redirect(begun.url, 303)


def added(screen: Screen):
    """Back from the gateway's page: show the card it stored and save it here once confirmed."""
    if request.args.get("cancelled"):
        flash(_("No card was added."), "info")
        return redirect_to(screen.url("payment_methods"))
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
        return redirect_to(screen.url("payment_methods"))
    if card.organisation_id != g.organisation.id:
        abort(404)
    return render("payments/method_added.html", form=form, card=card, methods_bp=screen.blueprint,
                  status=422 if form.errors else 200)


def _method(method_id: int):
    return methods.method_of(g.organisation, method_id) or abort(404)


def choose_auto_pay(screen: Screen, method_id: int):
    """Make this card the one that pays renewals automatically."""
    method = _method(method_id)
    if not MethodActionForm().validate():
        return listing(screen, 422)
    try:
        methods.choose_auto_pay(g.organisation, method, utcnow(), current_user)
    except DomainError as refused:
        db.session.rollback()
        flash(str(refused.message), "error")
        return redirect_to(screen.url("payment_methods"))
    db.session.commit()
    flash(_("%(card)s now pays your renewals automatically.", card=card_name(method)), "success")
    return redirect_to(screen.url("payment_methods"))


def stop_auto_pay(screen: Screen):
    """Stop paying renewals automatically (each invoice is then paid by hand)."""
    if not MethodActionForm().validate():
        return listing(screen, 422)
    methods.stop_auto_pay(g.organisation, current_user)
    db.session.commit()
    flash(_("Renewals are no longer paid automatically."), "success")
    return redirect_to(screen.url("payment_methods"))


def remove(screen: Screen, method_id: int):
    """Remove a card: it is never charged again."""
    method = _method(method_id)
    if not MethodActionForm().validate():
        return listing(screen, 422)
    methods.remove(g.organisation, method, utcnow(), current_user)
    db.session.commit()
    flash(_("%(card)s was removed.", card=card_name(method)), "success")
    return redirect_to(screen.url("payment_methods"))


def register(bp, screen: Screen, *allowed: str) -> None:
    """Add the screen's routes to `bp` (under /payment-methods), for the roles in `allowed` only."""

    def payment_methods():
        """List the organisation's cards with their state and the one that pays automatically."""
        return listing(screen)

    def payment_method_new():
        """Send the user to the gateway's own page to enter a card."""
        return start(screen)

    def payment_method_added():
        """Back from the gateway's page: show the card it stored and save it here once confirmed."""
        return added(screen)

    def payment_method_auto_pay(method_id: int):
        """Make this card the one that pays automatically."""
        return choose_auto_pay(screen, method_id)

    def payment_method_auto_pay_off():
        """Stop paying automatically (each invoice is then paid by hand)."""
        return stop_auto_pay(screen)

    def payment_method_remove(method_id: int):
        """Remove a card: it is never charged again."""
        return remove(screen, method_id)

    for rule, view, verbs in (("/payment-methods", payment_methods, ["GET"]),
                              ("/payment-methods/new", payment_method_new, ["POST"]),
                              ("/payment-methods/added", payment_method_added, ["GET", "POST"]),
                              ("/payment-methods/<int:method_id>/auto-pay", payment_method_auto_pay, ["POST"]),
                              ("/payment-methods/auto-pay-off", payment_method_auto_pay_off, ["POST"]),
                              ("/payment-methods/<int:method_id>/remove", payment_method_remove, ["POST"])):
        bp.add_url_rule(rule, view.__name__, roles(*allowed)(view), methods=verbs)
