"""Views of the reseller blueprint (managers and accountants of a reseller): the client list ("Painel")."""

from flask import Blueprint, Response, g, request, stream_with_context
from flask_babel import get_locale

from portal.activity import recent_activity
from portal.htmx import render
from portal.orm import utcnow
from portal.pagination import page_of
from portal.reseller.forms import ClientFilterForm
from portal.routing import page_arg
from portal.services.resellers import clients
from portal.tenancy import gate

bp = Blueprint("reseller", __name__, url_prefix="/reseller")
bp.before_request(gate("reseller"))


def _filter_form() -> ClientFilterForm:
    return ClientFilterForm(clients.plans_in_use(g.organisation), str(get_locale()), formdata=request.args)


@bp.get("/")
def home():
    """Show the client companies: software, plan, contract, who pays, last activity; search, filters, pages."""
    form = _filter_form()
    filters = form.filters()
    page = page_of(clients.client_rows(g.organisation, filters), page_arg(), as_rows=True)
    now = utcnow()
    rows = [clients.as_client_row(row, now) for row in page.items]
    return render("reseller/home.html", "clients", status=422 if form.errors else 200, form=form, filters=filters,
                  page=page, rows=rows, manager=g.membership.role == "manager",
                  client_count=clients.client_count(g.organisation),
                  activity=recent_activity(g.organisation.id))


@bp.get("/clients.csv")
def clients_csv():
    """Download the filtered client list as CSV (every page)."""
    form = _filter_form()
    filters = form.filters()
    if form.errors:
        return home()
    lines = stream_with_context(clients.csv_lines(clients.client_rows(g.organisation, filters), str(get_locale())))
    response = Response(lines, mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={clients.csv_filename()}"
    return response
