"""The base of the portal's forms: Flask-WTF's form, with WTForms' own messages translated from a cache.

Flask-WTF reads WTForms' catalogue (a .mo file) from disk on every request that builds a form (~1.8 ms);
the catalogue of each language is read once here instead.
"""

from functools import lru_cache

import flask_wtf
from babel import support
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired

from portal.routing import fits


@lru_cache(maxsize=16)
def _wtforms_translations(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class FlaskForm(flask_wtf.FlaskForm):
    class Meta:
        def get_translations(self, form):
            if not has_request_context() or not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            locale = get_locale()
            return _wtforms_translations(str(locale)) if locale is not None else super().get_translations(form)


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
