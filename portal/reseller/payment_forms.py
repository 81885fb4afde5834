"""The reseller's payment forms: a reference to issue for a pending invoice (boleto, Pix, OXXO, transfer)."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms.validators import Length

from portal.forms import FlaskForm, Required


class IssueReferenceForm(FlaskForm):
    method = HiddenField(validators=[Required(_l("Choose how to pay.")), Length(max=16)])
    # One per form shown: a double click or a resent form issues one reference.
    key = HiddenField(validators=[Required(_l("This payment form is no longer valid. Reload the page and try "
                                              "again.")), Length(max=100)])
