"""A client's supplier XMLs ("XMLs de fornecedores" / "XML de proveedores", managers only): the month's documents
the client received, pending and recognised, another month through the picker ("Buscar mais"), recognising one
or several, and each XML downloaded as it was received."""

import io

from babel.dates import format_skeleton, get_month_names
from flask import abort, flash, g, request, send_file, url_for
from flask_babel import get_locale, ngettext
from flask_login import current_user

from portal.extensions import db
from portal.htmx import redirect_to, render, wants_fragment
from portal.labels import FISCAL_DOCUMENT_STATUS_LABELS, FISCAL_DOCUMENT_STATUS_TONES, SUPPLIER_XML_STATE_LABELS
from portal.orm import utcnow
from portal.pagination import page_of
from portal.reseller.views import bp
from portal.routing import page_arg
from portal.services.errors import DomainError
from portal.services.fiscal import client_documents as supplier
from portal.services.fiscal.documents import document_xml
from portal.services.resellers import clients
from portal.tenancy import client_address, roles

TEMPLATE = "reseller/supplier_xmls.html"


def _client(client_id: int):
    return clients.client_of(g.organisation, client_id) or abort(404)


def _state(raw: str | None) -> str:
    return raw if raw in supplier.STATES else supplier.PENDING


def _page(client, month, state: str, status: int = 200, error: str | None = None, **context):
    """The month's supplier XMLs in `state`: the whole page, or its list for htmx."""
    now = utcnow()
    locale = get_locale()
    page = page_of(supplier.supplier_documents(client, month, state), page_arg())
    return render(
        TEMPLATE, "documents", status=status, client=client, month=month, state=state, page=page, error=error,
        counts=supplier.counts(client, month), years=supplier.years_offered(client, now),
        month_names=get_month_names("wide", locale=locale), current=supplier.month_of(client, now),
        month_label=format_skeleton("yMMMM", month.first_day, locale=locale),
        args={"client_id": client.id, "year": month.year, "month": month.month, "state": state},
        state_labels=SUPPLIER_XML_STATE_LABELS, status_labels=FISCAL_DOCUMENT_STATUS_LABELS,
        status_tones=FISCAL_DOCUMENT_STATUS_TONES, **context)


def _month(client, values) -> tuple[supplier.Month, str | None]:
    """The month that `values` (year, month) choose, or the client's current month and why the choice was
    refused."""
    try:
        return supplier.chosen_month(client, values.get("year"), values.get("month"), utcnow()), None
    except DomainError as error:
        return supplier.month_of(client, utcnow()), str(error.message)


@bp.get("/clients/<int:client_id>/supplier-xmls")
@roles("manager")
def client_supplier_xmls(client_id: int):
    """Show a month's supplier XMLs of the client (the current month unless the picker chose another)."""
    client = _client(client_id)
    month, error = _month(client, request.args)
    state = _state(request.args.get("state"))
    return _page(client, month, state, status=422, error=error) if error else _page(client, month, state)


@bp.post("/clients/<int:client_id>/supplier-xmls/recognise")
@roles("manager")
def client_supplier_recognise(client_id: int):
    """Recognise the chosen supplier XMLs (one by its own button, or those ticked); twice changes nothing."""
    client = _client(client_id)
    month, _error = _month(client, request.form)  # a bad month: the XMLs are recognised, the current month shown
    state = _state(request.form.get("state"))
    one = request.form.get("one")
    chosen = [one] if one else request.form.getlist("document")
    try:
        done = supplier.recognise(client, chosen, current_user, utcnow(), client_address())
    except DomainError as error:
        db.session.rollback()
        return _page(client, month, state, status=422, error=str(error.message))
    db.session.commit()
    message = (ngettext("%(num)d XML was recognised.", "%(num)d XMLs were recognised.", len(done)) if done else
               ngettext("That XML was already recognised.", "Those XMLs were already recognised.", len(chosen)))
    if wants_fragment():
        return _page(client, month, state, saved=message)
    flash(message, "success")
    return redirect_to(url_for("reseller.client_supplier_xmls", client_id=client.id, year=month.year,
                               month=month.month, state=state))


@bp.get("/clients/<int:client_id>/supplier-xmls/<int:document_id>.xml")
@roles("manager")
def client_supplier_xml(client_id: int, document_id: int):
    """Download one supplier XML, byte for byte as the client's software sent it, named by its access key."""
    client = _client(client_id)
    document = supplier.supplier_document(client, document_id) or abort(404)
    response = send_file(io.BytesIO(document_xml(document)), mimetype="application/xml", as_attachment=True,
                         download_name=supplier.xml_filename(document))
    response.headers["Cache-Control"] = "no-store"  # a client's purchases: never kept by a shared cache
    return response
