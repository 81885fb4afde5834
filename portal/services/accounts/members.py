"""The people of a customer organisation: their roles, removing one, handing the admin role to another.

Every change keeps at least one accepted administrator. Two requests at once (two administrators demoting
each other) cannot both pass: the organisation's row is locked before the administrators are counted on
PostgreSQL, and SQLite lets one writer at a time write what it read (database.py).
"""

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import ROLES, AuthToken, CartLine, Membership, Organisation, User
from portal.services import audit
from portal.services.errors import DomainError

ADMIN = "admin"


def members(organisation: Organisation) -> list[Membership]:
    """The organisation's memberships (invitations waiting included), their users loaded, oldest first."""
    return list(db.session.scalars(
        db.select(Membership).where(Membership.organisation_id == organisation.id)
        .order_by(Membership.id).options(db.joinedload(Membership.user))
    ))


def membership_of(organisation: Organisation, membership_id: int) -> Membership:
    """One membership of this organisation (never another's), or a 404 DomainError."""
    found = db.session.scalar(db.select(Membership).filter_by(id=membership_id, organisation_id=organisation.id))
    if found is None:
        raise DomainError(_l("This person is not a member of your organisation."), code="not_found", status=404)
    return found


def _lock(organisation: Organisation, *memberships: Membership) -> None:
    """Take the organisation's row for this transaction (PostgreSQL; SQLite has one writer at a time) and
    read the memberships again, as a concurrent change may have committed since they were loaded."""
    db.session.execute(db.select(Organisation.id).where(Organisation.id == organisation.id).with_for_update())
    for membership in memberships:
        db.session.refresh(membership)


def _admins(organisation: Organisation) -> int:
    return db.session.scalar(
        db.select(db.func.count(Membership.id)).where(
            Membership.organisation_id == organisation.id, Membership.role == ADMIN,
            Membership.accepted_at.is_not(None))
    )


def _keep_an_admin(organisation: Organisation, membership: Membership) -> None:
    """Refuse to take `membership`'s admin role away when it is the last accepted administrator."""
    _lock(organisation, membership)
    if membership.role == ADMIN and not membership.is_pending and _admins(organisation) <= 1:
        raise DomainError(_l("The organisation needs at least one administrator. Give the admin role to "
                             "another person first."), code="last_admin", field="role", status=409)


def change_role(organisation: Organisation, membership_id: int, role: str, actor: User,
                address: str | None = None) -> Membership:
    """Give a member another role of the organisation's kind; the last administrator keeps theirs."""
    if role not in ROLES[organisation.kind]:
        raise DomainError(_l("This role does not exist for this organisation."), code="invalid_role", field="role")
    membership = membership_of(organisation, membership_id)
    if membership.role == role:
        return membership
    if role != ADMIN:
        _keep_an_admin(organisation, membership)
    before = membership.role
    membership.role = role
    db.session.flush()
    audit.record("member_role_changed", actor=actor, organisation=organisation, obj=membership,
                 details={"email": membership.user.email, "before": before, "role": role}, address=address)
    return membership


def remove_member(organisation: Organisation, membership_id: int, actor: User,
                  address: str | None = None) -> str:
    """Remove a person (or a waiting invitation) from the organisation and return their e-mail. Their
    account stays (it may belong to other organisations); their cart here and their invitation link go."""
    membership = membership_of(organisation, membership_id)
    _keep_an_admin(organisation, membership)
    email, role = membership.user.email, membership.role
    db.session.execute(db.delete(AuthToken).where(AuthToken.membership_id == membership.id))
    db.session.execute(db.delete(CartLine).where(CartLine.organisation_id == organisation.id,
                                                 CartLine.user_id == membership.user_id))
    db.session.delete(membership)
    db.session.flush()
    audit.record("member_removed", actor=actor, organisation=organisation,
                 details={"email": email, "role": role}, address=address)
    return email


def hand_over_admin(organisation: Organisation, current: Membership, membership_id: int, actor: User,
                    address: str | None = None) -> Membership:
    """Give the admin role to another accepted member; the administrator who gives it becomes a member."""
    target = membership_of(organisation, membership_id)
    _lock(organisation, current, target)
    if current.organisation_id != organisation.id or current.role != ADMIN:
        raise DomainError(_l("Only an administrator hands over the admin role."), code="not_admin", status=403)
    if target.id == current.id:
        raise DomainError(_l("Choose another person to hand the admin role to."), code="same_person",
                          field="membership", status=409)
    if target.is_pending:
        raise DomainError(_l("%(email)s has not accepted the invitation yet.", email=target.user.email),
                          code="pending", field="membership", status=409)
    target.role = ADMIN
    current.role = "member"
    db.session.flush()
    audit.record("admin_handed_over", actor=actor, organisation=organisation, obj=target,
                 details={"email": target.user.email, "from": current.user.email}, address=address)
    return target
