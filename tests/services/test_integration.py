"""Integration keys and encryption at rest: keys found by hash only, shown again by decrypting, replaced at once."""

import pytest
from sqlalchemy import text

from portal.extensions import db
from portal.models import AuditEvent, IntegrationKey
from portal.orm import utcnow
from portal.services import crypto
from portal.services.accounts import blocking, integration
from tests import factories


def test_encrypted_text_reads_back_and_differs_each_time(app):
    first, second = crypto.encrypt("vk_live_secret"), crypto.encrypt("vk_live_secret")
    assert first != second and "secret" not in first
    assert crypto.decrypt(first) == crypto.decrypt(second) == "vk_live_secret"


def test_altered_ciphertext_is_refused(app):
    token = crypto.encrypt("ñandú → ç")
    assert crypto.decrypt(token) == "ñandú → ç"
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tampered)


def test_another_secret_key_cannot_decrypt_but_a_fallback_can(app):
    token = crypto.encrypt("kept")
    old_secret = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-rotated-secret"
    try:
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(token)
        app.config["SECRET_KEY_FALLBACKS"] = [old_secret]
        assert crypto.decrypt(token) == "kept"
    finally:
        app.config["SECRET_KEY"] = old_secret
        app.config.pop("SECRET_KEY_FALLBACKS", None)


def test_generated_key_finds_its_organisation(app):
    member = factories.make_member("customer", "admin")
    raw = integration.generate_key(member.organisation, member.user, "203.0.113.9")
    db.session.commit()
    assert raw.startswith("vk_live_") and len(raw) >= 50
    assert integration.organisation_for_key(raw) == member.organisation
    assert integration.reveal_key(member.organisation) == raw


def test_the_key_is_not_stored_in_the_clear(app):
    org = factories.make_org("customer")
    raw = integration.generate_key(org, None)
    db.session.commit()
    secret_part = raw[len(integration.KEY_PREFIX):]
    row = db.session.execute(text("SELECT * FROM integration_key")).mappings().one()
    for column, value in row.items():
        assert secret_part not in str(value), column
        assert secret_part[-12:] not in str(value), column
    assert row["key_hash"] == integration.key_digest(raw)
    assert row["prefix"] == raw[:12]
    audit_rows = db.session.execute(text("SELECT * FROM audit_event")).mappings().all()
    assert audit_rows and all(secret_part not in str(dict(r)) for r in audit_rows)


def test_regenerating_revokes_the_old_key_at_once(app):
    member = factories.make_member("customer", "admin")
    old = integration.generate_key(member.organisation, member.user)
    db.session.commit()
    new = integration.generate_key(member.organisation, member.user)
    db.session.commit()
    assert new != old
    assert integration.organisation_for_key(old) is None
    assert integration.organisation_for_key(new) == member.organisation
    assert db.session.scalar(db.select(db.func.count()).select_from(IntegrationKey)) == 1
    actions = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "integration_key_generated")
                                 .order_by(AuditEvent.id)).all()
    assert [a.details["replaced"] for a in actions] == [None, old[:12]]
    assert all(a.actor_id == member.user.id for a in actions)


def test_revealing_is_audited_when_a_person_looks(app):
    member = factories.make_member("customer", "admin")
    raw = integration.generate_key(member.organisation, member.user)
    assert integration.reveal_key(member.organisation, member.user, "198.51.100.7") == raw
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "integration_key_revealed"))
    assert (event.actor_id, event.organisation_id, event.address) == (member.user.id, member.organisation.id,
                                                                      "198.51.100.7")


def test_no_key_until_one_is_generated(app):
    org = factories.make_org("customer")
    assert integration.current_key(org) is None
    assert integration.reveal_key(org) is None


@pytest.mark.parametrize("raw", ["", "vk_live_", "vk_live_" + "x" * 43, "sk_test_abc", "vk_live_" + "a" * 500])
def test_unknown_or_malformed_keys_find_nothing(app, raw):
    org = factories.make_org("customer")
    integration.generate_key(org, None)
    db.session.commit()
    assert integration.organisation_for_key(raw) is None


def test_a_blocked_organisations_key_still_names_it(app):
    org = factories.make_org("customer")
    raw = integration.generate_key(org, None)
    blocking.block(org, "unpaid", utcnow())
    db.session.commit()
    assert integration.organisation_for_key(raw) == org  # the API answers 402 for it (tests/api/test_blocked.py)


def test_each_organisation_has_its_own_key(app):
    first, second = factories.make_org("customer"), factories.make_org("reseller")
    key_one, key_two = integration.generate_key(first, None), integration.generate_key(second, None)
    db.session.commit()
    assert integration.organisation_for_key(key_one) == first
    assert integration.organisation_for_key(key_two) == second
