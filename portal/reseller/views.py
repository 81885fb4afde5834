"""Views of the reseller blueprint (managers and accountants of a reseller)."""

from flask import Blueprint, g

from portal.activity import recent_activity
from portal.extensions import db
from portal.htmx import render
from portal.models import Organisation
from portal.tenancy import gate

bp = Blueprint("reseller", __name__, url_prefix="/reseller")
bp.before_request(gate("reseller"))


@bp.get("/")
def home():
    """Show the reseller's home: its client companies at a glance and recent activity."""
    org = g.organisation
    clients_query = db.select(Organisation).where(Organisation.reseller_id == org.id)
    client_count = db.session.scalar(db.select(db.func.count()).select_from(clients_query.subquery()))
    clients = db.session.scalars(clients_query.order_by(Organisation.name).limit(10)).all()
    return render("reseller/home.html", clients=clients, client_count=client_count,
                  activity=recent_activity(org.id))
