"""Products (plans, add-ons, modules), their prices per currency and period and their usage quotas: created,
changed, retired and restored. A price or quota that was sold is never deleted (it is zeroed or kept).
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import METRICS, PERIODS, PRODUCT_KINDS, Category, Price, Product, Quota, Software
from portal.models.catalog import CURRENCIES
from portal.orm import utcnow
from portal.services.billing.amounts import MAX_UNITS, minor_units
from portal.services.catalog.fields import (
    Author,
    add_unique,
    apply_changes,
    check_unique_code,
    clean_code,
    clean_description,
    clean_name,
    clean_names,
    record,
)
from portal.services.catalog.search import live_subscriptions, price_uses
from portal.services.errors import DomainError


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
    code = clean_code(code)
    product = Product(
        code=code, kind=_kind(kind), software=_software_for_sale(software), category=_category_for_sale(category),
        name=clean_name(name), description=clean_description(description), names=clean_names(names),
        is_free=bool(is_free), pay_upfront=bool(pay_upfront) and not is_free, position=_next_position(category),
    )
    check_unique_code(Product, code)
    if product.is_free:
        _zero_prices(product)
    add_unique(product)
    record("product_created", product, by, code=code, name=product.name, kind=product.kind)
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
        name=clean_name(name), description=clean_description(description), names=clean_names(names),
        is_free=bool(is_free), pay_upfront=bool(pay_upfront) and not is_free,
    )
    if is_free and any(p.amount or p.setup_fee for p in product.prices):
        raise DomainError(_l("This product has prices above 0. Set them to 0 or remove them before making it "
                             "free."), code="free_product_has_prices", field="is_free")
    if values["category_id"] != product.category_id:
        values["position"] = _next_position(category)
    changed = apply_changes(product, **values)
    if product.is_free:
        _zero_prices(product)
    if changed:
        db.session.flush()
        record("product_updated", product, by, code=product.code, changed=changed)
    return product


def retire_product(product: Product, by: Author | None = None) -> Product:
    """Take a product off sale; subscriptions that have it keep it, invoices keep their lines."""
    if product.retired_at is None:
        product.retired_at = utcnow()
        db.session.flush()
        record("product_retired", product, by, code=product.code, live_subscriptions=live_subscriptions(product))
    return product


def restore_product(product: Product, by: Author | None = None) -> Product:
    if product.retired_at is not None:
        product.retired_at = None
        db.session.flush()
        record("product_restored", product, by, code=product.code)
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
        record("price_set", product, by, currency=currency, period=period, amount=amount, setup_fee=setup_fee)
        return price
    before = (price.amount, price.setup_fee)
    if before != (amount, setup_fee):
        price.amount, price.setup_fee = amount, setup_fee
        db.session.flush()
        record("price_set", product, by, currency=currency, period=period, amount=amount, setup_fee=setup_fee,
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
    record("price_removed", product, by, currency=price.currency, period=price.period, amount=price.amount,
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
        record("quota_set", product, by, metric=metric, included=included, overage_prices=overage)
        return quota
    before = {"included": quota.included, "overage_prices": dict(quota.overage_prices or {})}
    if before != {"included": included, "overage_prices": overage}:
        quota.included, quota.overage_prices = included, overage
        db.session.flush()
        record("quota_set", product, by, metric=metric, included=included, overage_prices=overage, before=before)
    return quota


def remove_quota(product: Product, quota: Quota, by: Author | None = None) -> None:
    """Stop including (and charging overage for) a metric with this product from the next period on."""
    if quota.product_id != product.id:
        raise DomainError(_l("This quota belongs to another product."), code="not_found", status=404)
    product.quotas.remove(quota)
    db.session.flush()
    record("quota_removed", product, by, metric=quota.metric, included=quota.included,
           overage_prices=quota.overage_prices)
