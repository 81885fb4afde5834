"""The filter of the customer's invoice list (a GET form: no CSRF token, nothing changes)."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from portal.forms import FlaskForm
from portal.labels import INVOICE_STATUS_LABELS
from portal.services.billing.invoice_search import InvoiceFilters

CUSTOMER_FILTER_STATUSES = ("open", "overdue", "paid", "void", "uncollectible")


class InvoiceFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("All invoices"))]
        + [SelectChoice(code, INVOICE_STATUS_LABELS[code]) for code in CUSTOMER_FILTER_STATUSES],
        validators=[Optional()],
        default="",
    )

    def filters(self) -> InvoiceFilters:
        """The filters that are valid; an invalid one is left out (and its error shown)."""
        self.validate()
        return InvoiceFilters(status="" if self.status.errors else (self.status.data or ""))
