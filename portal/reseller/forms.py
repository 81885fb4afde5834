"""The forms of the reseller's screens: the client list's filter (a GET form: no CSRF token, nothing changes) and
My data > Basics."""

from flask_babel import lazy_gettext as _l
from wtforms import SearchField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from portal.forms import FlaskForm, Required
from portal.labels import CONTRACT_STATUS_LABELS, PAYER_LABELS
from portal.services.accounts.taxid import format_tax_id
from portal.services.resellers.clients import ClientFilters


class ClientFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField(_l("Name or tax id"), validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Contract status"), validators=[Optional()], default="",
                         choices=[SelectChoice("", _l("Every status"))]
                         + [SelectChoice(code, label) for code, label in CONTRACT_STATUS_LABELS.items()])
    plan = SelectField(_l("Plan"), validators=[Optional()], default="")
    payer = SelectField(_l("Who pays"), validators=[Optional()], default="",
                        choices=[SelectChoice("", _l("Client or reseller"))]
                        + [SelectChoice(code, label) for code, label in PAYER_LABELS.items()])

    def __init__(self, plans, locale: str | None, **kwargs):
        super().__init__(**kwargs)
        self.plan.choices = [SelectChoice("", _l("Every plan"))] + [
            SelectChoice(str(plan.id), f"{plan.software.display_name(locale)} · {plan.display_name(locale)}")
            for plan in plans
        ]

    def filters(self) -> ClientFilters:
        """The filters that are valid; an invalid one is left out (and its error shown)."""
        self.validate()

        def valid(field) -> str:
            return "" if field.errors else (field.data or "")

        plan = valid(self.plan)
        return ClientFilters(q=valid(self.q).strip(), status=valid(self.status),
                             plan=int(plan) if plan else None, payer=valid(self.payer))


class BasicsForm(FlaskForm):
    """My data > Basics: the reseller's own legal name, trade name, tax id, phone and address."""

    legal_name = StringField(_l("Legal name"), validators=[Required(_l("Enter the legal name.")), Length(max=200)])
    trade_name = StringField(_l("Trade name"), validators=[Length(max=200)])
    tax_id = StringField(_l("Tax id"), validators=[Required(_l("Enter the tax id.")), Length(max=40)])
    phone = StringField(_l("Phone"), validators=[Length(max=40)])
    address = TextAreaField(_l("Address"), validators=[Length(max=300)])

    def __init__(self, *args, organisation=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organisation is not None and not self.is_submitted():
            self.legal_name.data = organisation.name
            self.trade_name.data = organisation.trade_name or ""
            self.tax_id.data = format_tax_id(organisation.country, organisation.tax_id) if organisation.tax_id else ""
            self.phone.data = organisation.phone or ""
            self.address.data = organisation.address or ""
