"""The forms of reconciliation: a statement file to import, a row to match by hand."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from portal.forms import FlaskForm, Required
from portal.labels import STATEMENT_KIND_LABELS
from portal.services.payments.offline.statement import KINDS

ACCOUNT_CURRENCIES = ("CLP", "BRL", "MXN")


class StatementUploadForm(FlaskForm):
    kind = SelectField(_l("Statement of"), choices=[SelectChoice(kind, STATEMENT_KIND_LABELS[kind]) for kind in KINDS],
                       validators=[Required(_l("Choose the kind of statement."))], default="bank")
    currency = SelectField(_l("Currency of the account"), choices=[SelectChoice(code) for code in ACCOUNT_CURRENCIES],
                           validators=[Required(_l("Choose the currency of the account."))], default="CLP")
    file = FileField(_l("Statement file (CSV)"), validators=[Required(_l("Choose the CSV file to import."))])


class MatchLineForm(FlaskForm):
    reference = StringField(_l("Payment reference"), validators=[
        Required(_l("Enter the reference of the payment this row pays.")), Length(max=80)])
