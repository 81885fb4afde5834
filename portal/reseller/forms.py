"""The forms of the reseller's screens: the client list's filter (a GET form: no CSRF token, nothing changes)."""

from flask_babel import lazy_gettext as _l
from wtforms import SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from portal.forms import FlaskForm
from portal.labels import CONTRACT_STATUS_LABELS, PAYER_LABELS
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
