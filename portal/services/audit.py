"""Recording state changes in the audit log."""

from portal.extensions import db
from portal.models import AuditEvent, Organisation, User


def record(
    action: str,
    *,
    actor: User | None = None,
    organisation: Organisation | None = None,
    obj=None,
    details: dict | None = None,
    address: str | None = None,
) -> AuditEvent:
    """Add one audit event; `obj` is any model with an id (its table name is kept as the type)."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        organisation_id=organisation.id if organisation is not None else None,
        object_type=getattr(obj, "__tablename__", None) if obj is not None else None,
        object_id=str(obj.id) if obj is not None else None,
        details=details or {},
        address=address,
    )
    db.session.add(event)
    db.session.flush()
    return event
