"""Blocking an organisation and lifting the block: by dunning for a balance overdue past its grace period
(`unpaid`, lifted as soon as it is paid), or by hand, by the organisation's reseller (`reseller`) or by staff
(`staff`), lifted by hand. A blocked organisation keeps its billing screens and nothing else (the customer
blueprint), and its integration key answers 402 or 403 (the API)."""

from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import BLOCK_REASONS, Organisation, User
from portal.services import audit
from portal.services.errors import DomainError

# Blocks lifted by a person; one of them replaces an `unpaid` block, so that paying does not lift it.
MANUAL_REASONS = ("reseller", "staff")


def is_blocked(org: Organisation) -> bool:
    return org.status == "blocked"


def _locked(org: Organisation) -> Organisation:
    """The organisation's row, locked until the transaction ends (a block and a payment at the same time)."""
    db.session.execute(db.select(Organisation.id).where(Organisation.id == org.id).with_for_update())
    db.session.refresh(org)
    return org


def block(org: Organisation, reason: str, now: datetime, actor: User | None = None, note: str | None = None) -> bool:
    """Block `org` for `reason`. False when nothing changes: already blocked for that reason, or for a reason
    a person set when dunning asks (`unpaid`)."""
    if reason not in BLOCK_REASONS:
        raise DomainError(_l("Unknown reason for blocking an account."), code="invalid_block_reason", field="reason")
    _locked(org)
    if org.status == "blocked" and (org.blocked_reason == reason or reason not in MANUAL_REASONS):
        return False
    org.status, org.blocked_reason, org.blocked_at = "blocked", reason, now
    db.session.flush()
    audit.record("organisation_blocked", actor=actor, organisation=org, obj=org,
                 details={"reason": reason, **({"note": note} if note else {})})
    return True


def block_client(reseller: Organisation, client: Organisation, now: datetime, actor: User | None = None) -> bool:
    """A reseller blocks one of its own clients."""
    if client.reseller_id != reseller.id:
        raise DomainError(_l("This account is not one of your clients."), code="not_your_client", status=404)
    return block(client, "reseller", now, actor=actor)


def unblock(org: Organisation, now: datetime, actor: User | None = None, reason: str | None = None) -> bool:
    """Lift the block of `org` (only when it was blocked for `reason`, if given). False when nothing changes."""
    _locked(org)
    if org.status != "blocked" or (reason is not None and org.blocked_reason != reason):
        return False
    previous = org.blocked_reason
    org.status, org.blocked_reason, org.blocked_at = "active", None, None
    db.session.flush()
    audit.record("organisation_unblocked", actor=actor, organisation=org, obj=org, details={"reason": previous})
    return True


def unblock_client(reseller: Organisation, client: Organisation, now: datetime, actor: User | None = None) -> bool:
    """A reseller lifts the block it set on one of its own clients (not one dunning or staff set)."""
    if client.reseller_id != reseller.id:
        raise DomainError(_l("This account is not one of your clients."), code="not_your_client", status=404)
    return unblock(client, now, actor=actor, reason="reseller")
