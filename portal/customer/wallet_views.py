"""The customer's wallet: its balance, its movements, and funds added by card."""

from flask import flash, g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.customer.payment_forms import TopUpForm, WalletSettingsForm, new_key
from portal.customer.payment_views import announce_top_up
from portal.customer.views import bp
from portal.database import undo_writes
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.models import Organisation
from portal.orm import utcnow
from portal.pagination import page_of
from portal.routing import page_arg
from portal.services.billing.amounts import parse_amount
from portal.services.errors import DomainError
from portal.services.payments import auto_pay, checkout, methods
from portal.services.payments import wallet as ledger
from portal.templating import amount_input
from portal.tenancy import roles
from portal.workflows import payments as payment_flow


def _page(form: TopUpForm, status: int = 200, error: str | None = None, settings_form=None,
          settings_error: str | None = None):
    org = g.organisation
    cards = [card for card in methods.methods_of(org) if card.state == "active"]
    form.method.choices = [(card.id, f"{card.brand.title()} •••• {card.last4}") for card in cards]
    page = page_of(ledger.movements(org.id, org.currency), page_arg())
    block = "movements" if request.method == "GET" else "wallet_settings" if settings_form else "top_up"
    return render("customer/wallet.html", block, status=status,
                  form=form, balance=ledger.balance(org.id, org.currency), page=page, cards=cards, error=error,
                  auto=auto_pay.summary(org), settings_form=settings_form or _settings_form(org),
                  settings_error=settings_error, can_change=g.membership.role == "admin")


def _settings_form(org) -> WalletSettingsForm:
    stored = ledger.settings_for(org)
    return WalletSettingsForm(
        formdata=None, pay_from_wallet=stored.pay_from_wallet, auto_recharge=stored.auto_recharge,
        recharge_threshold=amount_input(stored.recharge_threshold, org.currency),
        recharge_amount=amount_input(stored.recharge_amount, org.currency))


@bp.post("/wallet/settings")
@roles("admin")
def wallet_settings():
    """An administrator chooses whether renewals are paid from the wallet first and whether it tops itself up."""
    org, form = g.organisation, WalletSettingsForm()
    if not form.validate():
        return _page(TopUpForm(formdata=None, idempotency_key=new_key()), 422, settings_form=form)
    try:
        locale = str(get_locale())
        threshold = parse_amount(form.recharge_threshold.data or "0", org.currency, locale, "recharge_threshold")
        amount = parse_amount(form.recharge_amount.data or "0", org.currency, locale, "recharge_amount")
        ledger.save_settings(org, bool(form.pay_from_wallet.data), bool(form.auto_recharge.data), threshold, amount,
                             auto_pay.summary(org).card_usable, utcnow(), actor=current_user._get_current_object())
    except DomainError as refused:
        undo_writes()
        return _page(TopUpForm(formdata=None, idempotency_key=new_key()), 422, settings_form=form,
                     settings_error=str(refused.message))
    db.session.commit()
    flash(_("The wallet's settings were saved."), "success")
    return redirect_to(url_for("customer.wallet"))


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
            undo_writes()
            return _page(form, refused.status if refused.status == 409 else 422, str(refused.message))
        announce_top_up(payment)
        return redirect_to(url_for("customer.wallet"))
    form.idempotency_key.data = new_key()
    return _page(form)
