"""Views of the back office's catalog page: the product list, software and store categories; retiring and
restoring any of them. Every vendor role reads the catalog; only administrators change it. The product page,
its prices and quotas are in product_views.
"""


from flask import Response, abort, flash, g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.backoffice.catalog_forms import CategoryForm, SoftwareForm
from portal.backoffice.views import bp
from portal.extensions import db
from portal.forms import has_control_characters
from portal.htmx import redirect_to, render, wants_fragment
from portal.models import PRODUCT_KINDS, Category, Product, Software
from portal.routing import id_arg, page_arg
from portal.services import catalog
from portal.services.catalog import search as catalog_search
from portal.services.errors import DomainError
from portal.tenancy import client_address, roles

EDITORS = ("admin",)
CATALOG = "backoffice/catalog/index.html"


def author() -> catalog.Author:
    """Who is changing the catalog, for the audit log."""
    return catalog.Author(current_user._get_current_object(), g.organisation, client_address())


def reader_locale() -> str:
    """The reader's language: amounts are read and written in its number format."""
    return str(get_locale())


def target(*blocks: str) -> str | None:
    """The block htmx asked for (its element's id in HX-Target), if this screen has it."""
    target = request.headers.get("HX-Target")
    return target if target in blocks else None


def refuse(form, error: DomainError) -> None:
    """Undo the half-done change and show the service's message next to its field (or atop the form)."""
    db.session.rollback()
    show_error(form, error)


def show_error(form, error: DomainError) -> None:
    """Show the message of a refusal that came before anything was written next to its field (or atop the
    form); without a rollback, what the request has loaded stays loaded."""
    field = form._fields.get(error.field or "")
    (field.errors if field is not None else form.form_errors).append(str(error.message))


def done(message: str, url: str, template: str, block: str, **context):
    """After a change: the refreshed block with a notice for htmx, else a flash and a 303 to `url`."""
    db.session.commit()
    if wants_fragment():
        return render(template, block, notice=message, **context)
    flash(message, "success")
    return redirect_to(url)


def common() -> dict:
    """What every catalog screen shows differently by reader: whether they may change it, their language
    (for the catalog's translated names). Labels and formatters are the templates' own (portal/templating.py)."""
    return {"can_edit": g.membership.role in EDITORS, "locale": reader_locale()}


def _filters() -> dict:
    args = request.args
    kind = args.get("kind", "")
    return {
        "software": id_arg("software"),
        "category": id_arg("category"),
        "kind": kind if kind in PRODUCT_KINDS else "",
        "q": args.get("q", "").strip()[:100],
        "retired": args.get("retired") == "1",
    }


def _product_filters(filters: dict) -> dict:
    return {"software_id": filters["software"], "category_id": filters["category"], "kind": filters["kind"] or None,
            "search": filters["q"], "include_retired": filters["retired"]}


def _products(filters: dict):
    """The products the filters find. A search with a control character finds none: no name or code holds one
    (forms refuse them), and PostgreSQL would refuse a NUL in the query."""
    query = catalog_search.find_products(**_product_filters(filters))
    return query.where(db.false()) if has_control_characters(filters["q"]) else query


def _catalog_page(status: int = 200, block: str | None = None, software_form=None, editing_software=None,
                  category_form=None, editing_category=None, adding: str | None = None):
    """The catalog page (or the block htmx asked for). The software and category forms are rendered only
    when shown: when one is being edited or `adding` names it; otherwise their place holds the link that
    loads them (in place with htmx, the page with the form open without)."""
    filters = _filters()
    page = catalog_search.product_list(page_arg(), nothing=has_control_characters(filters["q"]),
                                       **_product_filters(filters))
    return render(
        CATALOG, block or target("products", "software_form", "categories", "category_form"), status=status,
        filters=filters, products=page, software=catalog_search.list_software(),
        categories=catalog_search.list_categories(),
        software_form=software_form, editing_software=editing_software,
        category_form=category_form, editing_category=editing_category, adding=adding,
        kinds=PRODUCT_KINDS, **common(),
    )


@bp.get("/catalog")
def catalog_index():
    """List the catalog: products (filtered, searched, paged), software and store categories."""
    return _catalog_page()


@bp.get("/catalog.csv")
def catalog_csv():
    """Download the products that match the filters as CSV, one line per price."""
    query = _products(_filters())
    response = Response(catalog_search.csv_text(query, reader_locale()), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=catalog.csv"
    return response


def _software_form(software: Software | None = None) -> SoftwareForm:
    posted = request.method == "POST"
    form = SoftwareForm() if posted else SoftwareForm(obj=software)
    if software is not None:
        del form.code  # the code never changes
        if not posted:
            form.fill_names(software.names)
    return form


@bp.route("/catalog/software", methods=["GET", "POST"])
@roles(*EDITORS)
def software_create():
    """Add a software product line (GET: its empty form, in place for htmx)."""
    form = _software_form()
    if request.method == "POST" and form.validate_on_submit():
        try:
            software = catalog.create_software(form.code.data, form.name.data, form.launch_url.data,
                                               form.description.data, form.names(), by=author())
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s has been added.", name=software.name), "success")
            return redirect_to(url_for("backoffice.catalog_index") + "#software")
    status = 422 if request.method == "POST" else 200
    return _catalog_page(status, "software_form" if target("software_form") or status == 422 else None,
                         software_form=form, adding="software")


@bp.route("/catalog/software/<int:software_id>/edit", methods=["GET", "POST"])
@roles(*EDITORS)
def software_edit(software_id: int):
    """Change a software's name, launch address and translations."""
    software = db.get_or_404(Software, software_id)
    form = _software_form(software)
    if form.validate_on_submit():
        try:
            catalog.update_software(software, form.name.data, form.launch_url.data, form.description.data,
                                    form.names(), by=author())
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s has been saved.", name=software.name), "success")
            return redirect_to(url_for("backoffice.catalog_index") + "#software")
    status = 422 if request.method == "POST" else 200
    return _catalog_page(status, "software_form" if target("software_form") or status == 422 else None,
                         software_form=form, editing_software=software)


@bp.route("/catalog/categories", methods=["GET", "POST"])
@roles(*EDITORS)
def category_create():
    """Add a row to the store, after the existing ones (GET: its empty form, in place for htmx)."""
    form = CategoryForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            category = catalog.create_category(form.code.data, form.name.data, form.names(), by=author())
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s has been added.", name=category.name), "success")
            return redirect_to(url_for("backoffice.catalog_index") + "#categories")
    status = 422 if request.method == "POST" else 200
    return _catalog_page(status, "category_form" if target("category_form") or status == 422 else None,
                         category_form=form, adding="category")


@bp.route("/catalog/categories/<int:category_id>/edit", methods=["GET", "POST"])
@roles(*EDITORS)
def category_edit(category_id: int):
    """Rename a store category and its translations."""
    category = db.get_or_404(Category, category_id)
    posted = request.method == "POST"
    form = CategoryForm() if posted else CategoryForm(obj=category)
    del form.code  # the code never changes
    if not posted:
        form.fill_names(category.names)
    if form.validate_on_submit():
        try:
            catalog.update_category(category, form.name.data, form.names(), by=author())
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s has been saved.", name=category.name), "success")
            return redirect_to(url_for("backoffice.catalog_index") + "#categories")
    status = 422 if request.method == "POST" else 200
    return _catalog_page(status, "category_form" if target("category_form") or status == 422 else None,
                         category_form=form, editing_category=category)


@bp.post("/catalog/categories/<int:category_id>/move")
@roles(*EDITORS)
def category_move(category_id: int):
    """Move a store category one place up or down."""
    category = db.get_or_404(Category, category_id)
    try:
        catalog.move_category(category, request.form.get("direction", ""), by=author())
    except DomainError as error:
        db.session.rollback()
        abort(400, description=str(error.message))
    return done(_("%(name)s has been moved.", name=category.name), url_for("backoffice.catalog_index") +
                 "#categories", CATALOG, "categories", categories=catalog_search.list_categories(), **common())


RETIRABLE = {"software": Software, "category": Category, "product": Product}
RETIRE = {"software": catalog.retire_software, "category": catalog.retire_category, "product": catalog.retire_product}
RESTORE = {"software": catalog.restore_software, "category": catalog.restore_category,
           "product": catalog.restore_product}


def _back_to(what: str, obj) -> str:
    if what == "product":
        return url_for("backoffice.product", product_id=obj.id)
    return url_for("backoffice.catalog_index") + ("#software" if what == "software" else "#categories")


@bp.route("/catalog/<any(software, category, product):what>/<int:object_id>/retire", methods=["GET", "POST"])
@roles(*EDITORS)
def catalog_retire(what: str, object_id: int):
    """Confirm, then take a software, category or product off sale; nothing that was sold changes."""
    obj = db.get_or_404(RETIRABLE[what], object_id)
    if request.method == "POST":
        RETIRE[what](obj, by=author())
        db.session.commit()
        flash(_("%(name)s is retired: it is no longer offered for new sales.", name=obj.name), "success")
        return redirect_to(_back_to(what, obj))
    uses = catalog_search.live_subscriptions(obj) if what == "product" else None
    products = catalog_search.products_offered(obj) if what != "product" else None
    return render("backoffice/catalog/retire.html", what=what, obj=obj, uses=uses, products=products,
                  back=_back_to(what, obj), **common())


@bp.post("/catalog/<any(software, category, product):what>/<int:object_id>/restore")
@roles(*EDITORS)
def catalog_restore(what: str, object_id: int):
    """Offer a retired software, category or product again."""
    obj = db.get_or_404(RETIRABLE[what], object_id)
    RESTORE[what](obj, by=author())
    db.session.commit()
    flash(_("%(name)s is offered again.", name=obj.name), "success")
    return redirect_to(_back_to(what, obj))
