"""The form that chooses an offline method to pay an invoice with."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from portal.forms import FlaskForm, Required
from portal.labels import PAYMENT_METHOD_LABELS


class OfflinePayForm(FlaskForm):
    method = RadioField(_l("Pay with"), validators=[Required(_l("Choose how to pay."))])
    # One per form shown: a double click or a resent form issues one reference.
    key = HiddenField(validators=[Required(_l("This payment form is no longer valid. Reload the page and try "
                                              "again.")), Length(max=100)])

    def __init__(self, *args, kinds=(), key=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.method.choices = [SelectChoice(kind, PAYMENT_METHOD_LABELS[kind]) for kind in kinds]
        if key is not None:
            self.key.data = key
