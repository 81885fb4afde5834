"""Views of the back office (the vendor's staff)."""

from flask import Blueprint

from portal.activity import recent_activity
from portal.extensions import db
from portal.htmx import render
from portal.models import ORG_KINDS, Organisation
from portal.tenancy import gate

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")
bp.before_request(gate("vendor"))


@bp.get("/")
def home():
    """Show the back office's home: accounts by kind and status, and the latest activity everywhere."""
    rows = db.session.execute(
        db.select(Organisation.kind, Organisation.status, db.func.count()).group_by(
            Organisation.kind, Organisation.status
        )
    ).all()
    counts = {kind: {"active": 0, "blocked": 0} for kind in ORG_KINDS if kind != "vendor"}
    for kind, status, count in rows:
        if kind in counts:
            counts[kind][status] = count
    latest = db.session.scalars(
        db.select(Organisation).where(Organisation.kind != "vendor").order_by(Organisation.id.desc()).limit(8)
    ).all()
    return render("backoffice/home.html", counts=counts, latest=latest, activity=recent_activity(None, 10))
