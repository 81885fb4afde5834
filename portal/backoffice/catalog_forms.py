"""Forms of the back office's catalog screens."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from portal.forms import FlaskForm, IdSelectField, Required
from portal.i18n import LOCALE_NAMES, LOCALES
from portal.labels import METRIC_LABELS, PERIOD_LABELS, PRODUCT_KIND_LABELS
from portal.models import METRICS, PERIODS, PRODUCT_KINDS
from portal.models.catalog import CURRENCIES

# The catalog's own limits are checked by portal.services.catalog; these only keep the fields sane.
_SHORT = [Length(max=200)]
_LONG = [Length(max=4000)]
# Said at once for every empty field, rather than one at a time by the service.
_CODE = [Required(_l("Enter a code.")), *_SHORT]
_NAME = [Required(_l("Enter a name.")), *_SHORT]


class TranslatedForm(FlaskForm):
    """A form with a name (and maybe a description) per offered language, kept in the model's `names`."""

    with_descriptions = False

    @classmethod
    def translations(cls):
        return [(code, LOCALE_NAMES[code]) for code in LOCALES]

    def names(self) -> dict:
        names = {}
        for code in LOCALES:
            entry = {"name": self[f"name_{code}"].data or ""}
            if self.with_descriptions:
                entry["description"] = self[f"description_{code}"].data or ""
            names[code] = entry
        return names

    def fill_names(self, names: dict | None) -> None:
        for code in LOCALES:
            entry = (names or {}).get(code) or {}
            self[f"name_{code}"].data = entry.get("name", "")
            if self.with_descriptions:
                self[f"description_{code}"].data = entry.get("description", "")


def _add_translations(form_class, with_descriptions: bool = False):
    for code in LOCALES:
        setattr(form_class, f"name_{code}", StringField(_l("Name"), validators=_SHORT))
        if with_descriptions:
            setattr(form_class, f"description_{code}", TextAreaField(_l("Description"), validators=_LONG))
    form_class.with_descriptions = with_descriptions
    return form_class


@_add_translations
class SoftwareForm(TranslatedForm):
    code = StringField(_l("Code"), validators=_CODE)
    name = StringField(_l("Name"), validators=_NAME)
    launch_url = URLField(_l("Launch address"), validators=[Length(max=1000)])
    description = TextAreaField(_l("Description"), validators=_LONG)


@_add_translations
class CategoryForm(TranslatedForm):
    code = StringField(_l("Code"), validators=_CODE)
    name = StringField(_l("Name"), validators=_NAME)


class ProductForm(TranslatedForm):
    code = StringField(_l("Code"), validators=_CODE)
    name = StringField(_l("Name"), validators=_NAME)
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, PRODUCT_KIND_LABELS[k]) for k in PRODUCT_KINDS],
                       validate_choice=False)
    software_id = IdSelectField(_l("Software"))
    category_id = IdSelectField(_l("Store category"))
    description = TextAreaField(_l("Description"), validators=_LONG)
    is_free = BooleanField(_l("Free product"))
    pay_upfront = BooleanField(_l("Paid at activation"))

    def offer(self, software, categories, no_category_label) -> None:
        """Fill the choices: software still sold (and the current one), categories still shown."""
        self.software_id.choices = [SelectChoice(str(s.id), s.name) for s in software]
        self.category_id.choices = [SelectChoice("", no_category_label)] + [
            SelectChoice(str(c.id), c.name) for c in categories]


_add_translations(ProductForm, with_descriptions=True)


class PriceForm(FlaskForm):
    currency = SelectField(_l("Currency"), choices=[SelectChoice(c) for c in CURRENCIES], validate_choice=False)
    period = SelectField(_l("Period"), choices=[SelectChoice(p, PERIOD_LABELS[p]) for p in PERIODS],
                         validate_choice=False)
    amount = StringField(_l("Price"), validators=[Length(max=40)], render_kw={"inputmode": "decimal"})
    setup_fee = StringField(_l("Setup fee"), validators=[Length(max=40)], render_kw={"inputmode": "decimal"})


class QuotaForm(FlaskForm):
    metric = SelectField(_l("Metric"), choices=[SelectChoice(m, METRIC_LABELS[m]) for m in METRICS],
                         validate_choice=False)
    included = StringField(_l("Included units"), validators=[Length(max=40)], render_kw={"inputmode": "numeric"})

    def overage_fields(self):
        return [self[f"overage_{currency}"] for currency in CURRENCIES]


for _currency in CURRENCIES:
    # The fieldset's legend says what these are; each field is labelled with its currency's code.
    setattr(QuotaForm, f"overage_{_currency}", StringField(
        _currency, validators=[Length(max=40)], render_kw={"inputmode": "decimal"},
    ))
