"""The organisation switcher (only one's own memberships) and the language switcher (only offered languages)."""

from portal.extensions import db
from portal.models import AuditEvent, User
from portal.orm import utcnow
from portal.services.accounts import blocking
from tests import factories


def _two_hats():
    """One person: accountant of a reseller and administrator of a customer."""
    accountant = factories.make_member("reseller", "accountant")
    own_shop = factories.make_org("customer", name="Ferretería El Roble Ltda.")
    shopkeeper = factories.accounts.add_membership(accountant.user, own_shop, "admin")
    db.session.commit()
    return accountant, shopkeeper


def test_a_person_with_two_memberships_switches_between_them(app, client):
    accountant, shopkeeper = _two_hats()
    client.login(accountant.user.email)
    assert client.get("/").headers["Location"] == "/reseller/"
    page = client.get("/reseller/").get_data(as_text=True)
    assert "Ferretería El Roble Ltda." in page  # offered in the switcher

    client.environ_base["REMOTE_ADDR"] = "192.0.2.8"
    response = client.form_post("/switch", {"membership_id": shopkeeper.id})
    assert response.status_code == 303 and response.headers["Location"] == "/customer/"
    assert client.get("/customer/").status_code == 200
    assert client.get("/reseller/").status_code == 403  # acting for the shop now
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="role_switch"))
    assert (event.actor_id, event.organisation_id, event.object_type, event.object_id, event.address) == (
        accountant.user_id, shopkeeper.organisation_id, "membership", str(shopkeeper.id), "192.0.2.8")
    assert event.details == {"role": "admin"}

    client.form_post("/switch", {"membership_id": accountant.id})
    assert client.get("/reseller/").status_code == 200


def test_nobody_can_switch_to_a_membership_that_is_not_theirs(app, client):
    accountant, _shopkeeper = _two_hats()
    stranger = factories.make_member("customer", "admin")
    db.session.commit()
    client.login(accountant.user.email)
    for value in (stranger.id, 999_999, "abc", ""):
        assert client.form_post("/switch", {"membership_id": value}).status_code == 404, value
    assert client.get("/reseller/").status_code == 200
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="role_switch")) is None


def test_a_blocked_organisation_is_switched_to_for_its_billing_screens_only(app, client):
    accountant, shopkeeper = _two_hats()
    blocking.block(shopkeeper.organisation, "unpaid", utcnow())
    db.session.commit()
    client.login(accountant.user.email)
    assert client.form_post("/switch", {"membership_id": shopkeeper.id}).status_code == 303
    assert client.get("/customer/").headers["Location"] == "/customer/pay"
    assert client.get("/customer/store").status_code == 403


def test_visitors_cannot_switch(app, client):
    accountant, _shopkeeper = _two_hats()
    response = client.form_post("/switch", {"membership_id": accountant.id})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_language_switcher_changes_the_page_and_remembers_the_choice(app, client):
    membership = factories.make_member("customer", "admin")
    db.session.commit()
    client.login(membership.user.email)
    response = client.form_post("/locale", {"locale": "pt_BR", "next": "/customer/"})
    assert response.status_code == 303 and response.headers["Location"] == "/customer/"
    page = client.get("/customer/").get_data(as_text=True)
    assert '<html lang="pt-BR">' in page
    assert db.session.get(User, membership.user_id).locale == "pt_BR"


def test_a_visitor_chooses_a_language_for_the_login_page(app, client):
    response = client.form_post("/locale", {"locale": "es", "next": "/login"})
    assert response.headers["Location"] == "/login"
    assert '<html lang="es">' in client.get("/login").get_data(as_text=True)


def test_a_language_that_is_not_offered_is_a_translated_400(app, client):
    client.form_post("/locale", {"locale": "es"})
    response = client.form_post("/locale", {"locale": "klingon"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<html lang="es">' in page and "Error 400" in page
    assert "Este idioma no está disponible. Elige English, Español o Português." in page


def test_the_language_switcher_only_sends_people_back_into_the_portal(app, client):
    response = client.form_post("/locale", {"locale": "en", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"
