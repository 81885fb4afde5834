"""The form a customer writes to its commercial advisor with (its rules: services/accounts/advisor_requests.py)."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField

from portal.forms import FlaskForm
from portal.services.accounts.advisor_requests import RequestData


class AdvisorRequestForm(FlaskForm):
    subject = StringField(_l("Subject"))
    message = TextAreaField(_l("Your request"))
    contact = StringField(_l("How would you like to be contacted?"), default="email")
    phone = StringField(_l("Phone number"))
    preferred_time = StringField(_l("When suits you"))

    def data_sent(self) -> RequestData:
        return RequestData(self.subject.data or "", self.message.data or "", self.contact.data or "",
                           self.phone.data or "", self.preferred_time.data or "")
