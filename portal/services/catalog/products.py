"""Changing the catalog: software, store categories, products, their prices and quotas — created, changed,
retired.

Nothing that was sold is ever deleted: retiring hides a product (or a whole software or category) from
new sales, while subscriptions keep it and issued invoices keep their own copy of every line. Every
change is recorded in the audit log with the `Author` the view passes in. Reading the catalog is in
catalog_search; amounts typed by people are read by amounts.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.i18n import LOCALES
from portal.models import METRICS, PERIODS, PRODUCT_KINDS, Category, Organisation, Price, Product, Quota, Software, User
from portal.models.catalog import CURRENCIES
from portal.orm import utcnow
from portal.services import audit
from portal.services.billing.amounts import MAX_UNITS, minor_units
from portal.services.catalog.search import list_categories, live_subscriptions, price_uses
from portal.services.errors import DomainError

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_CODE = 40
MAX_NAME = 120
MAX_DESCRIPTION = 2000
MAX_URL = 300


@dataclass(frozen=True)
class Author:
    """Who makes a change, for the audit log: the staff member, their organisation and their address."""

    actor: User | None = None
    organisation: Organisation | None = None
    address: str | None = None


SYSTEM = Author()


def _record(action: str, obj, by: Author | None, **details) -> None:
    by = by or SYSTEM
    audit.record(action, actor=by.actor, organisation=by.organisation, obj=obj, details=details,
                 address=by.address)


def _code(code: str | None) -> str:
    code = (code or "").strip().lower()
    if not code:
        raise DomainError(_l("Enter a code."), code="required", field="code")
    if len(code) > MAX_CODE or not CODE_RE.match(code):
        raise DomainError(
            _l("Use up to %(num)d lowercase letters, digits, hyphens or underscores, e.g. erp-pro.", num=MAX_CODE),
            code="invalid_code", field="code",
        )
    return code


def _name(name: str | None, field: str = "name") -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_l("Enter a name."), code="required", field=field)
    if len(name) > MAX_NAME:
        raise DomainError(_l("Use at most %(num)d characters.", num=MAX_NAME), code="too_long", field=field)
    return name


def _description(text: str | None, field: str = "description") -> str:
    text = (text or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise DomainError(_l("Use at most %(num)d characters.", num=MAX_DESCRIPTION), code="too_long", field=field)
    return text


def _names(names: dict | None) -> dict:
    """Keep the translations of the offered languages that say something: {"es": {"name": …}, …}."""
    cleaned = {}
    for locale in LOCALES:
        entry = (names or {}).get(locale) or {}
        name = " ".join((entry.get("name") or "").split())
        if len(name) > MAX_NAME:
            raise DomainError(_l("Use at most %(num)d characters.", num=MAX_NAME), code="too_long",
                              field=f"name_{locale}")
        description = _description(entry.get("description"), field=f"description_{locale}")
        kept = {key: value for key, value in (("name", name), ("description", description)) if value}
        if kept:
            cleaned[locale] = kept
    return cleaned


def _launch_url(url: str | None) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL or " " in url:
        raise DomainError(_l("Enter the full address, starting with https:// (or http://)."),
                          code="invalid_url", field="launch_url")
    return url


def _unique_code(model, code: str) -> None:
    if db.session.scalar(db.select(model.id).where(model.code == code)) is not None:
        raise DomainError(_l("The code %(code)s is already used. Choose another one.", code=code),
                          code="duplicate_code", field="code")


def _add_unique(obj) -> None:
    """Add a new row whose code was checked; a concurrent twin still ends as a clear error, not a 500."""
    try:
        with db.session.begin_nested():
            db.session.add(obj)
    except IntegrityError as error:
        raise DomainError(_l("The code %(code)s is already used. Choose another one.", code=obj.code),
                          code="duplicate_code", field="code") from error


def _changes(obj, **values) -> dict:
    """Set the values that differ and return them as {field: [before, after]} for the audit log."""
    changed = {}
    for field, value in values.items():
        before = getattr(obj, field)
        if before != value:
            changed[field] = [before, value]
            setattr(obj, field, value)
    return changed


def create_software(code: str, name: str, launch_url: str, description: str = "", names: dict | None = None,
                    by: Author | None = None) -> Software:
    """Add a software product line (ERP, e-invoicing, …) that customers open from the portal."""
    code = _code(code)
    software = Software(code=code, name=_name(name), launch_url=_launch_url(launch_url),
                        description=_description(description), names=_names(names))
    _unique_code(Software, code)
    _add_unique(software)
    _record("software_created", software, by, code=code, name=software.name)
    return software


def update_software(software: Software, name: str, launch_url: str, description: str = "",
                    names: dict | None = None, by: Author | None = None) -> Software:
    changed = _changes(software, name=_name(name), launch_url=_launch_url(launch_url),
                       description=_description(description), names=_names(names))
    if changed:
        db.session.flush()
        _record("software_updated", software, by, code=software.code, changed=changed)
    return software


def retire_software(software: Software, by: Author | None = None) -> Software:
    """Stop selling everything of this software; what customers already have stays theirs."""
    if software.retired_at is None:
        software.retired_at = utcnow()
        db.session.flush()
        _record("software_retired", software, by, code=software.code)
    return software


def restore_software(software: Software, by: Author | None = None) -> Software:
    if software.retired_at is not None:
        software.retired_at = None
        db.session.flush()
        _record("software_restored", software, by, code=software.code)
    return software


def create_category(code: str, name: str, names: dict | None = None, by: Author | None = None) -> Category:
    """Add a row of the store, after the existing ones."""
    code = _code(code)
    last = db.session.scalar(db.select(db.func.max(Category.position)))
    category = Category(code=code, name=_name(name), names=_names(names), position=(last or 0) + 1)
    _unique_code(Category, code)
    _add_unique(category)
    _record("category_created", category, by, code=code, name=category.name)
    return category


def update_category(category: Category, name: str, names: dict | None = None,
                    by: Author | None = None) -> Category:
    changed = _changes(category, name=_name(name), names=_names(names))
    if changed:
        db.session.flush()
        _record("category_updated", category, by, code=category.code, changed=changed)
    return category


def move_category(category: Category, direction: str, by: Author | None = None) -> Category:
    """Swap a category with its neighbour above or below; positions are renumbered 1…n as a side effect."""
    if direction not in ("up", "down"):
        raise DomainError(_l("Choose up or down."), code="invalid_direction", field="direction")
    ordered = list_categories()
    index = ordered.index(category)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, each in enumerate(ordered, start=1):
            each.position = position
        db.session.flush()
        _record("category_moved", category, by, code=category.code, direction=direction,
                position=category.position)
    return category


def retire_category(category: Category, by: Author | None = None) -> Category:
    """Hide a row of the store; its products stay on the subscriptions that have them."""
    if category.retired_at is None:
        category.retired_at = utcnow()
        db.session.flush()
        _record("category_retired", category, by, code=category.code)
    return category


def restore_category(category: Category, by: Author | None = None) -> Category:
    if category.retired_at is not None:
        category.retired_at = None
        db.session.flush()
        _record("category_restored", category, by, code=category.code)
    return category


def _kind(kind: str | None) -> str:
    if kind not in PRODUCT_KINDS:
        raise DomainError(_l("Choose one of the offered kinds."), code="invalid_kind", field="kind")
    return kind


def _software_for_sale(software: Software | None, current: Software | None = None) -> Software:
    if software is None:
        raise DomainError(_l("Choose a software."), code="required", field="software_id")
    if software.retired_at is not None and software is not current:
        raise DomainError(_l("This software is retired. Choose one that is still sold."), code="retired",
                          field="software_id")
    return software


def _category_for_sale(category: Category | None, current: Category | None = None) -> Category | None:
    if category is not None and category.retired_at is not None and category is not current:
        raise DomainError(_l("This category is retired. Choose one that is still shown."), code="retired",
                          field="category_id")
    return category


def _zero_prices(product: Product) -> None:
    """A free product costs 0 in every currency, so the store can show and activate it at $0."""
    for currency in CURRENCIES:
        if product.price_for(currency, "monthly") is None:
            product.prices.append(Price(currency=currency, period="monthly", amount=0, setup_fee=0))


def create_product(code: str, kind: str, software: Software | None, name: str, category: Category | None = None,
                   description: str = "", names: dict | None = None, is_free: bool = False,
                   pay_upfront: bool = False, by: Author | None = None) -> Product:
    """Add a product (plan, module, additional user, …) to the catalog; prices and quotas come next."""
    code = _code(code)
    product = Product(
        code=code, kind=_kind(kind), software=_software_for_sale(software), category=_category_for_sale(category),
        name=_name(name), description=_description(description), names=_names(names), is_free=bool(is_free),
        pay_upfront=bool(pay_upfront) and not is_free, position=_next_position(category),
    )
    _unique_code(Product, code)
    if product.is_free:
        _zero_prices(product)
    _add_unique(product)
    _record("product_created", product, by, code=code, name=product.name, kind=product.kind)
    return product


def _next_position(category: Category | None) -> int:
    query = db.select(db.func.max(Product.position))
    query = query.where(Product.category_id == category.id) if category is not None else query.where(
        Product.category_id.is_(None))
    return (db.session.scalar(query) or 0) + 1


def update_product(product: Product, kind: str, software: Software | None, name: str,
                   category: Category | None = None, description: str = "", names: dict | None = None,
                   is_free: bool = False, pay_upfront: bool = False, by: Author | None = None) -> Product:
    """Change what a product is called and how it is sold; its code never changes (integrations use it)."""
    category = _category_for_sale(category, product.category)
    values = dict(
        kind=_kind(kind), software_id=_software_for_sale(software, product.software).id,
        category_id=category.id if category is not None else None,
        name=_name(name), description=_description(description), names=_names(names),
        is_free=bool(is_free), pay_upfront=bool(pay_upfront) and not is_free,
    )
    if is_free and any(p.amount or p.setup_fee for p in product.prices):
        raise DomainError(_l("This product has prices above 0. Set them to 0 or remove them before making it "
                             "free."), code="free_product_has_prices", field="is_free")
    if values["category_id"] != product.category_id:
        values["position"] = _next_position(category)
    changed = _changes(product, **values)
    if product.is_free:
        _zero_prices(product)
    if changed:
        db.session.flush()
        _record("product_updated", product, by, code=product.code, changed=changed)
    return product


def retire_product(product: Product, by: Author | None = None) -> Product:
    """Take a product off sale; subscriptions that have it keep it, invoices keep their lines."""
    if product.retired_at is None:
        product.retired_at = utcnow()
        db.session.flush()
        _record("product_retired", product, by, code=product.code, live_subscriptions=live_subscriptions(product))
    return product


def restore_product(product: Product, by: Author | None = None) -> Product:
    if product.retired_at is not None:
        product.retired_at = None
        db.session.flush()
        _record("product_restored", product, by, code=product.code)
    return product


def _period(period: str | None) -> str:
    if period not in PERIODS:
        raise DomainError(_l("Choose one of the offered periods."), code="invalid_period", field="period")
    return period


def set_price(product: Product, currency: str, period: str, amount: int, setup_fee: int = 0,
              by: Author | None = None) -> Price:
    """Add the price of a product in one currency and period, or change it; amounts are minor units.

    Issued invoices keep the amounts they were issued with; renewals from now on use the new price.
    """
    if currency not in CURRENCIES:
        raise DomainError(_l("Choose one of the offered currencies."), code="invalid_currency", field="currency")
    period = _period(period)
    amount, setup_fee = minor_units(amount, "amount"), minor_units(setup_fee, "setup_fee")
    if product.is_free and (amount or setup_fee):
        raise DomainError(_l("This product is free: its price and setup fee must be 0."),
                          code="free_product_price", field="amount")
    price = product.price_for(currency, period)
    if price is None:
        price = Price(currency=currency, period=period, amount=amount, setup_fee=setup_fee)
        try:
            with db.session.begin_nested():
                product.prices.append(price)
        except IntegrityError as error:
            raise DomainError(_l("This price was just added by someone else. Reload the page."),
                              code="price_exists", field="currency") from error
        _record("price_set", product, by, currency=currency, period=period, amount=amount, setup_fee=setup_fee)
        return price
    before = (price.amount, price.setup_fee)
    if before != (amount, setup_fee):
        price.amount, price.setup_fee = amount, setup_fee
        db.session.flush()
        _record("price_set", product, by, currency=currency, period=period, amount=amount, setup_fee=setup_fee,
                before={"amount": before[0], "setup_fee": before[1]})
    return price


def remove_price(product: Product, price: Price, by: Author | None = None) -> None:
    """Stop offering a product in one currency and period, unless live subscriptions are billed with it."""
    if price.product_id != product.id:
        raise DomainError(_l("This price belongs to another product."), code="not_found", status=404)
    uses = price_uses(product, price)
    if uses:
        raise DomainError(
            _l("%(num)d live subscriptions are billed with this price. Change its amount instead, or retire "
               "the product.", num=uses), code="price_in_use", field="currency")
    product.prices.remove(price)
    db.session.flush()
    _record("price_removed", product, by, currency=price.currency, period=price.period, amount=price.amount,
            setup_fee=price.setup_fee)


def set_quota(product: Product, metric: str, included: int, overage_prices: dict[str, int] | None = None,
              by: Author | None = None) -> Quota:
    """Say how much of a metric the product includes and what each unit beyond costs, per currency."""
    if metric not in METRICS:
        raise DomainError(_l("Choose one of the offered metrics."), code="invalid_metric", field="metric")
    if not isinstance(included, int) or isinstance(included, bool) or included < 0:
        raise DomainError(_l("Enter a whole number, 0 or more."), code="invalid_number", field="included")
    if included > MAX_UNITS:
        raise DomainError(_l("This number is too large. Check the number of digits."), code="number_too_large",
                          field="included")
    overage = {}
    for currency, amount in (overage_prices or {}).items():
        if currency not in CURRENCIES:
            raise DomainError(_l("Choose one of the offered currencies."), code="invalid_currency",
                              field=f"overage_{currency}")
        if amount is not None:
            overage[currency] = minor_units(amount, f"overage_{currency}")
    quota = next((q for q in product.quotas if q.metric == metric), None)
    if quota is None:
        quota = Quota(metric=metric, included=included, overage_prices=overage)
        try:
            with db.session.begin_nested():
                product.quotas.append(quota)
        except IntegrityError as error:
            raise DomainError(_l("This quota was just added by someone else. Reload the page."),
                              code="quota_exists", field="metric") from error
        _record("quota_set", product, by, metric=metric, included=included, overage_prices=overage)
        return quota
    before = {"included": quota.included, "overage_prices": dict(quota.overage_prices or {})}
    if before != {"included": included, "overage_prices": overage}:
        quota.included, quota.overage_prices = included, overage
        db.session.flush()
        _record("quota_set", product, by, metric=metric, included=included, overage_prices=overage, before=before)
    return quota


def remove_quota(product: Product, quota: Quota, by: Author | None = None) -> None:
    """Stop including (and charging overage for) a metric with this product from the next period on."""
    if quota.product_id != product.id:
        raise DomainError(_l("This quota belongs to another product."), code="not_found", status=404)
    product.quotas.remove(quota)
    db.session.flush()
    _record("quota_removed", product, by, metric=quota.metric, included=quota.included,
            overage_prices=quota.overage_prices)
