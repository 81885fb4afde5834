"""Views of the customer blueprint (members of a customer organisation)."""

from flask import Blueprint, g

from portal.activity import recent_activity
from portal.extensions import db
from portal.htmx import render
from portal.models import Membership
from portal.tenancy import gate

bp = Blueprint("customer", __name__, url_prefix="/customer")
bp.before_request(gate("customer"))


@bp.get("/")
def home():
    """Show the customer's home: the company, its people, its advisor and recent activity."""
    org = g.organisation
    members = db.session.scalar(db.select(db.func.count()).where(Membership.organisation_id == org.id))
    return render("customer/home.html", members=members, activity=recent_activity(org.id))
