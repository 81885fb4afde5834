"""Views of the partners' price lists ("Pautas de preço"): the lists in force, one version with its history,
creating a list, editing it (saving makes a new version; orders keep the one they were priced with) and
assigning it to a partner. Every vendor role reads them; administrators and commercial advisors change them.
"""

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.backoffice.catalog_views import reader_locale
from portal.backoffice.pricelist_forms import (
    EMPTY_ROWS,
    AssignForm,
    PriceListForm,
    item_specs,
    posted_rows,
    row_values,
)
from portal.backoffice.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.models import Organisation, Product
from portal.orm import utcnow
from portal.routing import fits
from portal.services.errors import DomainError
from portal.services.partners import pricelists
from portal.tenancy import roles

EDITORS = ("admin", "advisor")
EDITOR = "backoffice/price_lists/edit.html"


def _partners() -> list[Organisation]:
    return list(db.session.scalars(db.select(Organisation).where(Organisation.kind == "partner")
                                   .order_by(Organisation.name)))


def _products() -> list[Product]:
    return list(db.session.scalars(db.select(Product).where(Product.retired_at.is_(None))
                                   .order_by(Product.name)))


def _can_edit() -> bool:
    return g.membership.role in EDITORS


def _editor(form, rows, price_list=None, status=200, error=None, error_field=None):
    return render(EDITOR, status=status, form=form, rows=rows, price_list=price_list, products=_products(),
                  error=error, error_field=error_field)


@bp.get("/price-lists")
def price_lists():
    """List the price lists in force: the default one and each partner's, with their version and products."""
    return render("backoffice/price_lists/index.html", lists=pricelists.current_lists(), can_edit=_can_edit())


@bp.get("/price-lists/<int:price_list_id>")
def price_list(price_list_id: int):
    """Show one version of a price list: its products and amounts, its versions, and whom to assign it to."""
    found = pricelists.price_list(price_list_id) or abort(404)
    return _show(found)


def _show(found, status=200, assign_form=None):
    assign_form = assign_form or AssignForm(formdata=None)
    assign_form.offer(_partners(), _("Choose a partner"))
    return render("backoffice/price_lists/show.html", status=status, price_list=found,
                  versions=pricelists.versions(found), priced=pricelists.orders_priced_with(found),
                  assign_form=assign_form, can_edit=_can_edit())


def _save(form, rows, save):
    """Read the rows and save; a refusal comes back as the editor with its message, nothing written."""
    try:
        specs = item_specs(rows, form.currency.data, reader_locale())
        saved = save(specs)
    except DomainError as error:
        db.session.rollback()
        return None, error
    db.session.commit()
    return saved, None


@bp.route("/price-lists/new", methods=["GET", "POST"])
@roles(*EDITORS)
def price_list_new():
    """Create a price list, the default one or a partner's own, with its products."""
    form = PriceListForm()
    form.offer(_partners(), _("Default list (partners without their own)"))
    rows = posted_rows(request.form) if request.method == "POST" else []
    rows += [dict(product_id="", unit_monthly="", setup_fee="", users="1", tiers="", remove=False)] * EMPTY_ROWS
    if request.method == "POST" and form.validate_on_submit():
        partner = db.session.get(Organisation, form.partner_id.data) if form.partner_id.data else None
        if form.partner_id.data and partner is None:
            return _editor(form, rows, status=422, error=_("Choose a partner."), error_field="partner_id")
        saved, error = _save(form, rows, lambda specs: pricelists.create_price_list(
            form.name.data, form.currency.data, specs, utcnow(), partner=partner, actor=current_user))
        if saved is not None:
            flash(_("The price list %(name)s was created.", name=saved.name), "success")
            return redirect_to(url_for("backoffice.price_list", price_list_id=saved.id))
        return _editor(form, rows, status=422, error=str(error.message), error_field=error.field)
    return _editor(form, rows, status=422 if request.method == "POST" else 200)


@bp.route("/price-lists/<int:price_list_id>/edit", methods=["GET", "POST"])
@roles(*EDITORS)
def price_list_edit(price_list_id: int):
    """Edit a price list: saving makes a new version, and orders priced with this one keep it."""
    found = pricelists.price_list(price_list_id) or abort(404)
    if request.method == "POST":
        form = PriceListForm()
        rows = posted_rows(request.form)
    else:
        form = PriceListForm(obj=found)
        rows = [row_values(item) | {"remove": False} for item in found.items]
    del form.partner_id  # a version stays whose it was; another partner gets it by assignment
    rows += [dict(product_id="", unit_monthly="", setup_fee="", users="1", tiers="", remove=False)] * EMPTY_ROWS
    if request.method == "POST" and form.validate_on_submit():
        saved, error = _save(form, rows, lambda specs: pricelists.revise(
            found, form.name.data, specs, utcnow(), actor=current_user, currency=form.currency.data))
        if saved is not None:
            flash(_("Version %(version)s of %(name)s is in force. Orders already made keep the prices they had.",
                    version=saved.version, name=saved.name), "success")
            return redirect_to(url_for("backoffice.price_list", price_list_id=saved.id))
        return _editor(form, rows, found, 409 if error.status == 409 else 422, str(error.message), error.field)
    return _editor(form, rows, found, status=422 if request.method == "POST" else 200)


@bp.post("/price-lists/<int:price_list_id>/assign")
@roles(*EDITORS)
def price_list_assign(price_list_id: int):
    """Give a partner its own copy of this list, replacing the one it had."""
    found = pricelists.price_list(price_list_id) or abort(404)
    form = AssignForm()
    form.offer(_partners(), _("Choose a partner"))
    partner_id = form.partner_id.data if form.validate_on_submit() else None
    partner = db.session.get(Organisation, partner_id) if partner_id and fits(partner_id) else None
    if partner is None:
        form.partner_id.errors = [*form.partner_id.errors, _("Choose a partner.")]
        return _show(found, 422, form)
    try:
        assigned = pricelists.assign(found, partner, utcnow(), actor=current_user)
    except DomainError as error:
        db.session.rollback()
        form.partner_id.errors = [*form.partner_id.errors, str(error.message)]
        return _show(pricelists.price_list(price_list_id), 422, form)
    db.session.commit()
    flash(_("%(partner)s now orders from its own copy of %(name)s.", partner=partner.name, name=assigned.name),
          "success")
    return redirect_to(url_for("backoffice.price_list", price_list_id=assigned.id))
