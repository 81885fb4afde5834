"""Blocking an organisation and lifting the block: dunning's `unpaid` block ends as soon as nothing is overdue,
a block set by hand (reseller, staff) only by hand; each change audited once."""

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import AuditEvent, Organisation
from portal.services.accounts import blocking
from portal.services.errors import DomainError
from tests import factories
from tests.services.payments.helpers import NOW, make_card, pay_by_card


def _actions(org: Organisation) -> list[tuple[str, dict]]:
    return [(e.action, e.details) for e in db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.organisation_id == org.id,
                                    AuditEvent.action.like("organisation_%")).order_by(AuditEvent.id))]


def test_a_block_is_stored_with_its_reason_and_audited_once(app):
    org = factories.make_org("customer")
    assert blocking.block(org, "staff", NOW, note="contract ended")
    assert not blocking.block(org, "staff", NOW)
    db.session.commit()
    org = db.session.get(Organisation, org.id)
    assert (org.status, org.blocked_reason, org.blocked_at) == ("blocked", "staff", NOW)
    assert _actions(org) == [("organisation_blocked", {"reason": "staff", "note": "contract ended"})]
    assert blocking.unblock(org, NOW)
    assert not blocking.unblock(org, NOW)
    assert (org.status, org.blocked_reason, org.blocked_at) == ("active", None, None)
    assert _actions(org)[-1] == ("organisation_unblocked", {"reason": "staff"})


def test_an_unknown_reason_is_refused_and_nothing_is_written(app):
    org = factories.make_org("customer")
    with pytest.raises(DomainError) as error:
        blocking.block(org, "because", NOW)
    assert error.value.code == "invalid_block_reason" and org.status == "active" and _actions(org) == []


def test_a_manual_block_outlasts_dunning_and_dunning_does_not_replace_it(app):
    org = factories.make_org("customer")
    blocking.block(org, "unpaid", NOW)
    assert blocking.block(org, "reseller", NOW) and org.blocked_reason == "reseller"
    assert not blocking.block(org, "unpaid", NOW) and org.blocked_reason == "reseller"
    assert not blocking.unblock(org, NOW, reason="unpaid") and org.status == "blocked"


def test_the_database_refuses_a_blocked_organisation_without_a_reason(app):
    org = factories.make_org("customer")
    db.session.commit()
    org.status = "blocked"
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_reseller_blocks_and_unblocks_only_its_own_clients(app):
    reseller, other = factories.make_org("reseller"), factories.make_org("reseller")
    client = factories.make_org("customer", reseller_id=reseller.id)
    with pytest.raises(DomainError):
        blocking.block_client(other, client, NOW)
    assert blocking.block_client(reseller, client, NOW) and client.blocked_reason == "reseller"
    with pytest.raises(DomainError):
        blocking.unblock_client(other, client, NOW)
    assert blocking.unblock_client(reseller, client, NOW) and client.status == "active"
    blocking.block(client, "staff", NOW)
    assert not blocking.unblock_client(reseller, client, NOW) and client.status == "blocked"


def test_paying_what_is_overdue_unblocks_at_once(app):
    member = factories.make_member("customer", "admin")
    org = member.organisation
    overdue = factories.make_invoice(org, issued_at=NOW - timedelta(days=40), due_days=10)
    later = factories.make_invoice(org, issued_at=NOW - timedelta(days=40), due_days=10)
    not_yet_due = factories.make_invoice(org, issued_at=NOW - timedelta(days=1), due_days=10)
    card = make_card(org)
    blocking.block(org, "unpaid", NOW)
    db.session.commit()
    pay_by_card(org.id, overdue.id, overdue.total, card.id, "k-1")
    assert db.session.get(Organisation, org.id).status == "blocked"  # another invoice is still overdue
    pay_by_card(org.id, later.id, later.total - 1, card.id, "k-2")
    assert db.session.get(Organisation, org.id).status == "blocked"  # one peso short
    pay_by_card(org.id, later.id, 1, card.id, "k-3")
    org = db.session.get(Organisation, org.id)
    assert org.status == "active" and org.blocked_reason is None  # the invoice not yet due does not count
    assert not_yet_due.status == "open"
    assert [action for action, _details in _actions(org)] == ["organisation_blocked", "organisation_unblocked"]


def test_paying_does_not_lift_a_block_set_by_hand(app):
    member = factories.make_member("customer", "admin")
    org = member.organisation
    invoice = factories.make_invoice(org, issued_at=NOW - timedelta(days=40), due_days=10)
    card = make_card(org)
    blocking.block(org, "staff", NOW)
    db.session.commit()
    pay_by_card(org.id, invoice.id, invoice.total, card.id, "k-1")
    assert db.session.get(Organisation, org.id).status == "blocked"
