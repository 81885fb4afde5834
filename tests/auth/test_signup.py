"""Self sign-up: the form, one neutral answer, the e-mailed link (single use, expiring) that creates the
organisation with its administrator on the trial plan, and the refusals."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from portal.extensions import db
from portal.models import Membership, Organisation, OutboxMessage, SignUp, Subscription, User
from portal.orm import utcnow
from tests import factories

RUT = "76.086.428-5"


@pytest.fixture
def plans(app):
    with app.test_request_context():
        software = factories.make_software("erp", "ERP")
        basic = factories.make_product("plan", software, code="basic", prices=(("CLP", "monthly", 19_990, 0),))
        factories.make_product("plan", software, code="pro", prices=(("CLP", "monthly", 39_990, 0),))
        db.session.commit()
        return basic


def _form(**changes) -> dict:
    return {"email": "Ana@Example.com", "name": "Ana Pérez", "password": "a long enough secret",
            "organisation": "Panadería Las Lilas SpA", "country": "CL", "tax_id": RUT} | changes


def _link(email: str) -> str:
    db.session.rollback()
    body = db.session.scalar(db.select(OutboxMessage.text_body).where(OutboxMessage.recipient == email)
                             .order_by(OutboxMessage.id.desc()))
    return urlsplit(re.search(r"https?://\S+/signup/confirm/\S+", body).group(0)).path


def test_the_login_page_offers_to_create_an_account(client):
    assert 'href="/signup"' in client.get("/login").get_data(as_text=True)


def test_signing_up_creates_the_organisation_only_from_the_link_on_a_free_month(client, plans):
    response = client.form_post("/signup", _form())
    assert response.status_code == 303 and response.headers["Location"] == "/signup/sent"
    assert "Check your e-mail" in client.get("/signup/sent").get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Organisation.id))) == 0
    link = _link("ana@example.com")
    page = client.get(link).get_data(as_text=True)
    assert "Panadería Las Lilas SpA" in page and db.session.scalar(db.select(db.func.count(User.id))) == 0
    response = client.form_post(link)
    assert response.status_code == 303 and response.headers["Location"] == "/customer/"
    assert "your first month is free" in client.get("/customer/").get_data(as_text=True)
    db.session.rollback()
    org = db.session.scalar(db.select(Organisation))
    assert (org.kind, org.name, org.country, org.tax_id, org.currency) == ("customer", "Panadería Las Lilas SpA",
                                                                         "CL", "760864285", "CLP")
    membership = db.session.scalar(db.select(Membership))
    assert (membership.user.email, membership.role) == ("ana@example.com", "admin")
    sub = db.session.scalar(db.select(Subscription))
    assert (sub.plan_id, sub.status) == (plans.id, "trial")
    assert sub.trial_ends_at - sub.current_period_start == timedelta(days=30)
    assert db.session.scalar(db.select(SignUp.password_hash)) == ""
    again = client.form_post(link)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Organisation.id))) == 1


def test_the_same_email_twice_gets_the_same_answer_and_nothing_new(client, plans):
    factories.make_member("customer", "admin", email="ana@example.com")
    db.session.commit()
    response = client.form_post("/signup", _form())
    assert response.status_code == 303 and response.headers["Location"] == "/signup/sent"
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(SignUp.id))) == 0
    subject = db.session.scalar(db.select(OutboxMessage.subject).where(OutboxMessage.recipient == "ana@example.com"))
    assert "already have" in subject


@pytest.mark.parametrize(("changes", "message"), [
    ({"tax_id": "ALE120315KT1"}, "RUT"),  # a Mexican RFC for a Chilean company
    ({"country": "AR"}, "Not a valid choice"),
    ({"email": "not an e-mail"}, "Invalid email"),
    ({"password": "short"}, "at least 10"),
    ({"organisation": ""}, "required"),
])
def test_bad_input_is_a_422_with_its_reason_and_nothing_is_written(client, plans, changes, message):
    response = client.form_post("/signup", _form(**changes))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(SignUp.id))) == 0
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


def test_a_tax_id_already_registered_is_refused(client, plans):
    factories.make_org("customer", "CL", tax_id="760864285")
    db.session.commit()
    response = client.form_post("/signup", _form(tax_id="76086428-5"))
    assert response.status_code == 422 and "already has an account" in response.get_data(as_text=True)


def test_an_expired_or_unknown_link_creates_nothing(client, plans):
    client.form_post("/signup", _form())
    link = _link("ana@example.com")
    db.session.execute(db.update(SignUp).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert client.get(link).status_code == 410
    assert client.form_post(link).status_code == 410
    assert client.get("/signup/confirm/nothing").status_code == 404
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_sign_ups_are_rate_limited(app, client, plans):
    app.config["LOGIN_LIMIT"] = "2 per 15 minutes"
    for n in range(2):
        assert client.form_post("/signup", _form(email=f"p{n}@example.com")).status_code == 303
    assert client.form_post("/signup", _form(email="p9@example.com")).status_code == 429
