"""The card form of the sandbox's hosted page."""

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.forms import FlaskForm
from portal.services.payments.sandbox import TEST_CARDS, luhn_valid


def digits(value: str | None) -> str:
    return "".join((value or "").split()).replace("-", "")


class CardForm(FlaskForm):
    number = StringField(_l("Card number"), validators=[DataRequired(), Length(max=40)])
    expiry = StringField(_l("Expiry (MM/YY)"), validators=[DataRequired(), Length(max=7)])
    cvc = StringField(_l("Security code"), validators=[DataRequired(), Length(max=4)])
    holder = StringField(_l("Name on the card"), validators=[DataRequired(), Length(max=100)])

    def validate_number(self, field):
        number = digits(field.data)
        if not (number.isdigit() and 13 <= len(number) <= 19 and luhn_valid(number)):
            raise ValidationError(_l("This is not a valid card number. Check the digits."))
        if number not in TEST_CARDS:
            raise ValidationError(_l("The sandbox takes its test cards only: use one from the list below."))
        if TEST_CARDS[number][0] == "declined":
            raise ValidationError(_l("Your card was declined. Use another card."))

    def validate_expiry(self, field):
        month_year = self.month_year()
        if month_year is None:
            raise ValidationError(_l("Write the expiry as MM/YY, for example 04/29."))
        now = datetime.now(UTC)
        if month_year[::-1] < (now.year, now.month):
            raise ValidationError(_l("This card has expired. Use another card."))

    def validate_cvc(self, field):
        if not (field.data.isdigit() and len(field.data) in (3, 4)):
            raise ValidationError(_l("The security code is the 3 or 4 digits on the card."))

    def month_year(self) -> tuple[int, int] | None:
        month, _, year = (self.expiry.data or "").replace(" ", "").partition("/")
        if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) in (2, 4)):
            return None
        return int(month), 2000 + int(year) if len(year) == 2 else int(year)

    def card_number(self) -> str:
        return digits(self.number.data)
