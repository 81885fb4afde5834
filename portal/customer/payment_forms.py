"""The forms of the customer's payment screens: pay invoices, add funds (cards: portal/payment_methods.py)."""

import secrets

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length

from portal.forms import FlaskForm, IdSelectField

MAX_INVOICES_AT_ONCE = 20


def new_key() -> str:
    """A fresh idempotency key for a payment form: a double click or a resent form sends the same one."""
    return secrets.token_urlsafe(18)


def method_choices(cards, wallet_balance: int | None, money) -> list[tuple[str, str]]:
    """("card:<id>" | "wallet", label) for every way the organisation can pay now."""
    choices = [(f"card:{card.id}", _l("Card %(brand)s ending in %(last4)s", brand=card.brand.title(),
                                      last4=card.last4)) for card in cards if card.state != "removed"]
    if wallet_balance:
        choices.append(("wallet", _l("Wallet balance (%(balance)s available)", balance=money(wallet_balance))))
    return choices


class PayForm(FlaskForm):
    """The invoices chosen (`invoice`, repeated) and each one's amount (`amount-<id>`) are read by the view."""

    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=100)])
    method = StringField(_l("Pay with"), validators=[DataRequired(message=_l("Choose how to pay."))])


class TopUpForm(FlaskForm):
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=100)])
    amount = StringField(_l("Amount to add"), validators=[DataRequired(message=_l("Enter the amount to add."))])
    method = IdSelectField(_l("Card"))


class WalletSettingsForm(FlaskForm):
    pay_from_wallet = BooleanField(_l("Pay renewal invoices from the wallet first"))
    auto_recharge = BooleanField(_l("Top up the wallet automatically"))
    recharge_threshold = StringField(_l("When the balance falls below"))
    recharge_amount = StringField(_l("Add this amount"))

