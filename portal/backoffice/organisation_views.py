"""Organisations in the back office: every customer, reseller and partner, searched by name or tax id and
filtered by kind and status (page, CSV), one organisation's account (its facts, why and since when it is blocked),
and blocking or unblocking it by hand. Every staff role reads; administrators and billing staff block and unblock.
"""

import csv
import io

from flask import Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.backoffice.views import bp
from portal.extensions import db
from portal.htmx import redirect_to, render
from portal.labels import BLOCK_REASON_LABELS, ORGANISATION_KIND_LABELS, ORGANISATION_STATUS_LABELS
from portal.models import Organisation
from portal.orm import utcnow
from portal.pagination import page_of
from portal.routing import page_arg
from portal.services.accounts import directory
from portal.services.errors import DomainError
from portal.tenancy import roles

DECIDERS = ("admin", "billing")
LABELS = dict(kind_labels=ORGANISATION_KIND_LABELS, status_labels=ORGANISATION_STATUS_LABELS,
              reason_labels=BLOCK_REASON_LABELS, kinds=directory.LISTED_KINDS)


def _filters() -> dict:
    args = request.args
    found = {"q": args.get("q", "").strip()[:100], "kind": args.get("kind", ""), "status": args.get("status", "")}
    found["kind"] = found["kind"] if found["kind"] in directory.LISTED_KINDS else ""
    found["status"] = found["status"] if found["status"] in ORGANISATION_STATUS_LABELS else ""
    return {name: value for name, value in found.items() if value}


@bp.get("/organisations")
def organisations():
    """List every customer, reseller and partner by name: search by name or tax id, filter by kind and status."""
    filters = _filters()
    page = page_of(directory.organisations(filters.get("q", ""), filters.get("kind", ""),
                                           filters.get("status", "")), page_arg(), count=False)
    return render("backoffice/organisations.html", "organisations", filters=filters, page=page, **LABELS)


@bp.get("/organisations.csv")
def organisations_csv():
    """Download every organisation that matches the search and filters as CSV."""
    filters = _filters()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Name"), _("Trade name"), _("Kind"), _("Country"), _("Tax id"), _("Status"),
                     _("Blocked since"), _("Why"), _("Created")])
    query = directory.organisations(filters.get("q", ""), filters.get("kind", ""), filters.get("status", ""))
    for org in db.session.scalars(query):
        writer.writerow([org.name, org.trade_name or "", str(ORGANISATION_KIND_LABELS[org.kind]), org.country,
                         org.tax_id or "", str(ORGANISATION_STATUS_LABELS[org.status]),
                         org.blocked_at.date().isoformat() if org.blocked_at else "",
                         str(BLOCK_REASON_LABELS[org.blocked_reason]) if org.blocked_reason else "",
                         org.created_at.date().isoformat()])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=organisations.csv"
    return response


def _account(org: Organisation, status: int = 200, error: str | None = None, note: str = ""):
    reseller = db.session.get(Organisation, org.reseller_id) if org.reseller_id else None
    return render("backoffice/organisation.html", status=status, org=org, reseller=reseller, error=error,
                  note=note, max_note=directory.MAX_NOTE, **LABELS)


def _organisation(organisation_id: int) -> Organisation:
    return directory.listed_organisation(organisation_id) or abort(404)


@bp.get("/organisations/<int:organisation_id>")
def organisation(organisation_id: int):
    """Show an organisation's account: who it is, its status, and why and since when it is blocked."""
    return _account(_organisation(organisation_id))


@bp.post("/organisations/<int:organisation_id>/block")
@roles(*DECIDERS)
def organisation_block(organisation_id: int):
    """Block the organisation by staff decision, with the note saying why."""
    org = _organisation(organisation_id)
    note = request.form.get("note", "")
    try:
        directory.block_by_staff(org, note, utcnow(), current_user)
    except DomainError as error:
        db.session.rollback()
        return _account(org, error.status, str(error.message), note[:directory.MAX_NOTE + 100])
    db.session.commit()
    flash(_("%(org)s is blocked: its people see only their invoices and payments.", org=org.name), "success")
    return redirect_to(url_for("backoffice.organisation", organisation_id=org.id))


@bp.post("/organisations/<int:organisation_id>/unblock")
@roles(*DECIDERS)
def organisation_unblock(organisation_id: int):
    """Lift a block set by staff or by the organisation's reseller."""
    org = _organisation(organisation_id)
    try:
        directory.unblock_by_staff(org, utcnow(), current_user)
    except DomainError as error:
        db.session.rollback()
        return _account(org, error.status, str(error.message))
    db.session.commit()
    flash(_("%(org)s is unblocked: everything is open to its people again.", org=org.name), "success")
    return redirect_to(url_for("backoffice.organisation", organisation_id=org.id))
