"""The filters of the back office's invoice list (a GET form: no CSRF token, nothing changes)."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from portal.forms import FlaskForm
from portal.labels import INVOICE_STATUS_LABELS
from portal.services.billing.invoice_search import InvoiceFilters

STAFF_FILTER_STATUSES = ("draft", "open", "overdue", "paid", "void", "uncollectible")


class StaffInvoiceFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("All statuses"))]
        + [SelectChoice(code, INVOICE_STATUS_LABELS[code]) for code in STAFF_FILTER_STATUSES],
        validators=[Optional()],
        default="",
    )
    currency = SelectField(_l("Currency"), validators=[Optional()], default="")
    organisation = StringField(_l("Organisation or tax ID"), validators=[Optional(), Length(max=100)])
    issued_from = DateField(_l("Issued from"), validators=[Optional()])
    issued_to = DateField(_l("Issued until"), validators=[Optional()])

    def __init__(self, *args, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = [SelectChoice("", _l("All currencies"))] + [SelectChoice(code) for code in currencies]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        start, end = self.issued_from.data, self.issued_to.data
        if start and end and start > end and not self.issued_to.errors:
            self.issued_to.errors = [*self.issued_to.errors, _l("The end of the range is before its start.")]
            valid = False
        return valid

    def filters(self) -> InvoiceFilters:
        """The filters that are valid; an invalid one is left out (and its error shown)."""
        self.validate()

        def valid(field, empty=None):
            return empty if field.errors else (field.data or empty)

        return InvoiceFilters(
            status=valid(self.status, ""),
            currency=valid(self.currency, ""),
            organisation=(valid(self.organisation, "") or "").strip(),
            issued_from=valid(self.issued_from),
            issued_to=valid(self.issued_to),
        )
