"""Views of a product of the catalog: adding it, its page, editing it in place, and its prices and quotas,
whose tables htmx swaps alone. Every vendor role reads them; only administrators change them.
"""

from flask import abort, flash, request, url_for
from flask_babel import gettext as _

from portal.backoffice.catalog_forms import PriceForm, ProductForm, QuotaForm
from portal.backoffice.catalog_views import (
    EDITORS,
    author,
    common,
    done,
    reader_locale,
    refuse,
    show_error,
    target,
)
from portal.backoffice.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.labels import METRIC_LABELS, PERIOD_LABELS
from portal.models import Category, Price, Product, Quota, Software
from portal.models.catalog import CURRENCIES
from portal.services import catalog
from portal.services.billing import amounts
from portal.services.catalog import search as catalog_search
from portal.services.errors import DomainError
from portal.tenancy import roles

PRODUCT = "backoffice/catalog/product.html"


def _product_form(product: Product | None = None) -> ProductForm:
    posted = request.method == "POST"
    form = ProductForm() if posted else ProductForm(obj=product)
    if product is not None:
        del form.code  # the code never changes
        if not posted:
            form.fill_names(product.names)
    current_software = product.software_id if product is not None else None
    current_category = product.category_id if product is not None else None
    form.offer([s for s in catalog_search.list_software() if s.retired_at is None or s.id == current_software],
               [c for c in catalog_search.list_categories() if c.retired_at is None or c.id == current_category],
               _("None (not in the store)"))
    return form


def _product_values(form: ProductForm) -> dict:
    category = db.session.get(Category, form.category_id.data) if form.category_id.data else None
    if form.category_id.data and category is None:
        raise DomainError(_("Choose one of the offered categories."), code="invalid_category", field="category_id")
    return dict(
        kind=form.kind.data, software=db.session.get(Software, form.software_id.data or 0), name=form.name.data,
        category=category,
        description=form.description.data, names=form.names(), is_free=form.is_free.data,
        pay_upfront=form.pay_upfront.data, by=author(),
    )


@bp.route("/catalog/products/new", methods=["GET", "POST"])
@roles(*EDITORS)
def product_new():
    """Add a product; its prices and quotas are added on its own page next."""
    form = _product_form()
    if form.validate_on_submit():
        try:
            product = catalog.create_product(form.code.data, **_product_values(form))
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s has been added. Now give it its prices and quotas.", name=product.name), "success")
            return redirect_to(url_for("backoffice.product", product_id=product.id))
    status = 422 if request.method == "POST" else 200
    return render("backoffice/catalog/product_new.html", "product_form", status=status, form=form, **common())


def _product_page(product: Product, status: int = 200, block: str | None = None, **forms):
    context = {"product": product, "price_form": PriceForm(formdata=None), "quota_form": QuotaForm(formdata=None),
               "form": None, "live": catalog_search.live_subscriptions(product), "currencies": CURRENCIES, **common()}
    context.update(forms)
    return render(PRODUCT, block or target("product_details", "prices", "quotas"), status=status, **context)


@bp.get("/catalog/products/<int:product_id>")
def product(product_id: int):
    """Show a product: what it is, its prices per currency and period, and its quotas."""
    return _product_page(db.get_or_404(Product, product_id))


@bp.route("/catalog/products/<int:product_id>/edit", methods=["GET", "POST"])
@roles(*EDITORS)
def product_edit(product_id: int):
    """Change a product in place: name, kind, software, category, translations and how it is paid."""
    product = db.get_or_404(Product, product_id)
    form = _product_form(product)
    if form.validate_on_submit():
        try:
            catalog.update_product(product, **_product_values(form))
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s has been saved.", name=product.name), "success")
            return redirect_to(url_for("backoffice.product", product_id=product.id))
    status = 422 if request.method == "POST" else 200
    return _product_page(product, status, "product_details" if target("product_details") or status == 422
                         else None, form=form)


def _child(model, product: Product, child_id: int):
    child = db.session.scalar(db.select(model).where(model.id == child_id, model.product_id == product.id))
    if child is None:
        abort(404)
    return child


@bp.post("/catalog/products/<int:product_id>/prices")
@roles(*EDITORS)
def price_save(product_id: int):
    """Add the product's price in a currency and period, or change it."""
    product = db.get_or_404(Product, product_id)
    form = PriceForm()
    if form.validate_on_submit():
        currency, locale = form.currency.data, reader_locale()
        try:
            amount = amounts.parse_amount(form.amount.data, currency, locale, "amount")
            setup_fee = amounts.parse_amount(form.setup_fee.data or "0", currency, locale, "setup_fee")
        except DomainError as error:  # nothing written yet
            show_error(form, error)
            return _product_page(product, 422, "prices", price_form=form)
        try:
            price = catalog.set_price(product, currency, form.period.data, amount, setup_fee, by=author())
        except DomainError as error:
            refuse(form, error)
        else:
            message = _("The %(period)s price in %(currency)s is saved.",
                        period=str(PERIOD_LABELS[price.period]).lower(), currency=price.currency)
            return done(message, _product_url(product, "prices"), PRODUCT, "prices", product=product,
                         price_form=PriceForm(formdata=None), **common())
    return _product_page(product, 422, "prices", price_form=form)


def _product_url(product: Product, anchor: str) -> str:
    return url_for("backoffice.product", product_id=product.id) + "#" + anchor


@bp.post("/catalog/products/<int:product_id>/prices/<int:price_id>/remove")
@roles(*EDITORS)
def price_remove(product_id: int, price_id: int):
    """Stop offering the product in one currency and period."""
    product = db.get_or_404(Product, product_id)
    price = _child(Price, product, price_id)
    try:
        catalog.remove_price(product, price, by=author())
    except DomainError as error:
        db.session.rollback()
        return _product_page(product, 422, "prices", price_error=str(error.message))
    return done(_("The price has been removed."), _product_url(product, "prices"), PRODUCT, "prices",
                 product=product, price_form=PriceForm(formdata=None), **common())


@bp.post("/catalog/products/<int:product_id>/quotas")
@roles(*EDITORS)
def quota_save(product_id: int):
    """Add what the product includes of a metric and the price of each unit beyond, or change it."""
    product = db.get_or_404(Product, product_id)
    form = QuotaForm()
    if form.validate_on_submit():
        locale = reader_locale()
        try:
            included = amounts.parse_units(form.included.data, locale)
            overage = {c: amounts.parse_amount(form[f"overage_{c}"].data, c, locale, f"overage_{c}")
                       for c in CURRENCIES if (form[f"overage_{c}"].data or "").strip()}
        except DomainError as error:  # nothing written yet
            show_error(form, error)
            return _product_page(product, 422, "quotas", quota_form=form)
        try:
            quota = catalog.set_quota(product, form.metric.data, included, overage, by=author())
        except DomainError as error:
            refuse(form, error)
        else:
            message = _("The quota of %(metric)s is saved.", metric=str(METRIC_LABELS[quota.metric]).lower())
            return done(message, _product_url(product, "quotas"), PRODUCT, "quotas", product=product,
                         quota_form=QuotaForm(formdata=None), currencies=CURRENCIES, **common())
    return _product_page(product, 422, "quotas", quota_form=form)


@bp.post("/catalog/products/<int:product_id>/quotas/<int:quota_id>/remove")
@roles(*EDITORS)
def quota_remove(product_id: int, quota_id: int):
    """Stop including a metric with the product."""
    product = db.get_or_404(Product, product_id)
    quota = _child(Quota, product, quota_id)
    catalog.remove_quota(product, quota, by=author())
    return done(_("The quota has been removed."), _product_url(product, "quotas"), PRODUCT, "quotas",
                 product=product, quota_form=QuotaForm(formdata=None), currencies=CURRENCIES, **common())
