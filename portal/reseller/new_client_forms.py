"""The forms of a reseller's new client: the offer (who pays, software, plan) of a hiring link and of a direct
registration, and the client's data of the registration. The choices are checked by the new clients service,
which names what is wrong (a plan of another software, one no longer offered)."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, Length

from portal.forms import FlaskForm, Required
from portal.labels import PAYER_LABELS


class OfferForm(FlaskForm):
    """Who pays, the software and its plan."""

    payer = SelectField(_l("Who pays the monthly fee"), validate_choice=False,
                        choices=[SelectChoice(code, label) for code, label in PAYER_LABELS.items()])
    software = SelectField(_l("Software"), validate_choice=False)
    plan = SelectField(_l("Plan"), validate_choice=False)

    def __init__(self, plans, locale: str | None, **kwargs):
        super().__init__(**kwargs)
        software = {plan.software_id: plan.software for plan in plans}
        self.software.choices = [SelectChoice(str(sid), sw.display_name(locale)) for sid, sw in software.items()]
        self.plan.choices = [SelectChoice(str(plan.id), f"{plan.software.display_name(locale)} · "
                                                        f"{plan.display_name(locale)}") for plan in plans]


class RegisterForm(OfferForm):
    """The direct registration ("Novo cadastro"): the offer and the client's data."""

    legal_name = StringField(_l("Client's legal name"), validators=[Required(_l("Enter the client's legal name.")),
                                                                   Length(max=200)])
    tax_id = StringField(_l("Client's tax id"), validators=[Required(_l("Enter the client's tax id.")),
                                                           Length(max=40)])
    contact_name = StringField(_l("Contact person"), validators=[
        Required(_l("Enter the name of the client's contact person.")), Length(max=200)])
    email = EmailField(_l("Client's e-mail"), validators=[Required(_l("Enter the client's e-mail.")),
                                                         Email(_l("Enter the client's e-mail.")), Length(max=254)])
    quoted = HiddenField()  # the plan and payer whose price the manager saw ("plan:payer")
