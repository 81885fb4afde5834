"""A reseller's linked e-mails and the customers whose accountant uses one of them."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, ResellerEmail
from portal.orm import utcnow
from portal.services.accounts import accountants, blocking
from portal.services.errors import DomainError
from tests import factories


def _actions(org):
    return [e.action for e in db.session.scalars(
        db.select(AuditEvent).filter_by(organisation_id=org.id).order_by(AuditEvent.id))]


def test_a_reseller_links_an_email_in_lower_case(app):
    manager = factories.make_member("reseller", "manager")
    reseller = manager.organisation
    linked = accountants.link_email(reseller, "  Contadora@Estudio.cl ", manager.user, "203.0.113.4")
    db.session.commit()
    assert linked.email == "contadora@estudio.cl"
    assert [e.email for e in accountants.linked_emails(reseller)] == ["contadora@estudio.cl"]
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="reseller_email_linked"))
    assert event.organisation_id == reseller.id and event.actor_id == manager.user.id
    assert event.details["email"] == "contadora@estudio.cl" and event.address == "203.0.113.4"


@pytest.mark.parametrize("email", ["", "   ", "not-an-email", "a@", "@b.cl", "x" * 250 + "@b.cl"])
def test_a_bad_email_is_refused_and_nothing_is_written(app, email):
    reseller = factories.make_org("reseller")
    with pytest.raises(DomainError) as error:
        accountants.link_email(reseller, email, None)
    assert error.value.field == "email" and error.value.status == 422
    assert db.session.scalar(db.select(db.func.count(ResellerEmail.id))) == 0


def test_an_email_linked_to_another_reseller_is_refused(app):
    first, second = factories.make_org("reseller"), factories.make_org("reseller")
    accountants.link_email(first, "cuentas@estudio.cl", None)
    with pytest.raises(DomainError) as error:
        accountants.link_email(second, "CUENTAS@estudio.cl", None)
    assert error.value.code == "linked_elsewhere" and error.value.status == 409
    assert "another reseller" in str(error.value.message)
    assert accountants.linked_emails(second) == []


def test_the_same_email_twice_is_refused(app):
    reseller = factories.make_org("reseller")
    accountants.link_email(reseller, "cuentas@estudio.cl", None)
    with pytest.raises(DomainError) as error:
        accountants.link_email(reseller, "cuentas@estudio.cl", None)
    assert error.value.code == "already_linked"
    assert len(accountants.linked_emails(reseller)) == 1


def test_the_unique_constraint_decides_a_race(app):
    first, second = factories.make_org("reseller"), factories.make_org("reseller")
    db.session.add(ResellerEmail(reseller_id=first.id, email="race@estudio.cl"))
    db.session.flush()
    # The second request read before the first one wrote: its check found nothing, the constraint refuses.
    original = db.session.scalar
    calls = {"n": 0}

    def stale_scalar(statement, *args, **kwargs):
        calls["n"] += 1
        return None if calls["n"] == 1 else original(statement, *args, **kwargs)

    db.session.scalar = stale_scalar
    try:
        with pytest.raises(DomainError) as error:
            accountants.link_email(second, "race@estudio.cl", None)
    finally:
        db.session.scalar = original
    assert error.value.code == "linked_elsewhere"
    assert [e.reseller_id for e in db.session.scalars(db.select(ResellerEmail))] == [first.id]


def test_only_a_reseller_links_emails(app):
    customer = factories.make_org("customer")
    with pytest.raises(DomainError) as error:
        accountants.link_email(customer, "cuentas@estudio.cl", None)
    assert error.value.status == 403


def test_a_reseller_removes_only_its_own_linked_email(app):
    mine, other = factories.make_org("reseller"), factories.make_org("reseller")
    kept = accountants.link_email(other, "otro@estudio.cl", None)
    removed = accountants.link_email(mine, "mio@estudio.cl", None)
    with pytest.raises(DomainError) as error:
        accountants.unlink_email(mine, kept.id, None)
    assert error.value.status == 404
    assert accountants.unlink_email(mine, removed.id, None) == "mio@estudio.cl"
    db.session.commit()
    assert [e.email for e in db.session.scalars(db.select(ResellerEmail))] == ["otro@estudio.cl"]
    assert _actions(mine) == ["reseller_email_linked", "reseller_email_unlinked"]
    # Free again: another reseller may link it now.
    accountants.link_email(other, "mio@estudio.cl", None)


def test_a_customer_naming_a_linked_accountant_becomes_the_resellers(app):
    reseller = factories.make_org("reseller")
    accountants.link_email(reseller, "contador@estudio.cl", None)
    admin = factories.make_member("customer", "admin")
    customer = admin.organisation
    found = accountants.set_accountant_email(customer, "Contador@Estudio.cl", admin.user, "198.51.100.7")
    db.session.commit()
    assert found == reseller and customer.reseller_id == reseller.id
    assert customer.accountant_email == "contador@estudio.cl"
    assert _actions(customer) == ["accountant_email_set", "customer_linked_to_reseller"]
    assert _actions(reseller)[-1] == "customer_linked_to_reseller"
    assert accountants.linked_customers(reseller, "contador@estudio.cl") == [customer]


def test_an_unlinked_accountant_is_kept_without_a_reseller(app):
    customer = factories.make_org("customer")
    assert accountants.set_accountant_email(customer, "nadie@estudio.cl", None) is None
    assert customer.accountant_email == "nadie@estudio.cl" and customer.reseller_id is None
    assert _actions(customer) == ["accountant_email_set"]


def test_a_bad_accountant_email_changes_nothing(app):
    customer = factories.make_org("customer", accountant_email="antes@estudio.cl")
    with pytest.raises(DomainError):
        accountants.set_accountant_email(customer, "no es un correo", None)
    assert customer.accountant_email == "antes@estudio.cl" and _actions(customer) == []


def test_clearing_the_accountant_keeps_the_reseller(app):
    reseller = factories.make_org("reseller")
    accountants.link_email(reseller, "contador@estudio.cl", None)
    customer = factories.make_org("customer")
    accountants.set_accountant_email(customer, "contador@estudio.cl", None)
    assert accountants.set_accountant_email(customer, "  ", None) is None
    assert customer.accountant_email is None and customer.reseller_id == reseller.id


def test_linking_an_email_later_brings_the_customers_without_a_reseller(app):
    reseller, other = factories.make_org("reseller"), factories.make_org("reseller")
    waiting = factories.make_org("customer", accountant_email="tarde@estudio.cl")
    taken = factories.make_org("customer", accountant_email="tarde@estudio.cl", reseller_id=other.id)
    accountants.link_email(reseller, "tarde@estudio.cl", None)
    assert waiting.reseller_id == reseller.id
    assert taken.reseller_id == other.id  # a customer another reseller has is not taken from it


def test_a_customer_moves_to_the_reseller_of_its_new_accountant(app):
    old, new = factories.make_org("reseller"), factories.make_org("reseller")
    accountants.link_email(new, "nuevo@estudio.cl", None)
    customer = factories.make_org("customer", reseller_id=old.id)
    assert accountants.set_accountant_email(customer, "nuevo@estudio.cl", None) == new
    assert customer.reseller_id == new.id
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="customer_linked_to_reseller",
                                                             organisation_id=customer.id))
    assert event.details["previous_reseller_id"] == old.id


def test_a_blocked_reseller_gets_no_customers(app):
    reseller = factories.make_org("reseller")
    accountants.link_email(reseller, "bloq@estudio.cl", None)
    blocking.block(reseller, "staff", utcnow())
    customer = factories.make_org("customer")
    assert accountants.set_accountant_email(customer, "bloq@estudio.cl", None) is None
    assert customer.reseller_id is None


def test_only_a_customer_names_an_accountant(app):
    reseller = factories.make_org("reseller")
    with pytest.raises(DomainError) as error:
        accountants.set_accountant_email(reseller, "x@estudio.cl", None)
    assert error.value.status == 403
