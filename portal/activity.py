"""Reading the audit log for the screens: recent activity of one organisation, in words."""

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import AuditEvent

ACTION_LABELS = {
    "login": _l("Logged in"),
    "logout": _l("Logged out"),
    "login_failed": _l("Failed login"),
    "role_switch": _l("Switched organisation"),
    "invitation_sent": _l("Invited a person"),
    "invitation_accepted": _l("Accepted an invitation"),
    "password_changed": _l("Changed the password"),
    "password_reset": _l("Reset the password"),
    "password_reset_requested": _l("Asked for a password reset"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action.replace("_", " ")))


def recent_activity(organisation_id: int | None, limit: int = 8):
    """The latest audit events of one organisation (all organisations when None), actors loaded."""
    query = db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    query = query.options(db.joinedload(AuditEvent.actor))
    if organisation_id is not None:
        query = query.where(AuditEvent.organisation_id == organisation_id)
    else:
        query = query.options(db.joinedload(AuditEvent.organisation))
    return db.session.scalars(query).all()
