"""The forms of the back office's payments: a refund, a payment received outside the portal, a wallet
adjustment. Each carries an idempotency key (a double click or a resent form does the thing once)."""

import secrets

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import FlaskForm, IdSelectField, Required
from portal.labels import PAYMENT_METHOD_LABELS, REFUND_DESTINATION_LABELS

RECEIVED_METHODS = ("bank_transfer", "boleto", "pix", "oxxo", "manual")


def new_key() -> str:
    return secrets.token_urlsafe(18)


class RefundForm(FlaskForm):
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=100)])
    confirmed = HiddenField(default="")
    amount = StringField(_l("Amount to refund"), validators=[Required(_l("Enter the amount to refund."))])
    destination = SelectField(_l("Refund to"), validators=[Required(_l("Choose where the money goes back to."))])
    reason = TextAreaField(_l("Reason (optional)"), validators=[Optional(), Length(max=300)])

    def set_destinations(self, destinations: list[str], method_text: str) -> None:
        self.destination.choices = [
            SelectChoice(code, REFUND_DESTINATION_LABELS[code] if code == "wallet"
                         else _l("The payment's method: %(method)s", method=method_text))
            for code in destinations]


class ReceivedPaymentForm(FlaskForm):
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=100)])
    invoice = IdSelectField(_l("Invoice"), validators=[Required(_l("Choose the invoice this money pays."))])
    method = SelectField(_l("Received by"), choices=[SelectChoice(code, PAYMENT_METHOD_LABELS[code])
                                                     for code in RECEIVED_METHODS],
                         validators=[Required(_l("Choose how the money was received."))], default="bank_transfer")
    reference = StringField(_l("Reference of the transfer or deposit"), validators=[Optional(), Length(max=64)])
    amount = StringField(_l("Amount received"), validators=[Required(_l("Enter the amount received."))])
    received_on = DateField(_l("Received on"), validators=[Required(_l("Enter the date the money arrived."))])


class WalletAdjustmentForm(FlaskForm):
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=100)])
    direction = SelectField(_l("Adjustment"), choices=[SelectChoice("add", _l("Add to the balance")),
                                                       SelectChoice("take", _l("Take from the balance"))],
                            validators=[Required(_l("Choose whether to add or take."))], default="add")
    amount = StringField(_l("Amount"), validators=[Required(_l("Enter the amount."))])
    reason = TextAreaField(_l("Reason"), validators=[Required(_l("Say why the balance is adjusted.")),
                                                    Length(max=300)])
