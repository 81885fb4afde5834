"""The base of the portal's forms: Flask-WTF's form, with WTForms' own messages translated from a cache, and
the rules every text field of every form follows.

- A form reads the text parts of a posted form only. A browser sends a text field as text; a file part in
  its place (or a JSON body, which Flask-WTF would read as the form) is refused with a message beside the
  field, not handed to validators that expect a string.
- No text field holds a control character (NUL and the other C0 and C1 controls; tab and line breaks are
  text): PostgreSQL refuses NUL in text outright, and none of them belongs in a name, an e-mail or a code.
- Flask-WTF reads WTForms' catalogue (a .mo file) from disk on every request that builds a form (~1.8 ms);
  the catalogue of each language is read once here instead.
"""

import re
from functools import lru_cache

import flask_wtf
from babel import support
from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import FileField as _FileField
from wtforms import MultipleFileField, SelectField
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired

from portal.routing import fits


@lru_cache(maxsize=16)
def _wtforms_translations(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def _takes_files(field) -> bool:
    return isinstance(field, (_FileField, MultipleFileField))


class FlaskForm(flask_wtf.FlaskForm):
    class Meta:
        def get_translations(self, form):
            if not has_request_context() or not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            locale = get_locale()
            return _wtforms_translations(str(locale)) if locale is not None else super().get_translations(form)

        def wrap_formdata(self, form, formdata):
            if formdata is not flask_wtf.form._Auto:  # the form was given its data (request.args, None)
                return formdata
            if not has_request_context() or request.method not in flask_wtf.form.SUBMIT_METHODS:
                return None
            files = {name for name in request.files if name in form._fields}
            form.sent_as_files = {name for name in files if not _takes_files(form._fields[name])}
            wanted = files - form.sent_as_files
            if not wanted:
                return request.form
            return CombinedMultiDict((MultiDict([(k, v) for k, v in request.files.items(multi=True) if k in wanted]),
                                      request.form))

    sent_as_files: frozenset[str] | set[str] = frozenset()

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then refuse a text field sent as a file or holding a control character; such a
        field gets only that message (what its own validators made of it would only confuse)."""
        valid = super().validate(extra_validators)
        for field in self:
            if field.name in self.sent_as_files:
                field.errors = [_l("Send this field as text, not as a file.")]
            elif isinstance(field.data, str) and has_control_characters(field.data):
                field.errors = [_l("This field contains invisible control characters. Type it again without them.")]
            else:
                continue
            valid = False
        return valid


class Required(DataRequired):
    """A field that must say something, with our own message; the page says so, not the browser.

    The `required` attribute is left out of the HTML on purpose: the browser would answer in its own
    language, and the server's message (in the user's) would never be seen.
    """

    def __init__(self, message):
        super().__init__(message)
        self.field_flags = {}


class IdSelectField(SelectField):
    """A choice of a row by its id. Empty (or not a number) is None, and the service says what to choose; a
    number no id column can hold is refused here, before it reaches a query (portal/routing.py)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, coerce=_id_or_none, validate_choice=False, **kwargs)

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = _id_or_none(valuelist[0])
            if self.data is not None and not fits(self.data):
                self.data = None
                raise ValueError(_l("Choose one of the offered options."))


def _id_or_none(value):
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None
