"""A customer's people: roles changed, people removed, the admin role handed over; one administrator always stays."""

import threading

import pytest

from portal.extensions import db
from portal.models import AuditEvent, AuthToken, CartLine, Membership
from portal.services.accounts import auth, members
from portal.services.accounts import organisations as accounts
from portal.services.errors import DomainError
from tests import factories


def _team():
    admin = factories.make_member("customer", "admin")
    member = factories.make_member("customer", "member", organisation=admin.organisation)
    return admin, member


def test_a_member_becomes_an_administrator_and_back(app):
    admin, member = _team()
    members.change_role(admin.organisation, member.id, "admin", admin.user, "192.0.2.1")
    assert member.role == "admin"
    members.change_role(admin.organisation, member.id, "member", admin.user)
    db.session.commit()
    assert member.role == "member"
    events = db.session.scalars(db.select(AuditEvent).filter_by(action="member_role_changed")).all()
    assert [(e.details["before"], e.details["role"]) for e in events] == [("member", "admin"), ("admin", "member")]


def test_the_last_administrator_keeps_the_role(app):
    admin, _member = _team()
    with pytest.raises(DomainError) as error:
        members.change_role(admin.organisation, admin.id, "member", admin.user)
    assert error.value.code == "last_admin" and error.value.status == 409
    with pytest.raises(DomainError):
        members.remove_member(admin.organisation, admin.id, admin.user)
    assert admin.role == "admin"


def test_an_invited_administrator_does_not_count(app):
    admin, _member = _team()
    invited = accounts.invite(admin.organisation, admin.user, "nueva@aromos.cl", "Nueva", "admin", 7)
    with pytest.raises(DomainError):
        members.change_role(admin.organisation, admin.id, "member", admin.user)
    assert invited.is_pending


@pytest.mark.parametrize("role", ["", "owner", "manager", "ADMIN", "x" * 300])
def test_an_unknown_role_is_refused(app, role):
    admin, member = _team()
    with pytest.raises(DomainError) as error:
        members.change_role(admin.organisation, member.id, role, admin.user)
    assert error.value.code == "invalid_role" and member.role == "member"


def test_another_organisations_member_is_not_found(app):
    admin, _member = _team()
    stranger = factories.make_member("customer", "member")
    for call in (lambda: members.change_role(admin.organisation, stranger.id, "admin", admin.user),
                 lambda: members.remove_member(admin.organisation, stranger.id, admin.user),
                 lambda: members.hand_over_admin(admin.organisation, admin, stranger.id, admin.user)):
        with pytest.raises(DomainError) as error:
            call()
        assert error.value.status == 404
    assert stranger.role == "member" and db.session.get(Membership, stranger.id) is not None


def test_removing_a_person_takes_their_cart_and_invitation_link(app):
    admin, member = _team()
    product = factories.make_product("module", category=factories.make_category())
    db.session.add(CartLine(organisation_id=admin.organisation_id, user_id=member.user_id, product_id=product.id,
                            quantity=1, currency="CLP", unit_amount=9_990))
    invited = accounts.invite(admin.organisation, admin.user, "otra@aromos.cl", "Otra", "member", 7)
    assert members.remove_member(admin.organisation, member.id, admin.user) == member.user.email
    assert members.remove_member(admin.organisation, invited.id, admin.user) == "otra@aromos.cl"
    db.session.commit()
    assert [m.id for m in members.members(admin.organisation)] == [admin.id]
    assert db.session.scalar(db.select(db.func.count(CartLine.id))) == 0
    assert db.session.scalar(db.select(db.func.count(AuthToken.id))) == 0
    assert auth.find_user(member.user.email) is not None  # the account stays


def test_handing_over_makes_the_giver_a_member(app):
    admin, member = _team()
    members.hand_over_admin(admin.organisation, admin, member.id, admin.user, "192.0.2.9")
    db.session.commit()
    assert (admin.role, member.role) == ("member", "admin")
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="admin_handed_over"))
    assert event.details == {"email": member.user.email, "from": admin.user.email}


def test_handing_over_to_oneself_or_to_an_invitation_is_refused(app):
    admin, _member = _team()
    invited = accounts.invite(admin.organisation, admin.user, "pend@aromos.cl", "Pend", "member", 7)
    for target in (admin.id, invited.id):
        with pytest.raises(DomainError) as error:
            members.hand_over_admin(admin.organisation, admin, target, admin.user)
        assert error.value.status == 409
    assert admin.role == "admin"


def test_a_member_cannot_hand_over(app):
    admin, member = _team()
    with pytest.raises(DomainError) as error:
        members.hand_over_admin(admin.organisation, member, admin.id, member.user)
    assert error.value.status == 403


def test_two_administrators_demoting_each_other_at_once_leave_one(app):
    """Two requests at the same moment, each in its own session: one passes, the other is refused."""
    first = factories.make_member("customer", "admin")
    second = factories.make_member("customer", "admin", organisation=first.organisation)
    org_id, ids = first.organisation_id, (first.id, second.id)
    db.session.commit()
    barrier, outcomes = threading.Barrier(2), []

    def demote(own: int, other: int):
        from portal.database import WriteConflict
        from portal.models import Organisation

        with app.app_context():
            for _attempt in range(3):  # a web request runs its view again after a write conflict
                try:
                    org = db.session.get(Organisation, org_id)
                    actor = db.session.get(Membership, own).user
                    members.members(org)  # read first, as the page did
                    if _attempt == 0:
                        barrier.wait(timeout=10)
                    members.change_role(org, other, "member", actor)
                    db.session.commit()
                    outcomes.append("changed")
                    break
                except WriteConflict:
                    db.session.rollback()
                except DomainError as error:
                    db.session.rollback()
                    outcomes.append(error.code)
                    break
            db.session.remove()

    threads = [threading.Thread(target=demote, args=ids), threading.Thread(target=demote, args=ids[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["changed", "last_admin"]
    db.session.expire_all()
    admins = db.session.scalar(db.select(db.func.count(Membership.id)).filter_by(organisation_id=org_id, role="admin"))
    assert admins == 1
