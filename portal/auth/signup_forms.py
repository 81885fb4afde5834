"""The sign-up form."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from portal.forms import FlaskForm
from portal.services.accounts.auth import MIN_PASSWORD_LENGTH
from portal.services.signup import COUNTRIES


class SignUpForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200,
                               message=_l("Use at least %(num)d characters.", num=MIN_PASSWORD_LENGTH))])
    organisation = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    tax_id = StringField(_l("Tax id"), validators=[DataRequired(), Length(max=40)])

    def with_countries(self, names: dict[str, str], codes: tuple[str, ...] = COUNTRIES) -> "SignUpForm":
        self.country.choices = [(code, names.get(code, code)) for code in codes]
        return self
