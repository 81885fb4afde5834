"""Access client software ("Acessar software do cliente"): a reseller's manager opens a client's software
already signed in, through a signed, single-use token that lives at most 60 seconds.

The token (itsdangerous, signed with the portal's SECRET_KEY and a salt of its own) carries the client, the acting
user, the audience (the software's code), the expiry and a random id. The id is kept in the database when the token
is issued and consumed the first time the token is verified, so a token works once. The vendor's software verifies
it by calling `verify_token(token, software_code)` in a Vitrine app context (see the README).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.extensions import db
from portal.models import Membership, Organisation, SoftwareAccessToken, User
from portal.orm import utcnow
from portal.services import audit
from portal.services.errors import DomainError
from portal.services.resellers.clients import current_subscription

SALT = "vitrine/software-access"
LIFETIME = timedelta(seconds=60)
TOKEN_PARAMETER = "vitrine_token"  # noqa: S105 — the query parameter's name, not a secret


class InvalidAccessToken(Exception):
    """A token that grants nothing; `reason` says why: malformed, tampered, expired, audience, used, unknown."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class AccessGrant:
    client_id: int
    user_id: int
    software: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _audience(code: str) -> str:
    return f"software:{code}"


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + urlencode({TOKEN_PARAMETER: token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def launch_url(client: Organisation, user: User, now: datetime | None = None, address: str | None = None) -> str:
    """The client's software's launch address with a fresh token for `user`; audited. A DomainError when the
    client has no software."""
    now = now or utcnow()
    sub = current_subscription(client)
    if sub is None or sub.status == "cancelled":
        raise DomainError(_l("%(client)s has no software to open: it has no plan.", client=client.name),
                          code="no_software", status=409)
    software = sub.plan.software
    row = SoftwareAccessToken(jti=secrets.token_urlsafe(24), organisation_id=client.id, user_id=user.id,
                              software_id=software.id, expires_at=now + LIFETIME, created_at=now)
    db.session.add(row)
    db.session.flush()
    token = _serializer().dumps({"client": client.id, "user": user.id, "aud": _audience(software.code),
                                 "exp": int((now + LIFETIME).timestamp()), "jti": row.jti})
    audit.record("client_software_accessed", actor=user, organisation=client, obj=row,
                 details={"software": software.code}, address=address)
    return _with_token(software.launch_url, token)


def _still_manages(user_id: int, client_id: int) -> bool:
    """Whether the user is still a manager of the reseller the client is still linked to."""
    return db.session.scalar(
        db.select(Membership.id)
        .join(Organisation, Organisation.reseller_id == Membership.organisation_id)
        .where(Organisation.id == client_id, Membership.user_id == user_id, Membership.role == "manager",
               Membership.accepted_at.is_not(None))
    ) is not None


def verify_token(token: str, software_code: str, client_id: int | None = None,
                 now: datetime | None = None) -> AccessGrant:
    """What a token grants to the software `software_code` (and, when given, for the client `client_id`), consumed
    at once: a second call refuses it. Raises InvalidAccessToken otherwise. Flushes: the caller commits."""
    now = now or utcnow()
    if not isinstance(token, str) or not token or len(token) > 1_000:
        raise InvalidAccessToken("malformed")
    try:
        payload = _serializer().loads(token, max_age=int(LIFETIME.total_seconds()))
    except SignatureExpired as error:
        raise InvalidAccessToken("expired") from error
    except BadSignature as error:
        raise InvalidAccessToken("tampered") from error
    if not isinstance(payload, dict) or not {"client", "user", "aud", "exp", "jti"} <= set(payload):
        raise InvalidAccessToken("malformed")
    if payload["exp"] < now.timestamp():
        raise InvalidAccessToken("expired")
    if payload["aud"] != _audience(software_code):
        raise InvalidAccessToken("audience")
    if client_id is not None and payload["client"] != client_id:
        raise InvalidAccessToken("client")
    consumed = db.session.execute(
        db.update(SoftwareAccessToken)
        .where(SoftwareAccessToken.jti == str(payload["jti"]), SoftwareAccessToken.used_at.is_(None),
               SoftwareAccessToken.organisation_id == payload["client"], SoftwareAccessToken.user_id == payload["user"],
               SoftwareAccessToken.expires_at >= now)
        .values(used_at=now)
    )
    if consumed.rowcount != 1:
        raise InvalidAccessToken("used")
    if not _still_manages(payload["user"], payload["client"]):
        raise InvalidAccessToken("revoked")
    return AccessGrant(client_id=payload["client"], user_id=payload["user"], software=software_code)
