"""Inviting people: everyone joins by opening an e-mailed link, new people choosing their name and password
there, people with an account accepting; until then the team sees only the address. Only administrators invite."""
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine

from portal.extensions import db
from portal.models import AuditEvent, Membership, User
from tests import factories
from tests.smtp import SmtpSink, link_in, parts


@pytest.fixture
def smtp(app):
    with SmtpSink() as sink:
        app.config.update(sink.config)
        yield sink


def _invite(client, email, role, name="Marta Díaz"):
    return client.form_post("/team", {"name": name, "email": email, "role": role})


def _path(link):
    assert link.startswith("http://portal.test/"), link
    return urlsplit(link).path


def test_a_new_person_accepts_the_invitation_and_lands_on_their_page(app, login_as, smtp):
    admin = login_as("reseller", "manager")
    response = _invite(admin, "marta@contadores.example.com", "accountant")
    assert response.status_code == 303 and response.headers["Location"] == "/team"
    team_page = admin.get("/team").get_data(as_text=True)
    assert "marta@contadores.example.com has been invited." in team_page and "Invited" in team_page

    message = smtp.wait_for("marta@contadores.example.com")
    text, html = parts(message)
    org = admin.organisation
    # A new person has no language yet: the e-mail is in the organisation's (Spanish, for a Chilean one).
    assert message["Subject"] == f"{admin.user.name} te invita a {org.name} en Vitrine"
    assert text.startswith("Hola, Marta Díaz")
    path = _path(link_in(message))
    assert path in html

    person = app.test_client()
    form = person.get(path)
    assert form.status_code == 200 and "marta@contadores.example.com" in form.get_data(as_text=True)
    response = person.form_post(path, {"name": "Marta Díaz Soto", "password": "her own long secret",
                                       "confirm": "her own long secret"})
    assert response.status_code == 303 and response.headers["Location"] == "/reseller/"
    welcome = person.get("/reseller/")
    assert welcome.status_code == 200 and "Welcome! Your account is ready." in welcome.get_data(as_text=True)
    user = db.session.scalar(db.select(User).filter_by(email="marta@contadores.example.com"))
    assert user.name == "Marta Díaz Soto"
    assert [(m.organisation_id, m.role) for m in user.memberships] == [(org.id, "accountant")]

    assert person.get(path).status_code == 410  # the link worked once
    assert app.test_client().form_post("/login", {"email": user.email, "password": "her own long secret"}
                                       ).status_code == 303


def test_an_invitation_expires(app, login_as, smtp):
    start = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        admin = login_as("customer", "admin")
        _invite(admin, "late@example.com", "member")
        path = _path(link_in(smtp.wait_for("late@example.com")))
        clock.move_to(start + timedelta(days=7, minutes=1))
        response = app.test_client().get(path)
        assert response.status_code == 410 and "This link has expired." in response.get_data(as_text=True)


def test_someone_with_an_account_joins_only_by_accepting_and_the_team_sees_only_the_address(app, login_as, smtp):
    existing = factories.make_member("customer", "admin", email="isidora@example.com", name="Isidora Vergara")
    db.session.commit()
    admin = login_as("reseller", "manager")
    assert _invite(admin, "ISIDORA@example.com", "accountant", name="ignored").status_code == 303
    message = smtp.wait_for("isidora@example.com")
    path = _path(link_in(message))
    assert path.startswith("/invitation/")
    assert "Abre este enlace para aceptar la invitación" in parts(message)[0]

    team = admin.get("/team").get_data(as_text=True)
    assert "isidora@example.com" in team and "Invited" in team
    assert "Isidora Vergara" not in team and "ignored" not in team  # the account's name stays private
    person = app.test_client()
    person.login("isidora@example.com")
    page = person.get("/customer/").get_data(as_text=True)
    assert admin.organisation.name not in page  # not in the switcher before accepting
    pending = db.session.scalar(
        db.select(Membership).filter_by(user_id=existing.user_id, organisation_id=admin.organisation.id))
    assert person.form_post("/switch", {"membership_id": pending.id}).status_code == 404
    assert person.get("/reseller/").status_code == 403

    offer = person.get(path)
    assert offer.status_code == 200 and admin.organisation.name in offer.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Membership, pending.id).accepted_at is None  # opening the link changes nothing
    accepted = person.form_post(path, {})
    assert accepted.status_code == 303
    page = person.get(accepted.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert admin.organisation.name in page
    response = person.form_post("/switch", {"membership_id": pending.id})
    assert response.status_code == 303 and response.headers["Location"] == "/reseller/"
    assert person.get("/reseller/").status_code == 200
    assert "Isidora Vergara" in admin.get("/team").get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(User, existing.user_id).name == "Isidora Vergara"
    assert person.get(path).status_code == 410  # the link worked once
    events = db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.organisation_id == admin.organisation.id))
    assert "invitation_accepted" in list(events)


def test_an_account_that_accepts_without_being_logged_in_is_sent_to_log_in(app, login_as, smtp):
    existing = factories.make_member("partner", "seller", email="bruno@example.com")
    db.session.commit()
    admin = login_as("customer", "admin")
    _invite(admin, "bruno@example.com", "member")
    path = _path(link_in(smtp.wait_for("bruno@example.com")))
    stranger = app.test_client()
    response = stranger.form_post(path, {})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "Log in to act for it" in stranger.get("/login").get_data(as_text=True)
    db.session.rollback()
    assert stranger.get("/customer/").status_code in (302, 303)  # accepting logs no one in
    membership = db.session.scalar(
        db.select(Membership).filter_by(user_id=existing.user_id, organisation_id=admin.organisation.id))
    assert membership.accepted_at is not None


def test_inviting_a_member_twice_is_refused_with_a_message(app, login_as, smtp):
    admin = login_as("partner", "admin")
    _invite(admin, "twice@example.com", "seller")
    response = _invite(admin, "twice@example.com", "admin")
    assert response.status_code == 422 and "This person is already a member." in response.get_data(as_text=True)
    fragment = admin.form_post("/team", {"name": "X", "email": "twice@example.com", "role": "seller"},
                               headers={"HX-Request": "true"})
    assert fragment.status_code == 422
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="invite_form"') and "<html" not in body
    assert db.session.scalar(db.select(db.func.count()).select_from(Membership)) == 2


def test_an_invitation_needs_a_valid_email_and_a_role_of_this_kind(app, login_as):
    admin = login_as("customer", "admin")
    assert _invite(admin, "not an e-mail", "member").status_code == 422
    assert _invite(admin, "ok@example.com", "manager").status_code == 422  # a reseller's role
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


@pytest.mark.parametrize(("kind", "role"), [("customer", "member"), ("reseller", "accountant"),
                                            ("partner", "seller"), ("vendor", "billing"), ("vendor", "advisor")])
def test_only_administrators_can_invite(app, login_as, kind, role):
    client = login_as(kind, role)
    assert client.get("/team").status_code == 403
    assert _invite(client, "someone@example.com", role).status_code == 403
    assert db.session.scalar(db.select(User).filter_by(email="someone@example.com")) is None


def test_invitations_are_audited(app, login_as, smtp):
    admin = login_as("vendor", "admin")
    admin.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    _invite(admin, "new.staff@example.com", "billing")
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="invitation_sent"))
    assert event.actor_id == admin.user.id and event.organisation_id == admin.organisation.id
    assert event.object_type == "membership" and event.address == "192.0.2.44"
    assert event.details == {"email": "new.staff@example.com", "role": "billing"}

    path = _path(link_in(smtp.wait_for("new.staff@example.com")))
    person = app.test_client()
    person.environ_base["REMOTE_ADDR"] = "192.0.2.45"
    person.form_post(path, {"name": "Nuevo", "password": "long enough secret", "confirm": "long enough secret"})
    accepted = db.session.scalar(db.select(AuditEvent).filter_by(action="invitation_accepted"))
    assert accepted.actor.email == "new.staff@example.com" and accepted.address == "192.0.2.45"
    assert accepted.organisation_id == admin.organisation.id


@pytest.mark.parametrize(("kind", "admin_role", "least"), [
    ("customer", "admin", "member"), ("reseller", "manager", "accountant"),
    ("partner", "admin", "seller"), ("vendor", "admin", "advisor"),
])
def test_the_invitation_form_offers_the_least_privileged_role_first(login_as, kind, admin_role, least):
    page = login_as(kind, admin_role).get("/team").get_data(as_text=True)
    selected = re.findall(r'<option[^>]*selected[^>]*value="([^"]+)"|<option[^>]*value="([^"]+)"[^>]*selected', page)
    assert [value for pair in selected for value in pair if value] == [least], selected
