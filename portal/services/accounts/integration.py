"""Integration keys: an organisation's secret for the API, kept as a hash (and an encrypted copy).

The key itself is never stored: a SHA-256 digest finds the organisation, and a copy encrypted at rest
lets the organisation's administrators (and its reseller) see it again. One row per organisation:
generating a key overwrites the row, so the previous key stops working at the next request.
"""

import hashlib
import hmac
import secrets

from portal.extensions import db
from portal.models import IntegrationKey, Organisation, User
from portal.orm import utcnow
from portal.services import audit, crypto

KEY_PREFIX = "vk_live_"
# 32 random bytes: 256 bits, far beyond guessing; urlsafe so it survives headers, shells and config files.
KEY_BYTES = 32
SHOWN_PREFIX = 12  # "vk_live_" and four characters: enough to tell two keys apart, useless to an attacker
# Longer than any key we issue: a header of this size is refused before it is even hashed.
MAX_KEY_LENGTH = 128


def key_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def current_key(organisation: Organisation) -> IntegrationKey | None:
    """The organisation's key row (prefix, when, by whom), or None if none was ever generated."""
    return db.session.scalar(db.select(IntegrationKey).where(IntegrationKey.organisation_id == organisation.id))


def generate_key(organisation: Organisation, actor: User | None, address: str | None = None) -> str:
    """Issue a new key for `organisation` and return it; the previous key, if any, is revoked at once."""
    # Lock the organisation row so that two administrators generating at once end with one key, not an error.
    db.session.execute(db.select(Organisation.id).where(Organisation.id == organisation.id).with_for_update())
    raw = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    row = current_key(organisation)
    replaced = row.prefix if row is not None else None
    if row is None:
        row = IntegrationKey(organisation_id=organisation.id)
        db.session.add(row)
    row.key_hash = key_digest(raw)
    row.encrypted_key = crypto.encrypt(raw)
    row.prefix = raw[:SHOWN_PREFIX]
    row.created_at = utcnow()
    row.created_by_id = actor.id if actor is not None else None
    db.session.flush()
    audit.record("integration_key_generated", actor=actor, organisation=organisation, obj=row,
                 details={"prefix": row.prefix, "replaced": replaced}, address=address)
    return raw


def reveal_key(organisation: Organisation, actor: User | None = None, address: str | None = None) -> str | None:
    """The organisation's current key in the clear, or None; each look by a person is audited."""
    row = current_key(organisation)
    if row is None:
        return None
    raw = crypto.decrypt(row.encrypted_key)
    if actor is not None:
        audit.record("integration_key_revealed", actor=actor, organisation=organisation, obj=row,
                     details={"prefix": row.prefix}, address=address)
    return raw


def masked(row: IntegrationKey) -> str:
    """The key as it may be shown to anyone on the screen: its prefix, the rest hidden."""
    return row.prefix + "•" * 20


def organisation_for_key(raw: str) -> Organisation | None:
    """The organisation whose current key is `raw`, or None (a blocked one too: the API says why it refuses)."""
    if not raw or len(raw) > MAX_KEY_LENGTH or not raw.startswith(KEY_PREFIX):
        return None
    digest = key_digest(raw)
    found = db.session.execute(
        db.select(IntegrationKey.key_hash, Organisation)
        .join(Organisation, Organisation.id == IntegrationKey.organisation_id)
        .where(IntegrationKey.key_hash == digest)
    ).first()
    # The index lookup already matched; comparing again in constant time keeps the answer free of timing hints.
    if found is None or not hmac.compare_digest(found.key_hash, digest):
        return None
    return found.Organisation
