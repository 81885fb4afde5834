"""The customer's wallet: its balance, its movements, and funds added by card."""

from flask import g, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from portal.customer.payment_forms import TopUpForm, new_key
from portal.customer.payment_views import announce_top_up
from portal.customer.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.models import Organisation
from portal.orm import utcnow
from portal.pagination import page_of
from portal.routing import page_arg
from portal.services.billing.amounts import parse_amount
from portal.services.errors import DomainError
from portal.services.payments import checkout, methods
from portal.services.payments import wallet as ledger
from portal.workflows import payments as payment_flow


def _page(form: TopUpForm, status: int = 200, error: str | None = None):
    org = g.organisation
    cards = [card for card in methods.methods_of(org) if card.state == "active"]
    form.method.choices = [(card.id, f"{card.brand.title()} •••• {card.last4}") for card in cards]
    page = page_of(ledger.movements(org.id, org.currency), page_arg())
    return render("customer/wallet.html", "movements" if request.method == "GET" else "top_up", status=status,
                  form=form, balance=ledger.balance(org.id, org.currency), page=page, cards=cards, error=error)


@bp.route("/wallet", methods=["GET", "POST"])
def wallet():
    """Show the wallet's balance and movements; add funds to it by card."""
    form = TopUpForm()
    if request.method == "POST":
        if not form.validate():
            return _page(form, 422)
        org_id, now, key = g.organisation.id, utcnow(), form.idempotency_key.data
        try:
            amount = parse_amount(form.amount.data, g.organisation.currency, str(get_locale()))
            card = methods.method_of(g.organisation, form.method.data)

            def claim():
                payer = db.session.get(Organisation, org_id)
                return [checkout.claim_top_up(payer, amount, "card", key, now, card,
                                              actor=current_user._get_current_object())]

            payment = payment_flow.pay(claim, now, current_user.id)[0]
        except DomainError as refused:
            db.session.rollback()
            return _page(form, refused.status if refused.status == 409 else 422, str(refused.message))
        announce_top_up(payment)
        return redirect_to(url_for("customer.wallet"))
    form.idempotency_key.data = new_key()
    return _page(form)
