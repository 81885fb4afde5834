"""The partner's licenses: stock ("Estoque") with its history, activating one for a client, the activations
("Detalhes da ativação") and the clients ("Clientes / ECFs")."""

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.labels import LICENSE_STATUS_LABELS, STOCK_MOVEMENT_LABELS
from portal.orm import utcnow
from portal.partner import forms
from portal.partner.views import bp
from portal.services.accounts.taxid import tax_id_label
from portal.services.billing.subscriptions import licenses as held_licenses
from portal.services.errors import DomainError
from portal.services.partners import codes, stock
from portal.templating import Labels
from portal.tenancy import client_address

LABELS = dict(movement_labels=Labels(STOCK_MOVEMENT_LABELS), license_labels=Labels(LICENSE_STATUS_LABELS),
              grouped=codes.grouped)


@bp.get("/stock", endpoint="stock")
def stock_page():
    """Show the stock per product (available, active, total), the monthly subscription the licenses bought
    make up, and the movements of the stock."""
    return render("partner/stock.html", rows=stock.stock_of(g.organisation), movements=stock.movements(g.organisation),
                  subscriptions=[(sub, held_licenses.monthly_fee(sub))
                                 for sub in held_licenses.subscriptions_of(g.organisation)], **LABELS)


def _activate_page(status: int = 200, error: str | None = None, field: str | None = None):
    return render("partner/license_activate.html", status=status, rows=stock.available_stock(g.organisation),
                  error=error, field=field, form=request.form, tax_label=tax_id_label(g.organisation.country))


@bp.route("/licenses/activate", methods=["GET", "POST"])
def license_activate():
    """Activate a license of the stock for a client ("Ativar licença"), and show its authorisation code."""
    if request.method == "POST":
        return _activate()
    return _activate_page()


def _activate():
    form = request.form
    try:
        activation = stock.activate(g.organisation, current_user, forms.product(), form.get("client_name"),
                                    form.get("client_tax_id"), form.get("note"), utcnow(), client_address())
    except DomainError as error:
        db.session.rollback()
        return _activate_page(error.status, str(error.message), error.field)
    db.session.commit()
    flash(_("The license was activated. Give the client this authorisation code."), "success")
    return redirect_to(url_for("partner.license", activation_id=activation.id))


@bp.get("/licenses")
def licenses():
    """List the activations, filtered by client name, tax id or authorisation code ("Detalhes da ativação")."""
    filters = {key: request.args.get(key, "")[:100] for key in ("name", "tax_id", "code")}
    return render("partner/licenses.html", "licenses", activations=stock.find_activations(g.organisation, **filters),
                  filters=filters, tax_label=tax_id_label(g.organisation.country), **LABELS)


@bp.get("/licenses/<int:activation_id>")
def license(activation_id: int):
    """Show one activation: product, authorisation code, when, who, note and status."""
    activation = stock.partner_activation(g.organisation, activation_id, shown=True) or abort(404)
    return render("partner/license.html", activation=activation, **LABELS)


@bp.post("/licenses/<int:activation_id>/cancel")
def license_cancel(activation_id: int):
    """Cancel a license: it goes back to stock."""
    activation = stock.partner_activation(g.organisation, activation_id) or abort(404)
    stock.cancel_activation(activation, current_user, utcnow(), client_address())
    db.session.commit()
    flash(_("The license was cancelled and is back in your stock."), "success")
    return redirect_to(url_for("partner.license", activation_id=activation_id))


@bp.get("/clients")
def clients():
    """Find clients by name or tax id ("Clientes / ECFs"), each with its active licenses."""
    query = request.args.get("q", "")[:100]
    return render("partner/clients.html", "clients", found=stock.find_clients(g.organisation, query), q=query,
                  tax_label=tax_id_label(g.organisation.country))


@bp.route("/clients/<int:client_id>/cancel", methods=["GET", "POST"])
def client_cancel(client_id: int):
    """Ask, saying how many licenses return, then cancel a client: its licenses back to stock, its tax id removed."""
    client = stock.partner_client(g.organisation, client_id) or abort(404)
    if request.method == "POST":
        returned = stock.cancel_client(g.organisation, client, current_user, utcnow(), client_address())
        db.session.commit()
        flash(ngettext("%(client)s was cancelled: %(num)d license is back in your stock.",
                       "%(client)s was cancelled: %(num)d licenses are back in your stock.", returned,
                       client=client.name), "success")
        return redirect_to(url_for("partner.clients"))
    if client.cancelled_at is not None:
        abort(404)
    return render("partner/client_cancel.html", client=client, count=len(stock.active_licenses(client)))
