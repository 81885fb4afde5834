"""Reading the partner's forms: numbers and ids that the database can hold, or a translated 422."""

from flask import request
from flask_babel import gettext as _

from portal.extensions import db
from portal.models import Product
from portal.routing import fits
from portal.services.errors import DomainError


def quantity(name: str = "quantity") -> int:
    raw = request.form.get(name, "").strip()
    try:
        number = int(raw)
    except ValueError:
        number = None
    if number is None or not fits(number) or number < 1:
        raise DomainError(_("The quantity must be a whole number of at least 1."), code="invalid_quantity",
                          field=name)
    return number


def product(name: str = "product_id", values=None) -> Product | None:
    raw = (values if values is not None else request.form).get(name, "").strip()
    if not raw.isdigit() or not fits(int(raw)):
        return None
    return db.session.get(Product, int(raw))
