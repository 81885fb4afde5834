"""Forms of the partners' price lists: the list itself (name, currency, whose it is), its rows of products as
typed (amounts in the reader's number format, bonus tiers as "10:1; 25:3"), and assigning it to a partner."""

import re

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from portal.extensions import db
from portal.forms import FlaskForm, IdSelectField, Required
from portal.models import Product
from portal.models.catalog import CURRENCIES
from portal.routing import fits
from portal.services.billing import amounts
from portal.services.errors import DomainError
from portal.services.partners.pricelists import ItemSpec, check_tiers

MAX_ROWS = 100
EMPTY_ROWS = 3  # rows offered for products not on the list yet
_TIER = re.compile(r"^\s*(\d{1,6})\s*[:=]\s*(\d{1,6})\s*$")


class PriceListForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Required(_l("Enter a name.")), Length(max=120)])
    currency = SelectField(_l("Currency"), choices=[SelectChoice(c) for c in CURRENCIES], validate_choice=False)
    partner_id = IdSelectField(_l("Whose list"))

    def offer(self, partners, default_label) -> None:
        self.partner_id.choices = [SelectChoice("", default_label)] + [
            SelectChoice(str(p.id), f"{p.name} ({p.currency})") for p in partners]


class AssignForm(FlaskForm):
    partner_id = IdSelectField(_l("Partner"))

    def offer(self, partners, choose_label) -> None:
        self.partner_id.choices = [SelectChoice("", choose_label)] + [
            SelectChoice(str(p.id), f"{p.name} ({p.currency})") for p in partners]


def row_values(item) -> dict:
    """A price list item as the editor's row shows it (amounts as typed back, tiers as "10:1; 25:3")."""
    from portal.templating import amount_input

    currency = item.price_list.currency
    return {"product_id": str(item.product_id), "unit_monthly": amount_input(item.unit_monthly, currency),
            "setup_fee": amount_input(item.setup_fee, currency), "users": str(item.users_per_license),
            "tiers": "; ".join(f"{minimum}:{free}" for minimum, free in item.bonus_tiers)}


def posted_rows(formdata) -> list[dict]:
    """The rows as posted, to show them again as typed; at most MAX_ROWS."""
    try:
        count = min(max(int(formdata.get("rows", "0")), 0), MAX_ROWS)
    except ValueError:
        count = 0
    return [{key: (formdata.get(f"{key}_{i}") or "")[:200] for key in ("product_id", "unit_monthly", "setup_fee",
                                                                         "users", "tiers")}
            | {"remove": formdata.get(f"remove_{i}") == "1"} for i in range(count)]


def parse_tiers(text: str, field: str) -> tuple[tuple[int, int], ...]:
    """ "10:1; 25:3" → ((10, 1), (25, 3)); the rules of tiers are the service's."""
    parts = [part for part in re.split(r"[;\n]+", text or "") if part.strip()]
    tiers = []
    for part in parts:
        found = _TIER.match(part)
        if found is None:
            raise DomainError(_l("Write each bonus tier as minimum:free, separated by semicolons, e.g. 10:1; 25:3."),
                              code="invalid_tiers", field=field)
        tiers.append((int(found[1]), int(found[2])))
    return tuple(tiers)


def _product(raw: str, field: str) -> Product:
    raw = raw.strip()
    product = db.session.get(Product, int(raw)) if raw.isdigit() and fits(int(raw)) else None
    if product is None or product.retired_at is not None:
        raise DomainError(_l("Choose one of the offered products."), code="invalid_product", field=field)
    return product


def item_specs(rows: list[dict], currency: str, locale: str) -> list[ItemSpec]:
    """The rows that name a product and are not removed, read as items; the first bad value is refused with its
    row's field name (product_id_2, unit_monthly_0, …)."""
    specs = []
    for i, row in enumerate(rows):
        if row["remove"] or not row["product_id"].strip():
            continue
        product = _product(row["product_id"], f"product_id_{i}")
        unit = amounts.parse_amount(row["unit_monthly"], currency, locale, f"unit_monthly_{i}")
        setup = amounts.parse_amount(row["setup_fee"] or "0", currency, locale, f"setup_fee_{i}")
        users = amounts.parse_units(row["users"] or "1", locale, f"users_{i}")
        if users < 1:
            raise DomainError(_l("Users per license must be from 1 to 10,000."), code="invalid_users",
                              field=f"users_{i}")
        tiers = parse_tiers(row["tiers"], f"tiers_{i}")
        check_tiers(tiers, f"tiers_{i}")
        specs.append(ItemSpec(product, unit, setup, users, tiers))
    return specs
