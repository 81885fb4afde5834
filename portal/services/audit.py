"""Recording state changes in the audit log."""

from sqlalchemy import event as orm_event

from portal.bulk import BulkWriter
from portal.extensions import db
from portal.models import AuditEvent, Organisation, User
from portal.orm import utcnow

_HELD = "audit_held"  # rows recorded without a flush, written together (`write_held`, at the latest on commit)


def record(
    action: str,
    *,
    actor: User | None = None,
    organisation: Organisation | None = None,
    obj=None,
    details: dict | None = None,
    address: str | None = None,
    flush: bool = True,
) -> AuditEvent | None:
    """Add one audit event; `obj` is any model with an id (its table name is kept as the type). Without
    `flush`, a batch's events are held and written in one statement (`write_held`, or when the transaction
    commits), and None is returned."""
    values = dict(
        action=action,
        actor_id=actor.id if actor is not None else None,
        organisation_id=organisation.id if organisation is not None else None,
        object_type=getattr(obj, "__tablename__", None) if obj is not None else None,
        object_id=str(obj.id) if obj is not None else None,
        details=details or {},
        address=address,
    )
    if not flush:
        db.session.info.setdefault(_HELD, []).append(values)
        return None
    event = AuditEvent(**values)
    db.session.add(event)
    db.session.flush()
    return event


def write_held(session=None) -> None:
    """Write the events recorded without a flush in the session's transaction, in one statement."""
    session = session if session is not None else db.session()
    rows = session.info.pop(_HELD, None)
    if rows:
        bulk = BulkWriter()
        at = bulk.time(utcnow())
        bulk.insert(AuditEvent, [{**row, "at": at, "details": bulk.json(row["details"])} for row in rows])


def _drop_held(session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_HELD, None)


orm_event.listen(db.session, "before_commit", write_held)
orm_event.listen(db.session, "after_rollback", _drop_held)
