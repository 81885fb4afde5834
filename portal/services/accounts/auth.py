"""Authentication: passwords (Argon2id), login sessions kept on the server, and the single-use tokens
e-mailed for password resets and invitations."""

import hashlib
import secrets
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import bindparam, func

from portal.database import end_reading
from portal.extensions import db
from portal.models import AuthToken, CartLine, LoginSession, Membership, Organisation, User
from portal.orm import utcnow

MIN_PASSWORD_LENGTH = 10
_HASHER_KEY = "vitrine.password_hasher"
_default_hasher: tuple[PasswordHasher, str] | None = None


class TokenError(ValueError):
    """The token is unknown, already used, or expired; `reason` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _make_hasher(time_cost: int, memory_kib: int, parallelism: int) -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID)
    # Verified against when the e-mail is unknown, so that a wrong e-mail costs as much time as a wrong password.
    return hasher, hasher.hash(secrets.token_hex(16))


def _hasher() -> tuple[PasswordHasher, str]:
    """The app's Argon2id hasher, with the cost from its configuration (made once per app)."""
    global _default_hasher
    if not has_app_context():
        _default_hasher = _default_hasher or _make_hasher(3, 65536, 4)
        return _default_hasher
    extensions = current_app.extensions
    if _HASHER_KEY not in extensions:
        config = current_app.config
        extensions[_HASHER_KEY] = _make_hasher(
            config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_KIB"], config["PASSWORD_HASH_PARALLELISM"]
        )
    return extensions[_HASHER_KEY]


def hash_password(password: str) -> str:
    return _hasher()[0].hash(password)


def new_session_token() -> str:
    return secrets.token_hex(16)


def find_user(email: str) -> User | None:
    email = (email or "").strip().lower()
    if "\x00" in email:
        return None  # no stored e-mail holds a NUL, and PostgreSQL refuses one in a query's text
    return db.session.scalar(db.select(User).where(func.lower(User.email) == email))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None; as slow for an unknown e-mail as a known one."""
    hasher, dummy = _hasher()
    user = find_user(email)
    stored = user.password_hash if user is not None and user.password_hash else dummy
    end_reading()  # the slow check keeps no snapshot open, so the login's writes after it rarely conflict
    try:
        hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active or user.password_hash != stored:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def check_password(user: User, password: str) -> bool:
    stored = user.password_hash
    end_reading()  # see authenticate
    try:
        return bool(stored) and _hasher()[0].verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return False


def new_password_hash(password: str) -> str:
    """The hash of a new password, made with no transaction open: call it before the first write (a token
    used up), so that no writer waits through Argon2 (see portal/database.py)."""
    end_reading()
    return hash_password(password)


def set_password(user: User, password: str | None = None, *, password_hash: str | None = None) -> None:
    """Set a new password (or the hash `new_password_hash` made of it) and end every session of the user
    (the browser that changed it starts a new one) and every reset link still unused."""
    user.password_hash = password_hash or new_password_hash(password)
    user.session_token = new_session_token()
    now = utcnow()
    db.session.execute(
        db.update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    _expire_tokens(user, "reset", now)
    db.session.flush()


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def open_session(user: User, address: str | None = None, user_agent: str | None = None) -> str:
    """Record a new login session of `user` and return its raw key (for the signed cookie; never stored)."""
    raw = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(user_id=user.id, key_hash=_digest(raw), address=address, user_agent=(user_agent or "")[:200])
    )
    db.session.flush()
    return raw


@cache
def _session_user_query():
    """One statement for the user of a session, with their memberships, organisations and the advisors
    the top bar shows, and the number of lines in their cart of the session's organisation (the top bar's badge):
    built once, the values bound per request."""
    organisation = (db.select(Membership.organisation_id)
                    .where(Membership.id == bindparam("membership_id"), Membership.user_id == User.id)
                    .scalar_subquery())
    cart_lines = (db.select(db.func.count(CartLine.id))
                  .where(CartLine.user_id == User.id, CartLine.organisation_id == organisation)
                  .scalar_subquery())
    return (
        db.select(User, cart_lines)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == bindparam("user_id"),
            User.is_active.is_(True),
            LoginSession.key_hash == bindparam("key_hash"),
            LoginSession.ended_at.is_(None),
            LoginSession.created_at > bindparam("created_after"),
        )
        .options(
            db.joinedload(User.memberships).joinedload(Membership.organisation).joinedload(Organisation.advisor)
        )
    )


def session_user(user_id: int, raw_key: str, lifetime: timedelta, membership_id: int | None = None) -> User | None:
    """The active user of a session that has not ended nor outlived `lifetime`; memberships loaded with it, and
    the lines of their cart in the organisation of `membership_id` (one of theirs) counted (`cart_line_counts`,
    by organisation id, what portal.services.store.carts.line_count answers from)."""
    if not raw_key:
        return None
    binds = {"user_id": user_id, "key_hash": _digest(raw_key), "created_after": utcnow() - lifetime,
             "membership_id": membership_id if isinstance(membership_id, int) else None}
    found = db.session.execute(_session_user_query(), binds).unique().one_or_none()
    if found is None:
        return None
    user, cart_lines = found
    user.cart_line_counts = {membership.organisation_id: cart_lines or 0 for membership in user.memberships
                             if membership.id == binds["membership_id"]}
    return user


def end_session(raw_key: str | None) -> None:
    """End one login session (logging out): its cookie no longer works, even if someone kept a copy."""
    if raw_key:
        db.session.execute(
            db.update(LoginSession)
            .where(LoginSession.key_hash == _digest(raw_key), LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def _expire_tokens(user: User, purpose: str, now) -> None:
    db.session.execute(
        db.update(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.purpose == purpose, AuthToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def issue_token(user: User, purpose: str, lifetime: timedelta, membership: Membership | None = None) -> str:
    """Create a token for `purpose` (an invitation's: for `membership`) and return the raw value, which is
    never stored. A new reset link replaces the user's earlier ones: only the latest e-mail works."""
    now = utcnow()
    if purpose == "reset":
        _expire_tokens(user, purpose, now)
    raw = secrets.token_urlsafe(32)
    db.session.add(AuthToken(user_id=user.id, purpose=purpose, token_hash=_digest(raw), expires_at=now + lifetime,
                             membership_id=membership.id if membership is not None else None))
    db.session.flush()
    return raw


def peek_token(raw: str, purpose: str) -> AuthToken:
    """The valid token for `raw`, without using it up; raises TokenError."""
    token = db.session.scalar(
        db.select(AuthToken).where(AuthToken.token_hash == _digest(raw or ""), AuthToken.purpose == purpose)
    )
    if token is None or not token.user.is_active:
        raise TokenError("invalid")
    if token.used_at is not None:
        raise TokenError("used")
    if token.expires_at <= utcnow():
        raise TokenError("expired")
    return token


def consume_token(raw: str, purpose: str) -> User:
    """Use up a token once and return its user. A concurrent second use updates no row and fails."""
    token = peek_token(raw, purpose)
    used = db.session.execute(
        db.update(AuthToken)
        .where(AuthToken.id == token.id, AuthToken.used_at.is_(None), AuthToken.expires_at > utcnow())
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        raise TokenError("used")
    db.session.refresh(token)
    return token.user


def request_password_reset(email: str, locale: str, address: str | None, hours: int) -> bool:
    """E-mail a reset link to the active user with this e-mail, if there is one; says whether one was sent.

    Runs as a job, never in the request, so the answer to the person asking takes the same time whether
    or not the e-mail belongs to someone.
    """
    from portal.services import audit
    from portal.services.mail import composing as mail

    user = find_user(email)
    if user is None or not user.is_active:
        return False
    token = issue_token(user, "reset", timedelta(hours=hours))
    link = mail.external_url("auth.password_reset", token=token)
    mail.queue_email(user.email, "password_reset", user.locale or locale, user=user, link=link, hours=hours)
    audit.record("password_reset_requested", actor=user, obj=user, address=address)
    return True
