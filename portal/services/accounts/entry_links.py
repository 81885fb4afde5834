"""Entry from the vendor's software: a signed link, valid for a minute and used once, that opens the portal
logged in as one of the customer's users (the store sits in the software's top bar as a direct access).

The link carries its user, membership and a random id, signed with the portal's secret (itsdangerous, a salt
of its own); using it keeps the id, whose unique constraint refuses a second use. It never creates a user:
only an accepted member of the organisation whose integration key asked for it gets one.
"""

import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import EntryLinkUse, Membership, Organisation
from portal.orm import utcnow
from portal.services import audit
from portal.services.accounts import auth
from portal.services.errors import DomainError

SALT = "vitrine-entry-link"
LIFETIME = timedelta(seconds=60)


def _serializer() -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and accepts any of them (a rotated secret's links still work).
    return URLSafeTimedSerializer([*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]], salt=SALT)


def _blocked():
    return DomainError(_l("The account is blocked: its users cannot enter the portal from the software."),
                       code="account_blocked", status=403)


def issue_entry_link(organisation: Organisation, email: str, address: str | None = None) -> tuple[str, datetime]:
    """A signed token for the organisation's user with this e-mail, and when it stops working."""
    if organisation.status == "blocked":
        raise _blocked()
    user = auth.find_user((email or "")[:254]) if isinstance(email, str) else None
    membership = user and db.session.scalar(db.select(Membership).filter_by(user_id=user.id,
                                                                            organisation_id=organisation.id))
    if membership is None or membership.is_pending or not user.is_active:
        raise DomainError(_l("No user of your organisation has this e-mail."), code="unknown_user", field="email",
                          status=404)
    link_id = secrets.token_urlsafe(18)
    token = _serializer().dumps({"u": user.id, "m": membership.id, "j": link_id})
    expires_at = utcnow() + LIFETIME
    audit.record("entry_link_issued", actor=user, organisation=organisation, obj=user,
                 details={"email": user.email, "link": link_id[:8]}, address=address)
    return token, expires_at


def _invalid():
    return DomainError(_l("This link is not valid. Open the portal again from your software."), code="invalid",
                       status=404)


def use_entry_link(token: str, address: str | None = None) -> Membership:
    """The membership the link opens, its use recorded; refused when forged, older than a minute, used before,
    or when the user or the account can no longer enter."""
    try:
        data = _serializer().loads(token, max_age=int(LIFETIME.total_seconds()))
    except SignatureExpired as error:
        raise DomainError(_l("This link has expired: it works for a minute. Open the portal again from your "
                             "software."), code="expired", status=410) from error
    except BadSignature as error:
        raise _invalid() from error
    if not isinstance(data, dict) or not all(isinstance(data.get(k), (int, str)) for k in ("u", "m", "j")):
        raise _invalid()
    membership = db.session.get(Membership, data["m"]) if isinstance(data["m"], int) else None
    if membership is None or membership.user_id != data["u"] or membership.is_pending or not membership.user.is_active:
        raise _invalid()
    if membership.organisation.status == "blocked":
        raise _blocked()
    try:
        with db.session.begin_nested():
            db.session.add(EntryLinkUse(link_id=str(data["j"])[:64], user_id=membership.user_id))
    except IntegrityError as error:
        raise DomainError(_l("This link has already been used. Open the portal again from your software."),
                          code="used", status=410) from error
    audit.record("entry_link_used", actor=membership.user, organisation=membership.organisation,
                 obj=membership.user, details={"link": str(data["j"])[:8]}, address=address)
    return membership

