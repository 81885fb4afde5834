"""The back office's forms for customers' requests to their commercial advisor: the list's status filter (a
GET form, no CSRF token) and the answer."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from portal.forms import FlaskForm
from portal.labels import ADVISOR_REQUEST_STATUS_LABELS
from portal.models import ADVISOR_REQUEST_STATUSES


class AdvisorRequestFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("All statuses"))]
        + [SelectChoice(code, ADVISOR_REQUEST_STATUS_LABELS[code]) for code in ADVISOR_REQUEST_STATUSES],
        validators=[Optional()],
        default="",
    )

    def status_chosen(self) -> str:
        """The status asked for, or "" (all) when it is not one of the list's."""
        self.validate()
        return "" if self.status.errors else (self.status.data or "")


class AdvisorAnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer for the customer"))
