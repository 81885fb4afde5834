"""Organisations, users and memberships: creating them, inviting people, switching between them."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import ROLES, AuthToken, Membership, Organisation, User
from portal.orm import utcnow
from portal.services.accounts import auth, taxid
from portal.services.errors import DomainError

COUNTRY_DEFAULTS = {
    "CL": ("CLP", "America/Santiago", "es"),
    "BR": ("BRL", "America/Sao_Paulo", "pt_BR"),
    "MX": ("MXN", "America/Mexico_City", "es"),
    "AR": ("ARS", "America/Argentina/Buenos_Aires", "es"),
    "CO": ("COP", "America/Bogota", "es"),
    "PE": ("PEN", "America/Lima", "es"),
    "UY": ("UYU", "America/Montevideo", "es"),
}


def create_organisation(kind: str, name: str, country: str, tax_id: str | None = None, **fields) -> Organisation:
    """Create an organisation; its currency, time zone and language follow its country unless given."""
    if kind not in ROLES:
        raise DomainError(_l("Unknown kind of organisation."), code="invalid_kind")
    if country not in COUNTRY_DEFAULTS:
        raise DomainError(_l("Unsupported country."), code="invalid_country", field="country")
    currency, timezone, locale = COUNTRY_DEFAULTS[country]
    if tax_id:
        try:
            tax_id = taxid.normalise_tax_id(country, tax_id)
        except taxid.TaxIdError as error:
            raise DomainError(error.args[0], code="invalid_tax_id", field="tax_id") from error
    org = Organisation(
        kind=kind,
        name=name.strip(),
        country=country,
        tax_id=tax_id or None,
        currency=fields.pop("currency", currency),
        timezone=fields.pop("timezone", timezone),
        locale=fields.pop("locale", locale),
        **fields,
    )
    db.session.add(org)
    db.session.flush()
    return org


def create_user(email: str, name: str, password: str | None = None, locale: str | None = None) -> User:
    email = email.strip().lower()
    if auth.find_user(email) is not None:
        raise DomainError(_l("A user with this e-mail already exists."), code="email_taken", field="email")
    user = User(
        email=email,
        name=name.strip(),
        locale=locale,
        password_hash=auth.hash_password(password) if password else None,
        session_token=auth.new_session_token(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def add_membership(user: User, organisation: Organisation, role: str, pending: bool = False) -> Membership:
    """Make `user` a member of `organisation` with `role`; a `pending` one (an invitation) gives no access
    until it is accepted."""
    if role not in ROLES[organisation.kind]:
        raise DomainError(_l("This role does not exist for this organisation."), code="invalid_role", field="role")
    existing = db.session.scalar(
        db.select(Membership).filter_by(user_id=user.id, organisation_id=organisation.id)
    )
    if existing is not None:
        raise DomainError(_l("This person is already a member."), code="already_member", field="email")
    membership = Membership(user=user, organisation=organisation, role=role,
                            accepted_at=None if pending else utcnow())
    db.session.add(membership)
    db.session.flush()
    return membership


def invite(organisation: Organisation, inviter: User, email: str, name: str, role: str, days: int,
           address: str | None = None) -> Membership:
    """Invite a person to `organisation` by e-mail, in their language, and record it in the audit log.

    Everyone gets a single-use link, valid `days` days, and becomes a member only by opening it: a new
    person (or one who never chose a password) chooses their name and password there, someone who already
    has an account accepts. Until then the membership gives no access and the team sees only the address
    typed, never an existing account's name.
    """
    from portal.services import audit
    from portal.services.mail import composing as mail

    user = auth.find_user(email)
    if user is None:
        user = create_user(email, name)
    membership = add_membership(user, organisation, role, pending=True)
    token = auth.issue_token(user, "invite", timedelta(days=days), membership=membership)
    mail.queue_email(user.email, "invitation", user.locale or organisation.locale, user=user, organisation=organisation,
                     inviter=inviter, link=mail.external_url("auth.invitation_accept", token=token), days=days,
                     new_account=not user.password_hash)
    audit.record("invitation_sent", actor=inviter, organisation=organisation, obj=membership,
                 details={"email": user.email, "role": role}, address=address)
    return membership


def accept_invitation(token: AuthToken) -> list[Membership]:
    """The memberships an invitation link offered, accepted now (a link from before invitations named their
    membership accepts all of its user's pending ones). The caller has used the token up."""
    if token.membership is not None:
        offered = [token.membership]
    else:
        offered = [m for m in token.user.memberships if m.is_pending]
    now = utcnow()
    for membership in offered:
        if membership.is_pending:
            membership.accepted_at = now
    db.session.flush()
    return offered


def switchable_memberships(user: User) -> list[Membership]:
    """The memberships a user may act for: every accepted one (a blocked organisation still opens its billing
    screens, see tenancy.gate)."""
    return [m for m in user.memberships if not m.is_pending]


def membership_for(user: User, membership_id: int | None) -> Membership | None:
    """One of the user's own memberships (never another user's), or their first one."""
    memberships = switchable_memberships(user)
    for membership in memberships:
        if membership.id == membership_id:
            return membership
    return memberships[0] if memberships else None
