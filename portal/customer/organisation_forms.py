"""The forms of the customer's organisation screen: its billing data and its accountant's e-mail."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length

from portal.forms import FlaskForm, Required
from portal.services.accounts.billing_data import CFDI_USES, TAX_REGIMES
from portal.services.accounts.taxid import format_tax_id


class BillingDataForm(FlaskForm):
    legal_name = StringField(_l("Legal name"), validators=[Required(_l("Enter the legal name.")), Length(max=200)])
    trade_name = StringField(_l("Trade name"), validators=[Length(max=200)])
    tax_id = StringField(_l("Tax id"), validators=[Required(_l("Enter the tax id.")), Length(max=40)])
    address = TextAreaField(_l("Fiscal address"), validators=[Required(_l("Enter the fiscal address.")),
                                                              Length(max=300)])
    invoice_emails = TextAreaField(_l("E-mails for invoices"), validators=[Length(max=1500)])
    tax_regime = SelectField(_l("Régimen fiscal"), validate_choice=False)
    postal_code = StringField(_l("Código postal (fiscal address)"), validators=[Length(max=10)])
    cfdi_use = SelectField(_l("Uso CFDI"), validate_choice=False)

    def __init__(self, *args, organisation=None, **kwargs):
        super().__init__(*args, **kwargs)
        none = [("", _l("Choose…"))]
        self.tax_regime.choices = none + [(code, f"{code} — {name}") for code, name in TAX_REGIMES.items()]
        self.cfdi_use.choices = none + [(code, f"{code} — {name}") for code, name in CFDI_USES.items()]
        if organisation is not None and not self.is_submitted():
            self.legal_name.data = organisation.name
            self.trade_name.data = organisation.trade_name or ""
            self.tax_id.data = format_tax_id(organisation.country, organisation.tax_id) if organisation.tax_id else ""
            self.address.data = organisation.address or ""
            self.invoice_emails.data = ", ".join(organisation.invoice_emails or [])
            self.tax_regime.data = organisation.tax_regime or ""
            self.postal_code.data = organisation.postal_code or ""
            self.cfdi_use.data = organisation.cfdi_use or ""


class AccountantForm(FlaskForm):
    accountant_email = StringField(_l("Your accountant's e-mail"), validators=[Length(max=254)])

